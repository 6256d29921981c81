/* ChaCha20-Poly1305 sealing of stored secrets; see secretbox.h. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "secretbox.h"
#include "xmalloc.h"

struct secretbox {
	unsigned char key[SECRETBOX_KEY_SIZE];
};

struct secretbox *
secretbox_new(const unsigned char key[SECRETBOX_KEY_SIZE])
{
	struct secretbox *box = xmalloc(sizeof(*box));

	memcpy(box->key, key, SECRETBOX_KEY_SIZE);
	return box;
}

void
secretbox_free(struct secretbox *box)
{
	if (box == NULL)
		return;
	OPENSSL_cleanse(box->key, sizeof(box->key));
	free(box);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create key_file with a fresh key. 1: created, 0: it already exists, -1: error. */
static int
key_create(const char *path, char **err)
{
	unsigned char key[SECRETBOX_KEY_SIZE];
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			return 0;
		*err = xasprintf("cannot create key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (RAND_bytes(key, sizeof(key)) != 1) {
		*err = xasprintf("cannot create key file %s: no randomness from OpenSSL", path);
		goto fail;
	}
	if (write_all(fd, key, sizeof(key)) == -1 || fsync(fd) == -1) {
		*err = xasprintf("cannot write key file %s: %s", path, strerror(errno));
		goto fail;
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (close(fd) == -1) {
		*err = xasprintf("cannot write key file %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	log_info("created key file %s", path);
	return 1;
fail:
	saved = errno;
	OPENSSL_cleanse(key, sizeof(key));
	close(fd);
	unlink(path);
	errno = saved;
	return -1;
}

struct secretbox *
secretbox_load(const char *path, char **err)
{
	unsigned char key[SECRETBOX_KEY_SIZE];
	struct secretbox *box = NULL;
	struct stat st;
	ssize_t n;
	int fd;

	*err = NULL;
	if (path == NULL || *path == '\0') {
		*err = xstrdup("no key file given");
		return NULL;
	}
	if (key_create(path, err) == -1)
		return NULL;
	/* Symbolic links are followed here: operators link keys from elsewhere. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		*err = xasprintf("cannot open key file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		*err = xasprintf("cannot stat key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = xasprintf("key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		*err = xasprintf("key file %s is accessible by group or others (mode %04o); "
		                 "run chmod 600 on it",
		                 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != SECRETBOX_KEY_SIZE) {
		*err = xasprintf("key file %s has %lld bytes, expected %d random bytes", path,
		                 (long long)st.st_size, SECRETBOX_KEY_SIZE);
		goto out;
	}
	do
		n = read(fd, key, sizeof(key));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(key)) {
		*err = xasprintf("cannot read key file %s: %s", path,
		                 n == -1 ? strerror(errno) : "short read");
		goto out;
	}
	box = secretbox_new(key);
out:
	OPENSSL_cleanse(key, sizeof(key));
	close(fd);
	return box;
}

static void
log_openssl(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e == 0) {
		log_warnx("secretbox: %s failed", what);
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	log_warnx("secretbox: %s failed: %s", what, buf);
	ERR_clear_error();
}

int
secretbox_seal(const struct secretbox *box, const void *ad, size_t adlen, const void *pt,
               size_t ptlen, unsigned char **out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx;
	unsigned char *buf, *nonce, *ct, *tag;
	int len, ok = 0;

	*out = NULL;
	*outlen = 0;
	if (ptlen > INT32_MAX || adlen > INT32_MAX) {
		log_warnx("secretbox: value too large to seal");
		return -1;
	}
	buf = xmalloc(ptlen + SECRETBOX_OVERHEAD);
	buf[0] = SECRETBOX_VERSION;
	nonce = buf + 1;
	ct = nonce + SECRETBOX_NONCE_SIZE;
	tag = ct + ptlen;
	if (RAND_bytes(nonce, SECRETBOX_NONCE_SIZE) != 1) {
		log_openssl("RAND_bytes");
		free(buf);
		return -1;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		fatalx("secretbox: out of memory");
	if (EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, SECRETBOX_NONCE_SIZE, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, box->key, nonce) != 1)
		goto done;
	if (adlen > 0 && EVP_EncryptUpdate(ctx, NULL, &len, ad, (int)adlen) != 1)
		goto done;
	if (EVP_EncryptUpdate(ctx, ct, &len, pt, (int)ptlen) != 1 || (size_t)len != ptlen)
		goto done;
	if (EVP_EncryptFinal_ex(ctx, ct + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SECRETBOX_TAG_SIZE, tag) != 1)
		goto done;
	ok = 1;
done:
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		log_openssl("encryption");
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = ptlen + SECRETBOX_OVERHEAD;
	return 0;
}

int
secretbox_open(const struct secretbox *box, const void *ad, size_t adlen, const void *ctv,
               size_t ctlen, unsigned char **out, size_t *outlen)
{
	const unsigned char *in = ctv, *nonce, *ct, *tag;
	EVP_CIPHER_CTX *ctx;
	unsigned char *pt;
	size_t ptlen;
	int len, ok = 0;

	*out = NULL;
	*outlen = 0;
	if (ctlen < SECRETBOX_OVERHEAD || in[0] != SECRETBOX_VERSION ||
	    ctlen - SECRETBOX_OVERHEAD > INT32_MAX || adlen > INT32_MAX)
		return -1;
	ptlen = ctlen - SECRETBOX_OVERHEAD;
	nonce = in + 1;
	ct = nonce + SECRETBOX_NONCE_SIZE;
	tag = ct + ptlen;
	pt = xmalloc(ptlen + 1);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		fatalx("secretbox: out of memory");
	if (EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, SECRETBOX_NONCE_SIZE, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, box->key, nonce) != 1)
		goto done;
	if (adlen > 0 && EVP_DecryptUpdate(ctx, NULL, &len, ad, (int)adlen) != 1)
		goto done;
	if (EVP_DecryptUpdate(ctx, pt, &len, ct, (int)ptlen) != 1 || (size_t)len != ptlen)
		goto done;
	/* The tag is checked in Final: nothing is returned before it passes. */
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SECRETBOX_TAG_SIZE,
	                        (void *)(uintptr_t)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + len, &len) != 1)
		goto done;
	ok = 1;
done:
	EVP_CIPHER_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		OPENSSL_cleanse(pt, ptlen + 1);
		free(pt);
		return -1;
	}
	pt[ptlen] = '\0';
	*out = pt;
	*outlen = ptlen;
	return 0;
}
