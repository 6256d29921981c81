/*
 * The services every gateway JID answers: disco (XEP-0030) with the
 * operator's contact addresses (XEP-0128, XEP-0157), version (XEP-0092),
 * ping (XEP-0199), jabber:iq:gateway (XEP-0100), vcard-temp (vcard.c), and
 * the entity capabilities (XEP-0115) put on its presence.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "commands.h"
#include "component.h"
#include "conf.h"
#include "core.h"
#include "jid.h"
#include "stanza.h"
#include "users.h"
#include "xmltext.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_CAPS "http://jabber.org/protocol/caps"
#define CAPS_NODE "https://stanzagate.org/caps"
#define NS_DATA "jabber:x:data"
#define SERVERINFO "http://jabber.org/network/serverinfo"

/* Features of a gateway JID, sorted as XEP-0115 wants them. */
static const char *const gateway_features[] = {
        "http://jabber.org/protocol/chatstates",
        "http://jabber.org/protocol/commands",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "http://jabber.org/protocol/muc", /* only a network with rooms */
        "jabber:iq:gateway",
        "jabber:iq:register",
        "jabber:iq:version",
        "jid\\20escaping",
        "urn:xmpp:ping",
        "urn:xmpp:receipts",
        "urn:xmpp:sid:0",
        "vcard-temp",
        NULL,
};

/* Features of an address's JID (a contact), sorted; some only where the network has them. */
static const char *const contact_features[] = {
        "http://jabber.org/protocol/chatstates", /* the driver has chat_state */
        "http://jabber.org/protocol/disco#info",
        "urn:xmpp:receipts", /* GW_CONTACT_RECEIPTS */
        NULL,
};

static bool
has_feature(struct gw_net *net, const char *var, bool contact)
{
	if (strcmp(var, "http://jabber.org/protocol/muc") == 0)
		return net->drv->room_join != NULL;
	if (!contact)
		return true;
	if (strcmp(var, "http://jabber.org/protocol/chatstates") == 0)
		return net->drv->chat_state != NULL;
	if (strcmp(var, "urn:xmpp:receipts") == 0)
		return (net->drv->contact_features & GW_CONTACT_RECEIPTS) != 0;
	return true;
}

static const char *
contact_type(struct gw_net *net)
{
	return net->drv->contact_type ? net->drv->contact_type : "pc";
}

static void
add_feature(xmpp_stanza_t *query, const char *var)
{
	xmpp_stanza_set_attribute(stanza_add_child(query, "feature", NULL), "var", var);
}

static void
add_identity(xmpp_stanza_t *query, const char *category, const char *type, const char *name)
{
	xmpp_stanza_t *id = stanza_add_child(query, "identity", NULL);

	xmpp_stanza_set_attribute(id, "category", category);
	xmpp_stanza_set_attribute(id, "type", type);
	if (name)
		xmpp_stanza_set_attribute(id, "name", name);
}

/*
 * The fields of the XEP-0157 form, in the order XEP-0115 sorts them (by
 * var, then values): abuse-addresses, admin-addresses (the admins as
 * xmpp: URIs), support-addresses. A field without values is left out.
 */
