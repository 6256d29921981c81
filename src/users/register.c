/*
 * XEP-0077 in-band registration on a gateway JID, with the XEP-0004 form
 * whose fields the driver declares. Values live in the user's settings
 * (scope ""), secrets encrypted; a submission changes only the fields it
 * carries, and an empty secret keeps the stored one.
 */
#include "config.h"

#include <string.h>

#include "component.h"
#include "core.h"
#include "form.h"
#include "stanza.h"
#include "store.h"
#include "users.h"

#define NS_REGISTER "jabber:iq:register"
#define NS_XDATA "jabber:x:data"

static const struct gw_field no_fields[] = {GW_FIELDS_END};

static const struct gw_field *
fields_of(struct gw_net *net)
{
	return net->drv->registration ? net->drv->registration : no_fields;
}

/* The stored values of the registration fields (secrets left out). Caller frees. */
static struct gw_values *
stored_values(struct gw_net *net, const char *user)
{
	struct gw_values *v = gw_values_new();

	for (const struct gw_field *f = fields_of(net); f->var; f++) {
		char *val;

		if (f->flags & GW_FIELD_SECRET || f->type == GW_FIELD_FIXED)
			continue;
		val = gw_setting_get(net, user, "", f->var);
		if (val) {
			gw_values_add(v, f->var, val);
			free(val);
		}
	}
	return v;
}

static void
register_get(struct gw_net *net, xmpp_stanza_t *iq, const char *user)
{
	xmpp_stanza_t *query = xmpp_stanza_new(component_ctx()), *x;
	bool registered = gw_user_is_registered(net, user);
	struct gw_values *cur = registered ? stored_values(net, user) : NULL;
	char *instr =
	        xasprintf("%s with %s. %s", registered ? "Change your registration" : "Register",
	                  net->drv->description,
	                  registered ? "Fields left empty keep their value."
	                             : "Fill in the form and submit it.");
	struct gw_form form = {net->drv->description, instr, fields_of(net), cur};

	xmpp_stanza_set_name(query, "query");
	xmpp_stanza_set_ns(query, NS_REGISTER);
	if (registered)
		stanza_add_child(query, "registered", NULL);
	stanza_add_text_child(query, "instructions", NULL, instr);
	x = form_to_stanza(component_ctx(), &form, "form");
	xmpp_stanza_add_child(query, x);
	xmpp_stanza_release(x);
	gateway_send_release(net, stanza_iq_result(iq, query));
	xmpp_stanza_release(query);
	gw_values_free(cur);
	free(instr);
}

/* Values given as plain child elements (<username/>, <password/>) by old clients. */
static struct gw_values *
legacy_values(struct gw_net *net, xmpp_stanza_t *q)
{
	struct gw_values *v = gw_values_new();

	for (const struct gw_field *f = fields_of(net); f->var; f++) {
		char *text = stanza_child_text(q, f->var);

		if (text) {
			gw_values_add(v, f->var, text);
			xmpp_free(component_ctx(), text);
		}
	}
	return v;
}

/* Stores a checked submission and answers iq. */
/*
 * The answer to a registration: to its iq, or, for one made by the ad-hoc
 * command (iq NULL, the command already answered), a chat message from the
 * gateway. Takes reply (an error or a result, NULL without iq).
 */
static void
answer(struct gw_net *net, xmpp_stanza_t *iq, const char *user, xmpp_stanza_t *reply,
       const char *text)
{
	if (iq) {
		gateway_send_release(net, reply);
		return;
	}
	gateway_send_release(net, stanza_message("chat", net->jid, user, NULL, text));
}

static void
store_failed(struct gw_net *net, xmpp_stanza_t *iq, const char *user)
{
	answer(net, iq, user,
	       iq ? stanza_error_reply(iq, GW_ERR_INTERNAL, "The gateway's store failed.") : NULL,
	       "Your registration was not saved: the gateway's store failed.");
}

static void
save_registration(struct gw_net *net, xmpp_stanza_t *iq, const char *user,
                  const struct gw_values *v)
{
	bool registered = gw_user_is_registered(net, user);
	char *done;

	store_begin(core.store);
	accounts_save_fields(net, user, fields_of(net), v);
	/*
	 * No rollback: the transaction may be the loop's group commit, holding
	 * queued messages. Settings without a user row are harmless.
	 */
	if (accounts_register(net, user) == -1) {
		store_commit(core.store);
		store_failed(net, iq, user);
		return;
	}
	if (store_commit(core.store) == -1) {
		store_failed(net, iq, user);
		return;
	}
	/* The loop's group transaction may hold the writes: make them durable before answering. */
	delivery_flush_all();
	log_info("%s: %s %s", net->drv->name, user,
	         registered ? "updated their registration" : "registered");
	done = xasprintf("You are registered with %s.", net->drv->description);
	answer(net, iq, user, iq ? stanza_iq_result(iq, NULL) : NULL, done);
	free(done);
}

struct gw_check {
	struct gw_net *net;
	xmpp_stanza_t *iq; /* the request, answered when the driver decides; NULL: ad-hoc */
	char *user;
	struct gw_values *values;
};

