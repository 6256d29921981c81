/* Unit tests of secretbox.c: key files and sealing. */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "secretbox.h"
#include "xmalloc.h"
#include "unit.h"

static char tmpdir[] = "/tmp/sg-secretbox-XXXXXX";

static void
setup(void)
{
	log_init(1, 0, "test_secretbox");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	strcpy(tmpdir, "/tmp/sg-secretbox-XXXXXX");
}

static char *
tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static struct secretbox *
test_box(unsigned char fill)
{
	unsigned char key[SECRETBOX_KEY_SIZE];

	memset(key, fill, sizeof(key));
	return secretbox_new(key);
}

START_TEST(key_generated_0600_and_reloaded)
{
	char *path = tpath("secret.key"), *err = NULL;
	struct secretbox *a, *b;
	unsigned char *ct, *pt;
	size_t ctlen, ptlen;
	struct stat st;

	umask(022);
	a = secretbox_load(path, &err);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, SECRETBOX_KEY_SIZE);

	/* A second load reads the same key: what a finds, b opens. */
	ck_assert(secretbox_created(a));
	b = secretbox_load(path, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert(!secretbox_created(b));
	ck_assert_int_eq(secretbox_seal(a, "ad", 2, "hunter2", 7, &ct, &ctlen), 0);
	ck_assert_int_eq(secretbox_open(b, "ad", 2, ct, ctlen, &pt, &ptlen), 0);
	ck_assert_uint_eq(ptlen, 7);
	ck_assert_str_eq((char *)pt, "hunter2");
	free(ct);
	free(pt);
	secretbox_free(a);
	secretbox_free(b);
	free(path);
}
END_TEST

START_TEST(key_wrong_size_refused)
{
	char *path = tpath("short.key"), *err = NULL;
	unsigned char key[16] = {0};

	write_file(path, key, sizeof(key), 0600);
	ck_assert_ptr_null(secretbox_load(path, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "16 bytes, expected 32"));
	free(err);

	write_file(path, "", 0, 0600);
	ck_assert_ptr_null(secretbox_load(path, &err));
	ck_assert_ptr_nonnull(strstr(err, "0 bytes"));
	free(err);
	free(path);
}
END_TEST

START_TEST(key_readable_by_others_refused)
{
	char *path = tpath("open.key"), *err = NULL;
	unsigned char key[SECRETBOX_KEY_SIZE] = {0};
	struct secretbox *box;

	write_file(path, key, sizeof(key), 0644);
	ck_assert_ptr_null(secretbox_load(path, &err));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "group or others"));
	ck_assert_ptr_nonnull(strstr(err, "0644"));
	free(err);

	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_ptr_null(secretbox_load(path, &err));
	free(err);

	ck_assert_int_eq(chmod(path, 0400), 0);
	box = secretbox_load(path, &err);
	ck_assert_ptr_nonnull(box);
	secretbox_free(box);
	free(path);
}
END_TEST

START_TEST(key_not_a_file_or_no_dir)
{
	char *path, *err = NULL;

	ck_assert_ptr_null(secretbox_load(tmpdir, &err));
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	free(err);

	path = tpath("missing/dir/secret.key");
	ck_assert_ptr_null(secretbox_load(path, &err));
	ck_assert_ptr_nonnull(strstr(err, "cannot create key file"));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	free(err);
	free(path);

	ck_assert_ptr_null(secretbox_load(NULL, &err));
	ck_assert_ptr_nonnull(err);
	free(err);
}
END_TEST

