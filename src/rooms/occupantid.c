/*
 * XEP-0421 occupant ids: one opaque id per occupant and room, the same in
 * every presence and message, across nick changes and restarts, that says
 * nothing of whom it names. It is a keyed hash (HMAC-SHA-256) of the room
 * and what the network says names the occupant (IRC: user@host), under the
 * gateway's component secret: only the gateway can compute it, and two
 * gateways with different secrets give unrelated ids.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core.h"
#include "rooms.h"

/* 18 bytes of the hash: 24 base64 characters, no padding. */
#define ID_BYTES 18

char *
occupant_id(struct gw_net *net, const char *room, const char *identity)
{
	const char *key = gw_conf_str(net->section, "secret");
	unsigned char md[EVP_MAX_MD_SIZE], b64[4 * ID_BYTES / 3 + 1];
	unsigned int mdlen = 0;
	/* The NUL between the two keeps "ab"+"c" apart from "a"+"bc". */
	size_t rlen = strlen(room), ilen = strlen(identity);
	char *msg = xmalloc(rlen + 1 + ilen);

	memcpy(msg, room, rlen);
	msg[rlen] = '\0';
	memcpy(msg + rlen + 1, identity, ilen);
	if (key == NULL)
		key = net->jid;
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, rlen + 1 + ilen, md,
	     &mdlen);
	free(msg);
	EVP_EncodeBlock(b64, md, ID_BYTES);
	return xstrdup((const char *)b64);
}