void
gw_check_done(struct gw_check *c, enum gw_error e, const char *why)
{
	if (e != GW_ERR_NONE) {
		char *text = xasprintf("Your registration with %s failed: %s",
		                       c->net->drv->description, why ? why : "refused.");

		answer(c->net, c->iq, c->user, c->iq ? stanza_error_reply(c->iq, e, why) : NULL,
		       text);
		free(text);
	} else
		save_registration(c->net, c->iq, c->user, c->values);
	if (c->iq)
		xmpp_stanza_release(c->iq);
	gw_values_free(c->values);
	free(c->user);
	free(c);
}

/* Hands the submission to the driver's verify_registration; takes v. */
static void
start_check(struct gw_net *net, xmpp_stanza_t *iq, const char *user, struct gw_values *v)
{
	struct gw_check *c = xcalloc(1, sizeof(*c));

	c->net = net;
	c->iq = iq ? xmpp_stanza_clone(iq) : NULL;
	c->user = xstrdup(user);
	c->values = v;
	net->drv->verify_registration(net, user, c->values, c);
}

void
gw_check_set(struct gw_check *c, const char *var, const char *value)
{
	gw_values_set(c->values, var, &value, 1);
}

static void
register_set(struct gw_net *net, xmpp_stanza_t *iq, xmpp_stanza_t *q, const char *user)
{
	bool registered = gw_user_is_registered(net, user);
	xmpp_stanza_t *x = stanza_child(q, "x", NS_XDATA);
	struct gw_values *v = NULL;
	char *why = NULL;
	enum gw_error e;

	/*
	 * A disabled account can neither register again (it would look like
	 * it worked while the account stays off) nor remove itself (and come
	 * back fresh): say so, rather than "not registered".
	 */
	if (gateway_user_disabled(net, user)) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_NOT_ALLOWED,
		                                             "An administrator has disabled your "
		                                             "account on this gateway."));
		return;
	}
	if (stanza_child(q, "remove", NULL)) {
		if (!registered) {
			gateway_send_release(net,
			                     stanza_error_reply(iq, GW_ERR_REGISTRATION_REQUIRED,
			                                        "You are not registered."));
			return;
		}
		if (accounts_unregister(net, user) == -1) {
			gateway_send_release(net,
			                     stanza_error_reply(iq, GW_ERR_INTERNAL,
			                                        "The gateway's store failed."));
			return;
		}
		log_info("%s: %s unregistered", net->drv->name, user);
		gateway_send_release(net, stanza_iq_result(iq, NULL));
		return;
	}
	if (x) {
		v = form_parse_partial(x, fields_of(net), &why);
	} else {
		/* Plain elements obey the same rules as the form (length, one line…). */
		struct gw_values *raw = legacy_values(net, q);

		v = form_validate(raw, fields_of(net), true, &why);
		gw_values_free(raw);
	}
	if (v == NULL) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_BAD_REQUEST,
		                                             why ? why : "The form is not valid."));
		goto out;
	}
	/* Required fields may be left out of an update when a value is stored. */
	for (const struct gw_field *f = fields_of(net); f->var; f++) {
		const char *val = gw_values_get(v, f->var);
		char *stored;

		if (!(f->flags & GW_FIELD_REQUIRED) || (val && *val))
			continue;
		stored = registered ? (f->flags & GW_FIELD_SECRET
		                               ? gw_secret_get(net, user, "", f->var)
		                               : gw_setting_get(net, user, "", f->var))
		                    : NULL;
		free(why);
		why = stored ? NULL
		             : xasprintf("The field \"%s\" is required.",
		                         f->label ? f->label : f->var);
		free(stored);
		if (why) {
			gateway_send_release(net,
			                     stanza_error_reply(iq, GW_ERR_NOT_ACCEPTABLE, why));
			goto out;
		}
	}
	if (net->drv->check_registration &&
	    (e = net->drv->check_registration(net, user, v, &why)) != GW_ERR_NONE) {
		gateway_send_release(net, stanza_error_reply(iq, e, why));
		goto out;
	}
	if (net->drv->verify_registration) {
		start_check(net, iq, user, v);
		v = NULL;
		goto out;
	}
	save_registration(net, iq, user, v);
out:
	free(why);
	gw_values_free(v);
}

void
register_verify(struct gw_net *net, const char *user, struct gw_values *v)
{
	start_check(net, NULL, user, v);
}

void
register_handle_iq(struct gw_net *net, xmpp_stanza_t *iq, const char *user)
{
	xmpp_stanza_t *q = stanza_child(iq, "query", NS_REGISTER);

	if (q == NULL) {
		gateway_send_release(net, stanza_error_reply(iq, GW_ERR_BAD_REQUEST, NULL));
		return;
	}
	if (!core_domain_allowed(user)) {
		gateway_send_release(
		        net,
		        stanza_error_reply(iq, GW_ERR_NOT_ALLOWED,
		                           "Only users of this server's domains may register."));
		return;
	}
	if (strcmp(xmpp_stanza_get_type(iq), "get") == 0)
		register_get(net, iq, user);
	else
		register_set(net, iq, q, user);
}
