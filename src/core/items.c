/*
 * Lists a driver answers later (struct gw_items of driver.h): disco#items
 * on an address (an IRC server's channels) and muc#admin lists (a
 * channel's bans). The driver adds its whole list every time; the core
 * pages it here (XEP-0059 Result Set Management), so a server with 50 000
 * channels is browsed a page at a time and the driver needs no paging of
 * its own. An item's RSM id is its JID; the ids asked for are turned into
 * addresses once, so the items outside the page cost one comparison each.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "core.h"
#include "jid.h"
#include "stanza.h"
#include "xmltext.h"

#define NS_RSM "http://jabber.org/protocol/rsm"

/* Items in an answer when the request asks for no page (no <set/>). */
#define ITEMS_DEFAULT_MAX 1000
/*
 * A page's addresses and names, at most: a page of long names (IRC topics)
 * would otherwise be a stanza bigger than the XMPP server takes from a
 * component (component.c); the page is cut there and its <set/> says so.
 */
#define PAGE_BYTES_MAX (192 * 1024)
#define ITEM_BYTES(a, n) (strlen(a) + ((n) ? strlen(n) : 0) + 64) /* with the markup, the JID */

struct page_item {
	char *address, *name;
	size_t index; /* position in the whole list */
};

struct gw_items {
	struct gw_net *net;
	xmpp_stanza_t *iq;    /* the request (a copy) */
	xmpp_stanza_t *query; /* the answer being built */

	bool rsm;             /* the request had a <set/> */
	long max;             /* items in the page */
	long index;           /* <index/> asked for, or -1 */
	char *after, *before; /* addresses; NULL when absent; "" for an empty <before/> */
	bool after_seen, before_seen;
	size_t count; /* items the driver added */
	struct page_item *page;
	size_t npage;
	size_t bytes; /* the page's ITEM_BYTES() */
	bool full;    /* PAGE_BYTES_MAX reached going forward: no item after */
};

static char *
set_text(xmpp_stanza_t *set, const char *name)
{
	char *t = stanza_child_text(set, name), *copy;

	if (t == NULL)
		return stanza_child(set, name, NULL) ? xstrdup("") : NULL;
	copy = xstrdup(t);
	xmpp_free(component_ctx(), t);
	return copy;
}

/* The address an RSM id (a JID of ours) stands for; one that is not matches nothing. */
static char *
set_address(struct gw_net *net, xmpp_stanza_t *set, const char *name)
{
	char *t = set_text(set, name), *a = NULL;
	struct jid j;

	if (t == NULL || *t == '\0')
		return t;
	if (jid_parse(t, &j) == 0) {
		if (j.local && !j.resource && strcmp(j.domain, net->jid) == 0)
			a = jid_unescape(j.local);
		jid_clear(&j);
	}
	free(t);
	return a ? a : xstrdup("\n"); /* no address holds a line break */
}

struct gw_items *
items_new(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *query)
{
	struct gw_items *it = xcalloc(1, sizeof(*it));
	xmpp_stanza_t *q = xmpp_stanza_get_children(iq), *set;

	it->net = net;
	it->iq = xmpp_stanza_copy(iq);
	it->query = query;
	it->max = ITEMS_DEFAULT_MAX;
	it->index = -1;
	while (q && xmpp_stanza_get_name(q) == NULL)
		q = xmpp_stanza_get_next(q);
	if (q && (set = stanza_child(q, "set", NS_RSM)) != NULL) {
		char *t;

		it->rsm = true;
		if ((t = set_text(set, "max")) != NULL) {
			long m = atol(t);

			it->max = m < 0 ? 0 : m > ITEMS_DEFAULT_MAX ? ITEMS_DEFAULT_MAX : m;
			free(t);
		}
		if ((t = set_text(set, "index")) != NULL) {
			it->index = atol(t) < 0 ? 0 : atol(t);
			free(t);
		}
		it->after = set_address(net, set, "after");
		it->before = set_address(net, set, "before");
		if (it->after && *it->after == '\0') {
			free(it->after);
			it->after = NULL;
		}
	}
	return it;
}

static void
page_drop_first(struct gw_items *it)
{
	it->bytes -= ITEM_BYTES(it->page[0].address, it->page[0].name);
	free(it->page[0].address);
	free(it->page[0].name);
	memmove(&it->page[0], &it->page[1], (it->npage - 1) * sizeof(*it->page));
	it->npage--;
}