#define SERVERINFO_FIELDS 3
struct info_field {
	const char *var;
	char **values; /* sorted; owned */
	size_t n;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * RFC 5122: a JID in an xmpp: URI, with what would end or confuse the URI
 * percent-encoded (non-ASCII stays: the URI is an IRI). Caller frees.
 */
static char *
uri_of_jid(const char *jid)
{
	static const char keep[] = "-._~!$&'()*+,;=@";
	char *out = xmalloc(5 + 3 * strlen(jid) + 1), *o = out;

	memcpy(o, "xmpp:", 5);
	o += 5;
	for (const unsigned char *c = (const unsigned char *)jid; *c; c++) {
		if (*c >= 0x80 || (*c >= '0' && *c <= '9') ||
		    ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z') || strchr(keep, *c))
			*o++ = (char)*c;
		else
			o += sprintf(o, "%%%02X", *c);
	}
	*o = '\0';
	return out;
}

static void
info_field_set(struct info_field *f, const char *var, const char *const *list, bool jids)
{
	size_t n = 0;

	while (list[n])
		n++;
	f->var = var;
	f->n = n;
	f->values = xcalloc(n + 1, sizeof(*f->values));
	for (size_t i = 0; i < n; i++)
		f->values[i] = jids ? uri_of_jid(list[i]) : xstrdup(list[i]);
	qsort(f->values, n, sizeof(*f->values), cmp_str);
}

/* Fills f[SERVERINFO_FIELDS] from [xmpp] as it is now (the lists reload). */
static void
serverinfo_fields(struct info_field *f)
{
	const struct gw_section *xmpp = config_section(core.cfg, "xmpp");

	info_field_set(&f[0], "abuse-addresses", gw_conf_list(xmpp, "abuse_addresses"), false);
	info_field_set(&f[1], "admin-addresses", gw_conf_list(xmpp, "admins"), true);
	info_field_set(&f[2], "support-addresses", gw_conf_list(xmpp, "support_addresses"), false);
}

static void
serverinfo_free(struct info_field *f)
{
	for (size_t i = 0; i < SERVERINFO_FIELDS; i++) {
		for (size_t j = 0; j < f[i].n; j++)
			free(f[i].values[j]);
		free(f[i].values);
	}
}

static bool
serverinfo_empty(const struct info_field *f)
{
	for (size_t i = 0; i < SERVERINFO_FIELDS; i++)
		if (f[i].n > 0)
			return false;
	return true;
}

static void
add_serverinfo(xmpp_stanza_t *query, const struct info_field *f)
{
	xmpp_stanza_t *x, *field;

	if (serverinfo_empty(f))
		return;
	x = stanza_add_child(query, "x", NS_DATA);
	xmpp_stanza_set_type(x, "result");
	field = stanza_add_child(x, "field", NULL);
	xmpp_stanza_set_attribute(field, "var", "FORM_TYPE");
	xmpp_stanza_set_type(field, "hidden");
	stanza_add_text_child(field, "value", NULL, SERVERINFO);
	for (size_t i = 0; i < SERVERINFO_FIELDS; i++) {
		if (f[i].n == 0)
			continue;
		field = stanza_add_child(x, "field", NULL);
		xmpp_stanza_set_attribute(field, "var", f[i].var);
		xmpp_stanza_set_type(field, "list-multi");
		for (size_t j = 0; j < f[i].n; j++)
			stanza_add_text_child(field, "value", NULL, f[i].values[j]);
	}
}

static char *
append(char *s, const char *what)
{
	char *tmp = xasprintf("%s%s<", s, what);

	free(s);
	return tmp;
}

/*
 * XEP-0115 section 5.1 over what disco_info() says: the identity, then
 * each feature, each followed by '<'; then (section 5.4) the form, if
 * any: its FORM_TYPE, each field's var and values. Caller frees.
 */
static char *
caps_hash(struct gw_net *net, const char *identity, const char *const *features, bool contact,
          const struct info_field *form)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	unsigned char b64[64];
	char *s = xasprintf("%s<", identity);

	for (const char *const *f = features; *f; f++)
		if (has_feature(net, *f, contact))
			s = append(s, *f);
	if (form && !serverinfo_empty(form)) {
		s = append(s, SERVERINFO);
		for (size_t i = 0; i < SERVERINFO_FIELDS; i++) {
			if (form[i].n == 0)
				continue;
			s = append(s, form[i].var);
			for (size_t j = 0; j < form[i].n; j++)
				s = append(s, form[i].values[j]);
		}
	}
	SHA1((const unsigned char *)s, strlen(s), md);
	EVP_EncodeBlock(b64, md, sizeof(md));
	free(s);
	return xstrdup((char *)b64);
}

void
services_init(struct gw_net *net)
{
	char *id = xasprintf("gateway/%s//%s", net->drv->type, net->drv->description);
	struct info_field form[SERVERINFO_FIELDS];

	/* At start and at each reload: the contact addresses and the avatar may change. */
	services_free(net);
	vcard_init(net);
	serverinfo_fields(form);
	net->caps_ver = caps_hash(net, id, gateway_features, false, form);
	serverinfo_free(form);
	free(id);
	id = xasprintf("client/%s//", contact_type(net));
	net->contact_caps_ver = caps_hash(net, id, contact_features, true, NULL);
	free(id);
}

void
services_free(struct gw_net *net)
{
	free(net->caps_ver);
	free(net->contact_caps_ver);
	net->caps_ver = net->contact_caps_ver = NULL;
	vcard_free(net);
}

static void
add_caps(xmpp_stanza_t *presence, const char *ver)
{
	xmpp_stanza_t *c = stanza_add_child(presence, "c", NS_CAPS);

	xmpp_stanza_set_attribute(c, "hash", "sha-1");
	xmpp_stanza_set_attribute(c, "node", CAPS_NODE);
	xmpp_stanza_set_attribute(c, "ver", ver);
}

void
services_add_caps(struct gw_net *net, xmpp_stanza_t *presence)
{
	add_caps(presence, net->caps_ver);
	vcard_add_update(net, presence);
}

void
services_add_contact_caps(struct gw_net *net, xmpp_stanza_t *presence)
{
	add_caps(presence, net->contact_caps_ver);
}

/* A node whose disco#info is the JID's own: none, the commands list, or our caps. */
static bool
plain_node(const char *node)
{
	return node == NULL || strcmp(node, COMMANDS_NS) == 0 ||
	       (strncmp(node, CAPS_NODE "#", strlen(CAPS_NODE) + 1) == 0);
}

static void
disco_info(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
           const char *address)
{
	xmpp_stanza_t *query, *reply;
	const char *node = xmpp_stanza_get_attribute(q, "node");
	bool command = node && core_domain_allowed(user) &&
	               commands_node_visible(net, net->drv, user, address, node);

	/* XEP-0050 section 2.3: a command this user may run, else no such node. */
	if (!command && !plain_node(node)) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_ITEM_NOT_FOUND, NULL));
		return;
	}
	query = xmpp_stanza_new(component_ctx());
	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, NS_DISCO_INFO);
	if (node)
		xmpp_stanza_set_attribute(query, "node", node);
	if (command) {
		add_identity(query, "automation", "command-node", NULL);
		add_feature(query, COMMANDS_NS);
		add_feature(query, "jabber:x:data");
	} else {
		/* What caps_hash() covers, in the same order. */
		bool contact = address != NULL;

		if (contact)
			add_identity(query, "client", contact_type(net), NULL);
		else
			add_identity(query, "gateway", net->drv->type, net->drv->description);
		for (const char *const *f = contact ? contact_features : gateway_features; *f; f++)
			if (has_feature(net, *f, contact))
				add_feature(query, *f);
		if (!contact) {
			struct info_field form[SERVERINFO_FIELDS];

			serverinfo_fields(form);
			add_serverinfo(query, form);
			serverinfo_free(form);
		}
	}
	reply = stanza_iq_result(iq, query);
	xmpp_stanza_release(query);
	gateway_send_release(net, reply);
}

