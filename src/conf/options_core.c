/*
 * The option tables of the core's own sections and of the keys every
 * backend section shares. Validation, -n, the example config and the man
 * page all read them (conf.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "conf.h"

static const struct gw_option xmpp_options[] = {
        {"server", GW_OPT_STRING, "127.0.0.1", 0, 0, 0,
         "Host name or address of the XMPP server's component port (XEP-0114); "
         "an IP address spares a DNS lookup at each connection."},
        {"port", GW_OPT_INT, "5347", 1, 65535, 0,
         "TCP port of the XMPP server's component listener."},
        {"admins", GW_OPT_LIST, "", 0, 0, GW_OPT_RELOADABLE,
         "Bare JIDs allowed to run the administration commands (XEP-0133), "
         "separated by spaces or commas."},
        {"allowed_domains", GW_OPT_LIST, "", 0, 0, GW_OPT_RELOADABLE,
         "Domains whose users may register with the gateways; empty: users of any domain."},
        {"reconnect_max", GW_OPT_DURATION, "60s", 1, 86400, GW_OPT_RELOADABLE,
         "Longest wait between two attempts to reconnect to the XMPP server: "
         "the wait grows after each failure, up to this."},
        {"abuse_addresses", GW_OPT_LIST, "", 0, 0, GW_OPT_RELOADABLE,
         "Where to report abuse of the gateways, as URIs (xmpp:abuse@example.org, "
         "mailto:abuse@example.org, https://...): published in each gateway's disco#info "
         "with the admins (XEP-0157); empty: none."},
        {"support_addresses", GW_OPT_LIST, "", 0, 0, GW_OPT_RELOADABLE,
         "Where users get help with the gateways, as URIs (xmpp:, mailto:, https:...), "
         "published as abuse_addresses is; empty: none."},
        GW_OPTIONS_END,
};

static const struct gw_option storage_options[] = {
        {"url", GW_OPT_STRING, "sqlite:/var/lib/stanzagate/stanzagate.db", 0, 0, 0,
         "Where users, settings and queued messages are kept: sqlite:PATH, or "
         "postgresql://user@host/db (a libpq URI) when several instances share the load."},
        {"key_file", GW_OPT_PATH, "/etc/stanzagate/secret.key", 0, 0, 0,
         "Key that encrypts the stored foreign passwords; created (mode 0600) at "
         "first start when missing. Keep a copy: without it they cannot be read."},
        GW_OPTIONS_END,
};

static const struct gw_option log_options[] = {
        {"verbosity", GW_OPT_INT, "0", 0, 3, GW_OPT_RELOADABLE,
         "0 logs warnings and events, 1 adds debugging, 2 and 3 add protocol "
         "traces; each -v on the command line adds one."},
        GW_OPTIONS_END,
};

static const struct gw_option dns_options[] = {
        {"nameservers", GW_OPT_LIST, "", 0, 0, 0,
         "Name servers (address, or address:port) for the daemon's lookups: the XMPP and "
         "IRC servers' addresses, upload services, mail servers' SRV records (RFC 6186); "
         "empty: those of /etc/resolv.conf. /etc/hosts is read either way."},
        GW_OPTIONS_END,
};

static const struct gw_option metrics_options[] = {
        {"listen", GW_OPT_STRING, "", 0, 0, 0,
         "Address and port (e.g. 127.0.0.1:9466, [::1]:9466) where GET /metrics answers in the "
         "Prometheus text format; empty: not served. Anyone who can connect can read it: "
         "keep it on loopback or a private network."},
        GW_OPTIONS_END,
};

const struct gw_option conf_backend_options[] = {
        {"jid", GW_OPT_JID, NULL, 0, 0, GW_OPT_REQUIRED,
         "Domain of this gateway's component, as declared on the XMPP server "
         "(e.g. irc.example.org)."},
        {"secret", GW_OPT_SECRET, NULL, 0, 0, GW_OPT_REQUIRED,
         "Shared secret of that component on the XMPP server; secret_file = PATH "
         "reads it from a file instead."},
        {"history", GW_OPT_BOOL, "yes", 0, 0, GW_OPT_RELOADABLE,
         "Record room messages, per user, for the history sent on join and for "
         "XEP-0313 archive queries (networks with rooms only)."},
        {"history_join", GW_OPT_INT, "20", 0, 1000, GW_OPT_RELOADABLE,
         "Messages of history sent on join when the client does not say how many."},
        {"avatar", GW_OPT_STRING, "", 0, 0, GW_OPT_RELOADABLE,
         "Absolute path of a PNG or JPEG image (48 KiB at most) shown as this gateway's avatar "
         "(its vCard, "
         "XEP-0054 and XEP-0153); empty: the one installed for this network "
         "(avatars/<section>.png in stanzagate's data directory, /usr/share/stanzagate "
         "with the Debian package); none: no avatar."},
        {"url", GW_OPT_STRING, "", 0, 0, GW_OPT_RELOADABLE,
         "Web page about this gateway (http:// or https://), given in its vCard; "
         "empty: none."},
        GW_OPTIONS_END,
};

const char *const conf_known_backends[] = {"irc", "sms", "email", "echo", NULL};

/* Every word of the list is a JID (domain_only: a domain). */
static int
check_jid_list(const struct gw_section *s, const char *key, bool domain_only, char **why)
{
	const char *const *v = gw_conf_list(s, key);
	const char *reason;

	for (; *v; v++) {
		if (!domain_only && strchr(*v, '@') == NULL) {
			/* An admin is a user: a bare domain would match nobody. */
			*why = xasprintf("'%s' is not a user's JID (user@domain)", *v);
			return -1;
		}
		if (conf_check_jid(*v, domain_only, &reason) == -1) {
			*why = xasprintf("'%s' is not a %s: %s", *v,
			                 domain_only ? "domain" : "bare JID", reason);
			return -1;
		}
	}
	return 0;
}

