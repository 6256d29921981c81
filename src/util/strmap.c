/* Chained hash map with FNV-1a; see strmap.h. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "strmap.h"
#include "xmalloc.h"

struct entry {
	struct entry *next;
	uint32_t hash;
	void *value;
	char key[];
};

struct strmap {
	struct entry **buckets;
	size_t nbuckets, count;
};

static uint32_t
hash_key(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->nbuckets = 16;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	return m;
}

void
strmap_free(struct strmap *m, void (*free_value)(void *))
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (free_value && e->value)
				free_value(e->value);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct entry **
find(const struct strmap *m, const char *key, uint32_t h)
{
	struct entry **ep = &m->buckets[h & (m->nbuckets - 1)];

	for (; *ep; ep = &(*ep)->next)
		if ((*ep)->hash == h && strcmp((*ep)->key, key) == 0)
			break;
	return ep;
}

static void
grow(struct strmap *m)
{
	size_t n = m->nbuckets * 2;
	struct entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct entry *e = *find(m, key, hash_key(key));

	return e ? e->value : NULL;
}

void *
strmap_put(struct strmap *m, const char *key, void *value)
{
	uint32_t h = hash_key(key);
	struct entry **ep = find(m, key, h), *e;
	size_t len;
	void *old;

	if (*ep != NULL) {
		old = (*ep)->value;
		(*ep)->value = value;
		return old;
	}
	len = strlen(key);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->value = value;
	e->next = NULL;
	*ep = e;
	if (++m->count > m->nbuckets)
		grow(m);
	return NULL;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct entry **ep = find(m, key, hash_key(key)), *e = *ep;
	void *value;

	if (e == NULL)
		return NULL;
	*ep = e->next;
	value = e->value;
	free(e);
	m->count--;
	return value;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

void
strmap_foreach(const struct strmap *m, void (*fn)(const char *, void *, void *), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct entry *e = m->buckets[i]; e; e = e->next)
			fn(e->key, e->value, arg);
}