static void
disco_items(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user,
            const char *address)
{
	xmpp_stanza_t *query = xmpp_stanza_new(component_ctx()), *reply;
	const char *node = xmpp_stanza_get_attribute(q, "node");

	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, NS_DISCO_ITEMS);
	if (node == NULL && address != NULL && net->drv->list_items) {
		/* The driver answers, now or later. */
		net->drv->list_items(net, user, address, items_new(net, iq, query));
		return;
	}
	if (node) {
		xmpp_stanza_set_attribute(query, "node", node);
		if (strcmp(node, "http://jabber.org/protocol/commands") == 0 &&
		    core_domain_allowed(user))
			commands_disco_items(net, net->drv, component_ctx(), query,
			                     xmpp_stanza_get_to(iq), user, address);
	}
	reply = stanza_iq_result(iq, query);
	xmpp_stanza_release(query);
	gateway_send_release(net, reply);
}

static void
version(struct gw_net *net, xmpp_stanza_t *iq)
{
	xmpp_stanza_t *query = xmpp_stanza_new(component_ctx());
	struct utsname u;

	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, "jabber:iq:version");
	stanza_add_text_child(query, "name", NULL, PACKAGE_NAME);
	stanza_add_text_child(query, "version", NULL, PACKAGE_VERSION);
	if (uname(&u) == 0)
		stanza_add_text_child(query, "os", NULL, u.sysname);
	gateway_send_release(net, stanza_iq_result(iq, query));
	xmpp_stanza_release(query);
}

