/*
 * Authenticated encryption of small values (stored foreign passwords) with
 * ChaCha20-Poly1305 from OpenSSL's EVP interface.
 *
 * A sealed value is, byte for byte:
 *
 *   version (1 byte, 0x01) | nonce (12 random bytes) | ciphertext | tag (16)
 *
 * so it is SECRETBOX_OVERHEAD bytes longer than the plaintext. Associated
 * data (never stored, supplied again to open) binds a value to where it
 * belongs: a value moved elsewhere, truncated or altered fails to open.
 *
 * The key is 32 random bytes in a file of its own, mode 0600.
 */
#ifndef SG_SECRETBOX_H
#define SG_SECRETBOX_H

#include <stdbool.h>
#include <stddef.h>

#define SECRETBOX_KEY_SIZE 32
#define SECRETBOX_NONCE_SIZE 12
#define SECRETBOX_TAG_SIZE 16
#define SECRETBOX_VERSION 0x01
#define SECRETBOX_OVERHEAD (1 + SECRETBOX_NONCE_SIZE + SECRETBOX_TAG_SIZE)

struct secretbox;

/*
 * Load the key from key_file, creating it first (32 random bytes, mode 0600,
 * O_EXCL) when it does not exist. A key file that is not a regular file, is
 * not exactly 32 bytes long, or is accessible by group or others is refused.
 * Returns a box the caller frees with secretbox_free(), or NULL with *err
 * (caller frees) set to one line naming the file and the reason.
 */
struct secretbox *secretbox_load(const char *key_file, char **err);

/* Whether secretbox_load() generated the key file just now. */
bool secretbox_created(const struct secretbox *);

/* A box for a key held in memory (tests, key rotation). Caller frees. */
struct secretbox *secretbox_new(const unsigned char key[SECRETBOX_KEY_SIZE]);

/* Wipes the key and frees the box; NULL is accepted. */
void secretbox_free(struct secretbox *);

/*
 * Encrypt pt (ptlen bytes) bound to ad (adlen bytes; may be NULL when
 * adlen is 0). Returns 0 with *out (caller frees) holding *outlen =
 * ptlen + SECRETBOX_OVERHEAD bytes, or -1 (logged) when OpenSSL fails.
 */
int secretbox_seal(const struct secretbox *, const void *ad, size_t adlen, const void *pt,
                   size_t ptlen, unsigned char **out, size_t *outlen);

/*
 * Decrypt and authenticate ct (ctlen bytes) against ad. Returns 0 with *out
 * (caller frees; NUL-terminated for convenience, the terminator not counted
 * in *outlen), or -1 when the value is malformed, was sealed with another
 * key or other associated data, or was altered. Never returns unauthenticated
 * bytes.
 */
int secretbox_open(const struct secretbox *, const void *ad, size_t adlen, const void *ct,
                   size_t ctlen, unsigned char **out, size_t *outlen);

#endif
