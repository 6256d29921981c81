/*
 * A string-keyed hash map. Keys are copied; values are the caller's
 * pointers (the map never frees them, except through the free function
 * given to strmap_free()).
 */
#ifndef SG_STRMAP_H
#define SG_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/* Frees the map; calls free_value on each value when it is not NULL. */
void strmap_free(struct strmap *, void (*free_value)(void *));
void *strmap_get(const struct strmap *, const char *key);
/* Sets key to value and returns the value it replaces (or NULL). */
void *strmap_put(struct strmap *, const char *key, void *value);
/* Removes key; returns its value (or NULL). */
void *strmap_del(struct strmap *, const char *key);
size_t strmap_count(const struct strmap *);
/* Calls fn for each entry; fn must not change the map. */
void strmap_foreach(const struct strmap *, void (*fn)(const char *key, void *value, void *arg),
                    void *arg);

#endif
