/*
 * The gateway JID's vCard (XEP-0054): its name, what it is, the operator's
 * web page, and the network's avatar. The avatar's hash goes on every
 * presence the gateway sends (XEP-0153), which is how Gajim, Conversations
 * and others learn that there is a picture to fetch. Contacts' JIDs have
 * no vCard: their networks give no pictures.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "component.h"
#include "conf.h"
#include "core.h"
#include "stanza.h"
#include "users.h"

#define NS_VCARD "vcard-temp"
#define NS_VCARD_UPDATE "vcard-temp:x:update"

void
vcard_free(struct gw_net *net)
{
	free(net->avatar);
	free(net->avatar_sha1);
	net->avatar = NULL;
	net->avatar_sha1 = NULL;
	net->avatar_len = 0;
}

void
vcard_init(struct gw_net *net)
{
	const char *v = gw_conf_str(net->section, "avatar");
	char *path, *why = NULL;
	unsigned char md[SHA_DIGEST_LENGTH];

	vcard_free(net);
	if (v && strcmp(v, "none") == 0)
		return;
	path = v ? xstrdup(v) : xasprintf("%s/avatars/%s.png", PKGDATADIR, net->drv->name);
	if (conf_read_avatar(path, &net->avatar, &net->avatar_len, &net->avatar_mime, &why) == -1) {
		/* The gateway works without one; the operator learns why it shows none. */
		log_warnx("%s: no avatar: %s", net->drv->name, why);
		free(why);
		free(path);
		return;
	}
	free(path);
	SHA1(net->avatar, net->avatar_len, md);
	net->avatar_sha1 = xmalloc(2 * sizeof(md) + 1);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(net->avatar_sha1 + 2 * i, 3, "%02x", md[i]);
}

void
vcard_add_update(struct gw_net *net, xmpp_stanza_t *presence)
{
	xmpp_stanza_t *x = stanza_add_child(presence, "x", NS_VCARD_UPDATE);

	/* XEP-0153 section 4.1: an empty <photo/> says there is no picture. */
	if (net->avatar_sha1)
		stanza_add_text_child(x, "photo", NULL, net->avatar_sha1);
	else
		stanza_add_child(x, "photo", NULL);
}

static void
add_photo(struct gw_net *net, xmpp_stanza_t *vcard)
{
	xmpp_stanza_t *photo = stanza_add_child(vcard, "PHOTO", NULL);
	char *b64 = xmalloc(4 * ((net->avatar_len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)b64, net->avatar, (int)net->avatar_len);
	stanza_add_text_child(photo, "TYPE", NULL, net->avatar_mime);
	stanza_add_text_child(photo, "BINVAL", NULL, b64);
	free(b64);
}

bool
vcard_handle_iq(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q)
{
	const char *type = xmpp_stanza_get_type(iq);
	const char *url = gw_conf_str(net->section, "url");
	xmpp_stanza_t *vcard;
	char *desc;

	if (strcmp(xmpp_stanza_get_name(q), "vCard") != 0)
		return false;
	if (strcmp(type, "get") != 0) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_NOT_ALLOWED,
		                                             "This gateway's vCard is set by its "
		                                             "operator."));
		return true;
	}
	vcard = xmpp_stanza_new(component_ctx());
	xmpp_stanza_set_name(vcard, "vCard");
	xmpp_stanza_set_ns(vcard, NS_VCARD);
	stanza_add_text_child(vcard, "FN", NULL, net->drv->description);
	if (url)
		stanza_add_text_child(vcard, "URL", NULL, url);
	desc = xasprintf("%s (%s %s): send it \"help\" for its commands.", net->drv->description,
	                 PACKAGE_NAME, PACKAGE_VERSION);
	stanza_add_text_child(vcard, "DESC", NULL, desc);
	free(desc);
	if (net->avatar)
		add_photo(net, vcard);
	gateway_send_release(net, stanza_iq_result(iq, vcard));
	xmpp_stanza_release(vcard);
	return true;
}