void
gw_items_add(struct gw_items *it, const char *address, const char *name)
{
	size_t pos = it->count++;
	struct page_item *p;

	if (it->before != NULL) {
		/* Backwards: the last max items before the id (or of the list). */
		if (it->before_seen || (*it->before && strcmp(address, it->before) == 0)) {
			it->before_seen = true;
			return;
		}
		if (it->max == 0)
			return;
		if ((long)it->npage == it->max)
			page_drop_first(it);
	} else {
		if (it->after && !it->after_seen) {
			it->after_seen = strcmp(address, it->after) == 0;
			return;
		}
		if ((it->index >= 0 && (long)pos < it->index) || (long)it->npage >= it->max ||
		    it->full)
			return;
	}
	it->page = xreallocarray(it->page, it->npage + 1, sizeof(*it->page));
	p = &it->page[it->npage++];
	p->address = xstrdup(address);
	p->name = name ? xmltext_clean(name, strlen(name), 1024) : NULL;
	p->index = pos;
	it->bytes += ITEM_BYTES(p->address, p->name);
	if (it->bytes > PAGE_BYTES_MAX && it->npage > 1) {
		if (it->before != NULL) {
			/* Backwards: the page keeps the items nearest the end. */
			while (it->bytes > PAGE_BYTES_MAX && it->npage > 1)
				page_drop_first(it);
		} else {
			it->bytes -= ITEM_BYTES(p->address, p->name);
			free(p->address);
			free(p->name);
			it->npage--;
			it->full = true;
		}
	}
}

void
gw_items_add_affiliation(struct gw_items *it, const char *address, enum gw_affiliation aff,
                         const char *nick, const char *reason)
{
	static const char *const names[] = {"none", "outcast", "member", "admin", "owner"};
	xmpp_stanza_t *item = stanza_add_child(it->query, "item", NULL);
	char *jid = gateway_address_jid(it->net, address, NULL);

	xmpp_stanza_set_attribute(item, "jid", jid);
	xmpp_stanza_set_attribute(item, "affiliation", names[aff]);
	if (nick) {
		char *clean = xmltext_clean(nick, strlen(nick), 256);

		xmpp_stanza_set_attribute(item, "nick", clean);
		free(clean);
	}
	if (reason) {
		char *clean = xmltext_clean(reason, strlen(reason), 1024);

		stanza_add_text_child(item, "reason", NULL, clean);
		free(clean);
	}
	free(jid);
}

/* Writes the page, and the <set/> when asked for or when the list was cut. */
static void
page_write(struct gw_items *it)
{
	xmpp_stanza_t *set;
	char n[32], *first = NULL, *last = NULL;

	for (size_t i = 0; i < it->npage; i++) {
		xmpp_stanza_t *item = stanza_add_child(it->query, "item", NULL);
		char *jid = gateway_address_jid(it->net, it->page[i].address, NULL);

		xmpp_stanza_set_attribute(item, "jid", jid);
		if (it->page[i].name)
			xmpp_stanza_set_attribute(item, "name", it->page[i].name);
		if (i == 0)
			first = xstrdup(jid);
		if (i + 1 == it->npage)
			last = xstrdup(jid);
		free(jid);
	}
	if (it->rsm || it->npage < it->count) {
		set = stanza_add_child(it->query, "set", NS_RSM);
		if (first) {
			xmpp_stanza_t *f = stanza_add_text_child(set, "first", NULL, first);

			snprintf(n, sizeof(n), "%zu", it->page[0].index);
			xmpp_stanza_set_attribute(f, "index", n);
			stanza_add_text_child(set, "last", NULL, last);
		}
		snprintf(n, sizeof(n), "%zu", it->count);
		stanza_add_text_child(set, "count", NULL, n);
	}
	free(first);
	free(last);
}

void
gw_items_done(struct gw_items *it, enum gw_error e, const char *why)
{
	if (e == GW_ERR_NONE &&
	    ((it->after && !it->after_seen) || (it->before && *it->before && !it->before_seen))) {
		/* XEP-0059 section 2.5: an id that is not in the list. */
		e = GW_ERR_ITEM_NOT_FOUND;
		why = "The item this page starts from is not in the list any more.";
	}
	if (e == GW_ERR_NONE) {
		page_write(it);
		gateway_send_release(it->net, stanza_iq_result(it->iq, it->query));
	} else
		gateway_send_release(it->net, stanza_error_reply(it->iq, e, why));
	for (size_t i = 0; i < it->npage; i++) {
		free(it->page[i].address);
		free(it->page[i].name);
	}
	free(it->page);
	free(it->after);
	free(it->before);
	xmpp_stanza_release(it->query);
	xmpp_stanza_release(it->iq);
	free(it);
}