START_TEST(seal_open_roundtrip)
{
	struct secretbox *box = test_box(7);
	unsigned char *ct, *ct2, *pt;
	size_t ctlen, ct2len, ptlen;

	ck_assert_int_eq(secretbox_seal(box, "row", 3, "pässwörd", strlen("pässwörd"), &ct, &ctlen),
	                 0);
	ck_assert_uint_eq(ctlen, strlen("pässwörd") + SECRETBOX_OVERHEAD);
	ck_assert_int_eq(ct[0], SECRETBOX_VERSION);
	ck_assert_ptr_null(memmem(ct, ctlen, "pässwörd", strlen("pässwörd")));
	ck_assert_int_eq(secretbox_open(box, "row", 3, ct, ctlen, &pt, &ptlen), 0);
	ck_assert_str_eq((char *)pt, "pässwörd");
	free(pt);

	/* A fresh nonce each time: the same value never seals the same way. */
	ck_assert_int_eq(
	        secretbox_seal(box, "row", 3, "pässwörd", strlen("pässwörd"), &ct2, &ct2len), 0);
	ck_assert_uint_eq(ctlen, ct2len);
	ck_assert_int_ne(memcmp(ct, ct2, ctlen), 0);
	ck_assert_int_ne(memcmp(ct + 1, ct2 + 1, SECRETBOX_NONCE_SIZE), 0);
	free(ct);
	free(ct2);

	/* Empty value, no associated data. */
	ck_assert_int_eq(secretbox_seal(box, NULL, 0, "", 0, &ct, &ctlen), 0);
	ck_assert_uint_eq(ctlen, SECRETBOX_OVERHEAD);
	ck_assert_int_eq(secretbox_open(box, NULL, 0, ct, ctlen, &pt, &ptlen), 0);
	ck_assert_uint_eq(ptlen, 0);
	ck_assert_str_eq((char *)pt, "");
	free(pt);
	free(ct);
	secretbox_free(box);
}
END_TEST

START_TEST(tampering_detected)
{
	struct secretbox *box = test_box(1), *other = test_box(2);
	unsigned char *ct, *pt;
	size_t ctlen, ptlen, i;
	int bit;

	ck_assert_int_eq(secretbox_seal(box, "net|jid", 7, "secret value", 12, &ct, &ctlen), 0);
	/* Every bit of every byte, header, nonce, body and tag alike. */
	for (i = 0; i < ctlen; i++) {
		for (bit = 0; bit < 8; bit++) {
			ct[i] ^= (unsigned char)(1 << bit);
			pt = (unsigned char *)"x";
			ck_assert_int_eq(secretbox_open(box, "net|jid", 7, ct, ctlen, &pt, &ptlen),
			                 -1);
			ck_assert_ptr_null(pt);
			ct[i] ^= (unsigned char)(1 << bit);
		}
	}
	/* Truncated, extended, other associated data, other key. */
	for (i = 0; i < ctlen; i++)
		ck_assert_int_eq(secretbox_open(box, "net|jid", 7, ct, i, &pt, &ptlen), -1);
	ck_assert_int_eq(secretbox_open(box, "net|jiD", 7, ct, ctlen, &pt, &ptlen), -1);
	ck_assert_int_eq(secretbox_open(box, "net|ji", 6, ct, ctlen, &pt, &ptlen), -1);
	ck_assert_int_eq(secretbox_open(box, NULL, 0, ct, ctlen, &pt, &ptlen), -1);
	ck_assert_int_eq(secretbox_open(other, "net|jid", 7, ct, ctlen, &pt, &ptlen), -1);
	/* And untouched it still opens. */
	ck_assert_int_eq(secretbox_open(box, "net|jid", 7, ct, ctlen, &pt, &ptlen), 0);
	ck_assert_str_eq((char *)pt, "secret value");
	free(pt);
	free(ct);
	secretbox_free(box);
	secretbox_free(other);
}
END_TEST

static Suite *
secretbox_suite(void)
{
	Suite *s = suite_create("secretbox");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_checked_fixture(tc, setup, teardown);
	unit_tests(tc, key_generated_0600_and_reloaded, key_wrong_size_refused,
	           key_readable_by_others_refused, key_not_a_file_or_no_dir, seal_open_roundtrip,
	           tampering_detected);
	return s;
}

int
main(void)
{
	return unit_run(secretbox_suite());
}
