/*
 * TLS trust for IRC connections, apart from the transport (ircconn.c):
 *
 * - a pinned fingerprint (tls_fingerprint, SHA-256 of the server's
 *   certificate): with one, the CA chain is not asked for, and the
 *   certificate must match it after the handshake; a mismatch refuses the
 *   connection with both fingerprints in the reason;
 * - client certificates for SASL EXTERNAL (CertFP): a per-(user, server)
 *   key and self-signed certificate generated on demand and kept in the
 *   store encrypted (gw_secret_set, key "client_cert", PEM key then
 *   certificate), else the admin's client_cert/client_key files for that
 *   server.
 *
 * Fingerprints are 64 lower-case hex digits without colons, the form
 * InspIRCd and Atheme (NickServ CERT ADD) use.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ircdrv.h"

#define CERT_DAYS 3650 /* a generated certificate is registered once with services */

static void
hex_digest(const unsigned char *md, unsigned len, char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < len && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static int
cert_fingerprint(X509 *x, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (x == NULL || X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
		return -1;
	hex_digest(md, len, out);
	return 0;
}

int
ircd_fingerprint_parse(const char *in, char out[65])
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		if (*p == ':' || *p == ' ')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

/* ---- the server's certificate ---- */

int
ircd_tls_check_pin(struct ircd_conn *c, SSL *ssl, char *why, size_t len)
{
	X509 *peer;
	char fp[65];
	int r;

	if (c->pin == NULL)
		return 0;
	peer = SSL_get1_peer_certificate(ssl);
	r = cert_fingerprint(peer, fp);
	X509_free(peer);
	if (r == -1) {
		snprintf(why, len, "the server presented no certificate (pinned fingerprint %s)",
		         c->pin);
		return -1;
	}
	if (strcmp(fp, c->pin) != 0) {
		snprintf(why, len,
		         "certificate fingerprint mismatch: expected %s (tls_fingerprint), "
		         "the server presented %s",
		         c->pin, fp);
		return -1;
	}
	return 0;
}

/* ---- client certificates ---- */

/* A new P-256 key and a self-signed certificate for it, as PEM (key, then cert). */
static char *
cert_generate(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL, *data;
	long n;

	if (key == NULL || x == NULL || bio == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)arc4random_uniform(1u << 30));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	/* Not the user's JID: the certificate is shown to the IRC server. */
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"stanzagate client", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto out;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(bio, x) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n > 0)
		pem = xstrndup(data, (size_t)n);
out:
	if (pem == NULL)
		log_warnx("irc: cannot generate a client certificate: %s",
		          ERR_error_string(ERR_get_error(), NULL));
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(key);
	return pem;
}

/* Key and certificate from PEM text. 0, or -1 (both NULL). */
static int
cert_parse(const char *pem, EVP_PKEY **key, X509 **x)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);

	*key = NULL;
	*x = NULL;
	if (bio == NULL)
		return -1;
	*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (*key == NULL || *x == NULL || X509_check_private_key(*x, *key) != 1) {
		EVP_PKEY_free(*key);
		X509_free(*x);
		*key = NULL;
		*x = NULL;
		return -1;
	}
	return 0;
}

int
ircd_client_cert(struct gw_net *net, const char *user, const char *server, bool create, bool renew,
                 char fp[65])
{
	char *pem = renew ? NULL : gw_secret_get(net, user, server, "client_cert");
	EVP_PKEY *key;
	X509 *x;
	int r;

	if (pem == NULL && !create && !renew)
		return 0;
	if (pem == NULL) {
		if ((pem = cert_generate()) == NULL)
			return -1;
		if (gw_secret_set(net, user, server, "client_cert", pem) == -1) {
			explicit_bzero(pem, strlen(pem));
			free(pem);
			return -1;
		}
		log_info("irc: %s: new client certificate for %s", user, server);
	}
	r = cert_parse(pem, &key, &x);
	explicit_bzero(pem, strlen(pem));
	free(pem);
	if (r == -1) {
		log_warnx("irc: %s: the stored client certificate for %s is unreadable", user,
		          server);
		return -1;
	}
	r = cert_fingerprint(x, fp);
	EVP_PKEY_free(key);
	X509_free(x);
	return r == -1 ? -1 : 1;
}