/* Every word of the list is a URI: a scheme (RFC 3986 section 3.1), a colon, something. */
static int
check_uri_list(const struct gw_section *s, const char *key, char **why)
{
	for (const char *const *v = gw_conf_list(s, key); *v; v++) {
		size_t n = strspn(*v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                      "0123456789+-.");

		if (n == 0 ||
		    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", (*v)[0]) ||
		    (*v)[n] != ':' || (*v)[n + 1] == '\0') {
			*why = xasprintf("'%s' is not a URI: write xmpp:%s, mailto:%s or an "
			                 "https:// address",
			                 *v, *v, *v);
			return -1;
		}
	}
	return 0;
}

static int
check_xmpp(const struct gw_section *s, const char **key, char **why)
{
	*key = "admins";
	if (check_jid_list(s, *key, false, why) == -1)
		return -1;
	*key = "allowed_domains";
	if (check_jid_list(s, *key, true, why) == -1)
		return -1;
	*key = "abuse_addresses";
	if (check_uri_list(s, *key, why) == -1)
		return -1;
	*key = "support_addresses";
	if (check_uri_list(s, *key, why) == -1)
		return -1;
	return 0;
}

static int
check_storage(const struct gw_section *s, const char **key, char **why)
{
	const char *url = gw_conf_str(s, "url");

	*key = "url";
	if (url == NULL) {
		*why = xstrdup("needs a value: sqlite:PATH or postgresql://...");
		return -1;
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		if (url[7] == '\0') {
			*why = xstrdup(
			        "sqlite: needs a path (sqlite:/var/lib/stanzagate/stanzagate.db)");
			return -1;
		}
		return 0;
	}
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		return 0;
	*why = xstrdup("unknown kind of storage: give sqlite:PATH or postgresql://user@host/db");
	return -1;
}

static int
check_dns(const struct gw_section *s, const char **key, char **why)
{
	struct sockaddr_storage ss;
	int len;

	*key = "nameservers";
	for (const char *const *v = gw_conf_list(s, *key); *v; v++) {
		len = (int)sizeof(ss);
		if (evutil_parse_sockaddr_port(*v, (struct sockaddr *)&ss, &len) == -1) {
			*why = xasprintf("'%s' is not an address or address:port", *v);
			return -1;
		}
	}
	return 0;
}

static int
check_metrics(const struct gw_section *s, const char **key, char **why)
{
	struct sockaddr_storage ss;
	const char *v = gw_conf_str(s, "listen");
	int len = (int)sizeof(ss);

	*key = "listen";
	if (v && *v && evutil_parse_sockaddr_port(v, (struct sockaddr *)&ss, &len) == -1) {
		*why = xasprintf("'%s' is not an address:port", v);
		return -1;
	}
	return 0;
}

int
conf_read_avatar(const char *path, unsigned char **data, size_t *len, const char **mime, char **why)
{
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	static const unsigned char jpeg[3] = {0xff, 0xd8, 0xff};
	unsigned char *buf = xmalloc(CONF_MAX_AVATAR + 1);
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		*why = xasprintf("cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	n = fread(buf, 1, CONF_MAX_AVATAR + 1, f);
	if (ferror(f)) {
		*why = xasprintf("cannot read %s: %s", path, strerror(errno));
		fclose(f);
		goto fail;
	}
	fclose(f);
	if (n > CONF_MAX_AVATAR) {
		*why = xasprintf("%s is larger than %d KiB: clients fetch it in one stanza", path,
		                 CONF_MAX_AVATAR / 1024);
		goto fail;
	}
	if (n >= sizeof(png) && memcmp(buf, png, sizeof(png)) == 0)
		*mime = "image/png";
	else if (n >= sizeof(jpeg) && memcmp(buf, jpeg, sizeof(jpeg)) == 0)
		*mime = "image/jpeg";
	else {
		*why = xasprintf("%s is not a PNG or JPEG image", path);
		goto fail;
	}
	*len = n;
	if (data)
		*data = buf;
	else
		free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

int
conf_check_backend(const struct gw_section *s, const char **key, char **why)
{
	const char *reason, *v, *mime;
	size_t len;

	*key = "jid";
	if (conf_check_jid(gw_conf_str(s, "jid"), true, &reason) == -1) {
		*why = xasprintf("a component's JID is a bare domain: %s", reason);
		return -1;
	}
	/* The installed default is not checked: a missing one only costs the avatar. */
	*key = "avatar";
	v = gw_conf_str(s, *key);
	if (v && strcmp(v, "none") != 0) {
		if (v[0] != '/') {
			*why = xasprintf("'%s' is not an absolute path (nor none)", v);
			return -1;
		}
		if (conf_read_avatar(v, NULL, &len, &mime, why) == -1)
			return -1;
	}
	*key = "url";
	v = gw_conf_str(s, *key);
	if (v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		*why = xasprintf("'%s' is not a web address (http:// or https://)", v);
		return -1;
	}
	return 0;
}

const struct conf_core_section conf_core_sections[] = {
        {"xmpp", "The link to the XMPP server: one XEP-0114 component connection per backend.",
         xmpp_options, check_xmpp},
        {"storage", "Where the gateway keeps who-is-who and every message not yet delivered.",
         storage_options, check_storage},
        {"log", "Logging. Optional.", log_options, NULL},
        {"dns", "Name resolution. Optional.", dns_options, check_dns},
        {"metrics", "Prometheus metrics. Optional.", metrics_options, check_metrics},
        {NULL, NULL, NULL, NULL},
};