/* XEP-0100 section 6.3: what to type, and the JID for what was typed. */
static void
gateway_prompt(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q)
{
	xmpp_stanza_t *query = xmpp_stanza_new(component_ctx());
	const char *type = xmpp_stanza_get_type(iq);

	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, "jabber:iq:gateway");
	if (strcmp(type, "get") == 0) {
		stanza_add_text_child(query, "desc", NULL,
		                      net->drv->prompt_desc ? net->drv->prompt_desc
		                                            : "Enter the address of the contact.");
		stanza_add_text_child(query, "prompt", NULL,
		                      net->drv->prompt ? net->drv->prompt : "Address");
	} else {
		char *raw = stanza_child_text(q, "prompt"), *typed = raw;
		char *addr = NULL, *why = NULL, *jid;

		/*
		 * What surrounds the address is no part of it, and a localpart
		 * never begins or ends with \20 (XEP-0106 section 3.2).
		 */
		if (typed) {
			size_t n;

			typed += strspn(typed, " \t\r\n");
			n = strlen(typed);
			while (n > 0 && strchr(" \t\r\n", typed[n - 1]))
				typed[--n] = '\0';
		}
		if (typed == NULL || *typed == '\0') {
			gateway_send_release(net, stanza_error_reply(iq, GW_ERR_BAD_REQUEST,
			                                             "Nothing was typed."));
			goto out;
		}
		if (net->drv->normalize && net->drv->normalize(net, typed, &addr, &why) == -1) {
			gateway_send_release(net,
			                     stanza_error_reply(iq, GW_ERR_ITEM_NOT_FOUND, why));
			free(why);
			goto out;
		}
		{
			/* What cannot be a JID's localpart (too long, control characters) is no
			 * address. */
			char *local = jid_escape(addr ? addr : typed);
			bool ok = jid_local_valid(local);

			free(local);
			if (!ok) {
				gateway_send_release(
				        net, stanza_error_reply(iq, GW_ERR_ITEM_NOT_FOUND,
				                                "This address cannot be written as "
				                                "a JID: it is too long or "
				                                "holds control characters."));
				free(addr);
				goto out;
			}
		}
		jid = gateway_address_jid(net, addr ? addr : typed, NULL);
		stanza_add_text_child(query, "jid", NULL, jid);
		/* Older clients read the answer from <prompt/>. */
		stanza_add_text_child(query, "prompt", NULL, jid);
		free(jid);
		free(addr);
	out:
		if (raw)
			xmpp_free(component_ctx(), raw);
		if (xmpp_stanza_get_children(query) == NULL) {
			xmpp_stanza_release(query);
			return;
		}
	}
	gateway_send_release(net, stanza_iq_result(iq, query));
	xmpp_stanza_release(query);
}

bool
services_handle_iq(struct gw_net *net, xmpp_stanza_t *iq, const char *user, const char *address)
{
	const char *type = xmpp_stanza_get_type(iq);
	xmpp_stanza_t *q = NULL;
	const char *ns;

	for (q = xmpp_stanza_get_children(iq); q && xmpp_stanza_get_name(q) == NULL;)
		q = xmpp_stanza_get_next(q);
	ns = q ? xmpp_stanza_get_ns(q) : NULL;
	if (ns == NULL)
		return false;
	if (strcmp(ns, "urn:xmpp:ping") == 0) {
		gateway_send_release(net, stanza_iq_result(iq, NULL));
		return true;
	}
	if (strcmp(type, "get") == 0 && strcmp(ns, NS_DISCO_INFO) == 0) {
		disco_info(net, iq, q, user, address);
		return true;
	}
	if (strcmp(type, "get") == 0 && strcmp(ns, NS_DISCO_ITEMS) == 0) {
		disco_items(net, iq, q, user, address);
		return true;
	}
	if (address == NULL && strcmp(type, "get") == 0 && strcmp(ns, "jabber:iq:version") == 0) {
		version(net, iq);
		return true;
	}
	if (address == NULL && strcmp(ns, "jabber:iq:gateway") == 0) {
		gateway_prompt(net, iq, q);
		return true;
	}
	if (address == NULL && strcmp(ns, "vcard-temp") == 0)
		return vcard_handle_iq(net, iq, q);
	return false;
}