int
ircd_client_cert_remove(struct gw_net *net, const char *user, const char *server)
{
	return gw_secret_set(net, user, server, "client_cert", NULL);
}

int
ircd_client_files_check(const char *cert, const char *key, char **why)
{
	BIO *bio;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int r = -1;

	if (cert == NULL || *cert == '\0') {
		if (key != NULL && *key != '\0')
			*why = xstrdup("client_key is set without client_cert");
		return key != NULL && *key != '\0' ? -1 : 0;
	}
	if ((bio = BIO_new_file(cert, "r")) == NULL) {
		*why = xasprintf("client_cert %s cannot be read", cert);
		goto out;
	}
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL) {
		*why = xasprintf("client_cert %s holds no PEM certificate", cert);
		goto out;
	}
	if (key == NULL || *key == '\0')
		key = cert;
	if ((bio = BIO_new_file(key, "r")) == NULL) {
		*why = xasprintf("client_key %s cannot be read", key);
		goto out;
	}
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (k == NULL || X509_check_private_key(x, k) != 1) {
		*why = xasprintf("%s holds no private key of the certificate in %s", key, cert);
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

/* Puts the user's certificate, else the admin's files, on ssl. 1 done, 0 none, -1 error. */
static int
use_client_cert(struct ircd_conn *c, SSL *ssl)
{
	char *pem = gw_secret_get(c->in->net, c->user, c->server, "client_cert");
	const char *cf = ircd_server_conf(c->in->net, c->server, "client_cert");
	const char *kf = ircd_server_conf(c->in->net, c->server, "client_key");
	EVP_PKEY *key;
	X509 *x;
	int r;

	if (pem != NULL) {
		r = cert_parse(pem, &key, &x);
		explicit_bzero(pem, strlen(pem));
		free(pem);
		if (r == -1) {
			log_warnx("irc: %s: the stored client certificate for %s is unreadable",
			          c->user, c->server);
			ircd_server_message(c,
			                    "Your client certificate for %s cannot be used (it is "
			                    "unreadable): connecting without it. The certificate "
			                    "command with action new makes another.",
			                    c->server);
			return -1;
		}
		r = SSL_use_certificate(ssl, x) == 1 && SSL_use_PrivateKey(ssl, key) == 1 ? 1 : -1;
		EVP_PKEY_free(key);
		X509_free(x);
		return r;
	}
	if (cf == NULL || *cf == '\0')
		return 0;
	if (SSL_use_certificate_chain_file(ssl, cf) != 1 ||
	    SSL_use_PrivateKey_file(ssl, kf && *kf ? kf : cf, SSL_FILETYPE_PEM) != 1) {
		log_warnx("irc: %s: cannot use the client certificate %s for %s: %s", c->user, cf,
		          c->server, ERR_error_string(ERR_get_error(), NULL));
		return -1;
	}
	return 1;
}

SSL *
ircd_tls_new(struct ircd_conn *c)
{
	/* A pinned fingerprint replaces the CA chain: it is checked after the handshake. */
	bool verify = c->verify && c->pin == NULL;
	SSL *ssl = SSL_new(verify ? c->in->ssl : c->in->ssl_noverify);
	struct in6_addr a6;
	struct in_addr a4;
	bool literal;

	if (ssl == NULL)
		return NULL;
	literal = evutil_inet_pton(AF_INET, c->server, &a4) == 1 ||
	          evutil_inet_pton(AF_INET6, c->server, &a6) == 1;
	if (!literal)
		SSL_set_tlsext_host_name(ssl, c->server);
	if (verify) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

		if (literal)
			X509_VERIFY_PARAM_set1_ip_asc(param, c->server);
		else
			SSL_set1_host(ssl, c->server);
	}
	switch (use_client_cert(c, ssl)) {
	case 1:
		c->client_cert = true;
		break;
	case -1:
		/* Connect without it: SASL PLAIN or NickServ may still log the user in. */
		ERR_clear_error();
		c->client_cert = false;
		break;
	default:
		c->client_cert = false;
		break;
	}
	return ssl;
}
