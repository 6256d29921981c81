/*
 * Unit tests of src/util/strmap.c: put, get, replace, delete, growth past many
 * entries, iteration, and freeing with a value free function.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strmap.h"
#include "unit.h"

START_TEST(put_get_del)
{
	struct strmap *m = strmap_new();
	int a = 1, b = 2, c = 3;

	ck_assert_uint_eq(strmap_count(m), 0);
	ck_assert_ptr_null(strmap_get(m, "a"));
	ck_assert_ptr_null(strmap_del(m, "a"));
	ck_assert_ptr_null(strmap_put(m, "a", &a));
	ck_assert_ptr_null(strmap_put(m, "b", &b));
	ck_assert_ptr_null(strmap_put(m, "", &c)); /* the empty key is a key */
	ck_assert_uint_eq(strmap_count(m), 3);
	ck_assert_ptr_eq(strmap_get(m, "a"), &a);
	ck_assert_ptr_eq(strmap_get(m, "b"), &b);
	ck_assert_ptr_eq(strmap_get(m, ""), &c);
	ck_assert_ptr_null(strmap_get(m, "A")); /* keys are case-sensitive */
	ck_assert_ptr_null(strmap_get(m, "ab"));

	ck_assert_ptr_eq(strmap_del(m, "a"), &a);
	ck_assert_ptr_null(strmap_get(m, "a"));
	ck_assert_ptr_null(strmap_del(m, "a"));
	ck_assert_uint_eq(strmap_count(m), 2);
	ck_assert_ptr_eq(strmap_get(m, "b"), &b);
	strmap_free(m, NULL);
}
END_TEST

START_TEST(replace)
{
	struct strmap *m = strmap_new();
	int a = 1, b = 2;

	ck_assert_ptr_null(strmap_put(m, "k", &a));
	ck_assert_ptr_eq(strmap_put(m, "k", &b), &a);
	ck_assert_uint_eq(strmap_count(m), 1);
	ck_assert_ptr_eq(strmap_get(m, "k"), &b);
	/* A NULL value is stored like any other, and replaced alike. */
	ck_assert_ptr_eq(strmap_put(m, "k", NULL), &b);
	ck_assert_uint_eq(strmap_count(m), 1);
	ck_assert_ptr_null(strmap_get(m, "k"));
	ck_assert_ptr_null(strmap_put(m, "k", &a));
	ck_assert_uint_eq(strmap_count(m), 1);
	strmap_free(m, NULL);
}
END_TEST

START_TEST(keys_copied)
{
	struct strmap *m = strmap_new();
	char key[] = "mutable";
	int v = 7;

	strmap_put(m, key, &v);
	strcpy(key, "changed");
	ck_assert_ptr_eq(strmap_get(m, "mutable"), &v);
	ck_assert_ptr_null(strmap_get(m, "changed"));
	strmap_free(m, NULL);
}
END_TEST

#define MANY 20000

START_TEST(growth)
{
	struct strmap *m = strmap_new();
	static int values[MANY];
	char key[32];

	for (int i = 0; i < MANY; i++) {
		values[i] = i;
		snprintf(key, sizeof(key), "user%d@example.com", i);
		ck_assert_ptr_null(strmap_put(m, key, &values[i]));
		ck_assert_uint_eq(strmap_count(m), (size_t)i + 1);
	}
	for (int i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "user%d@example.com", i);
		ck_assert_ptr_eq(strmap_get(m, key), &values[i]);
	}
	/* Delete the even ones; the odd ones are still found, the even ones not. */
	for (int i = 0; i < MANY; i += 2) {
		snprintf(key, sizeof(key), "user%d@example.com", i);
		ck_assert_ptr_eq(strmap_del(m, key), &values[i]);
	}
	ck_assert_uint_eq(strmap_count(m), MANY / 2);
	for (int i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "user%d@example.com", i);
		if (i % 2)
			ck_assert_ptr_eq(strmap_get(m, key), &values[i]);
		else
			ck_assert_ptr_null(strmap_get(m, key));
	}
	/* And they can come back. */
	for (int i = 0; i < MANY; i += 2) {
		snprintf(key, sizeof(key), "user%d@example.com", i);
		ck_assert_ptr_null(strmap_put(m, key, &values[i]));
	}
	ck_assert_uint_eq(strmap_count(m), MANY);
	strmap_free(m, NULL);
}
END_TEST

struct seen {
	unsigned char hits[MANY];
	size_t calls;
};

static void
visit(const char *key, void *value, void *arg)
{
	struct seen *s = arg;
	int i = *(int *)value;
	char want[32];

	snprintf(want, sizeof(want), "k%d", i);
	ck_assert_str_eq(key, want);
	s->hits[i]++;
	s->calls++;
}

START_TEST(foreach)
{
	struct strmap *m = strmap_new();
	static int values[MANY];
	static struct seen seen;
	char key[32];

	memset(&seen, 0, sizeof(seen));
	strmap_foreach(m, visit, &seen);
	ck_assert_uint_eq(seen.calls, 0);
	for (int i = 0; i < 1000; i++) {
		values[i] = i;
		snprintf(key, sizeof(key), "k%d", i);
		strmap_put(m, key, &values[i]);
	}
	strmap_del(m, "k500");
	strmap_foreach(m, visit, &seen);
	ck_assert_uint_eq(seen.calls, 999);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(seen.hits[i], i == 500 ? 0 : 1);
	strmap_free(m, NULL);
}
END_TEST

static int freed;

static void
free_counting(void *p)
{
	freed++;
	free(p);
}

START_TEST(free_values)
{
	struct strmap *m = strmap_new();
	char key[16];

	freed = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "%d", i);
		strmap_put(m, key, strdup(key));
	}
	/* A replaced value is handed back, not freed by the map. */
	free(strmap_put(m, "0", strdup("zero")));
	/* A deleted one too. */
	free(strmap_del(m, "1"));
	/* NULL values are not passed to the free function. */
	strmap_put(m, "null", NULL);
	ck_assert_int_eq(freed, 0);
	strmap_free(m, free_counting);
	ck_assert_int_eq(freed, 99);
	/* Freeing NULL is a no-op. */
	strmap_free(NULL, free_counting);
	ck_assert_int_eq(freed, 99);
}
END_TEST

static Suite *
strmap_suite(void)
{
	Suite *s = suite_create("strmap");
	TCase *tc = unit_tcase(s, "strmap");

	unit_tests(tc, put_get_del, replace, keys_copied, growth, foreach, free_values);
	return s;
}

int
main(void)
{
	log_init(1, 0, "test_strmap");
	return unit_run(strmap_suite());
}
