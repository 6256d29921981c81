/*
 * Small builders for the stanzas the core sends. Every function returns a
 * new stanza the caller releases (xmpp_stanza_release) and copies the
 * strings it is given. Text from foreign networks must already be clean
 * (xmltext_clean) when it gets here.
 */
#ifndef SG_STANZA_H
#define SG_STANZA_H

#include <strophe.h>
#include <time.h>

#include "driver.h"
#include "xmalloc.h"

/* A child element <name xmlns=ns/> added to parent; returned (owned by parent). */
xmpp_stanza_t *stanza_add_child(xmpp_stanza_t *parent, const char *name, const char *ns);
/* A XEP-0203 <delay/> from `from` with the stamp `when` (UTC), added to parent. */
void stanza_add_delay(xmpp_stanza_t *parent, const char *from, time_t when);
/* A child <name>text</name> added to parent; returned (owned by parent). */
xmpp_stanza_t *stanza_add_text_child(xmpp_stanza_t *parent, const char *name, const char *ns,
                                     const char *text);
/* The first child with this name and namespace (NULL: any), or NULL. */
xmpp_stanza_t *stanza_child(xmpp_stanza_t *parent, const char *name, const char *ns);
/* The text of the first child named name, or NULL. Caller frees (xmpp_free). */
char *stanza_child_text(xmpp_stanza_t *parent, const char *name);

/* The RFC 6120 condition name and error type of a gw_error. */
const char *stanza_error_condition(enum gw_error);
const char *stanza_error_type(enum gw_error);

/*
 * An error reply to request (to/from swapped, same id and kind), with the
 * condition and, if not NULL, a readable text.
 */
xmpp_stanza_t *stanza_error_reply(xmpp_stanza_t *request, enum gw_error, const char *text);
/* An <iq type='result'> reply to request, with an optional child (referenced, not stolen). */
xmpp_stanza_t *stanza_iq_result(xmpp_stanza_t *request, xmpp_stanza_t *child);
/* <message type=type from to id><body>body</body></message>; id NULL = generated. */
xmpp_stanza_t *stanza_message(const char *type, const char *from, const char *to, const char *id,
                              const char *body);
/* <presence from to [type]/>; type NULL = available. */
xmpp_stanza_t *stanza_presence(const char *from, const char *to, const char *type);
/* A new unique id for stanzas we originate. Caller frees. */
char *stanza_new_id(void);
/*
 * Appends the stanza as XML text to out, as xmpp_stanza_to_text() makes
 * it but without its formatting machinery: every stanza the gateway sends
 * goes through here. 0, or -1 (out unchanged) for a stanza without a name.
 */
int stanza_render(xmpp_stanza_t *, struct strbuf *out);

#endif
