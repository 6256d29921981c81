/*
 * The SMS driver: phone numbers as contacts through GSM modems (SPEC 4-7).
 *
 * This file routes: options, numbers (smsnum), which line a text goes
 * from, rate limits, what a line receives to every user of it, reassembly
 * of incoming parts (smsparts), line states and stats. Who owns which line,
 * and the commands, are in smscmd.c. The lines themselves (smsline.h) reach
 * their modems through gammu-smsd's database (smsd.c) or libgammu in a
 * worker thread (smsgl.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "driver.h"
#include "smsdb.h"
#include "smsline.h"
#include "smsnum.h"

/* Reassembly: groups waiting at once, across lines. */
#define PARTS_MAX_GROUPS 256
#define HOUR 3600

struct rate {
	struct rate *next;
	char *user;
	time_t window;
	unsigned long parts;
};

struct sms_net {
	struct smsl_line **lines;
	size_t nlines;
	struct smsparts *parts;
	struct event *tick;
	struct rate *rates;
	unsigned long rate_limited;
};

static const struct gw_option sms_options[] = {
        {"default_country", GW_OPT_STRING, NULL, 0, 0, GW_OPT_REQUIRED,
         "Country calling code that national numbers take, e.g. +1 or +44."},
        {"per_user_per_hour", GW_OPT_INT, "60", 0, 100000, GW_OPT_RELOADABLE,
         "SMS parts a user may send per hour (0: no limit); more wait in the queue."},
        {"per_line_per_hour", GW_OPT_INT, "0", 0, 100000, GW_OPT_RELOADABLE,
         "SMS parts a line may send per hour (0: no limit); more wait in the queue."},
        {"poll_interval", GW_OPT_DURATION, "2s", 1, 3600, 0,
         "How often a line looks for incoming SMS and status reports."},
        {"modem_timeout", GW_OPT_DURATION, "3m", 10, 3600, 0,
         "A modem (driver = gammu) silent this long in the middle of a command is given up "
         "and reconnected."},
        {"parts_timeout", GW_OPT_DURATION, "10m", 1, 86400, 0,
         "How long the parts of a long SMS are awaited before what came is delivered."},
        {"receipt_timeout", GW_OPT_DURATION, "3d", 1, 30 * 86400, 0,
         "How long the status reports of a sent text are awaited (kept across restarts); "
         "then no receipt is given."},
        GW_OPTIONS_END,
};

static const struct gw_option line_options[] = {
        {"number", GW_OPT_STRING, NULL, 0, 0, 0, "The line's own phone number (shown to users)."},
        {"driver", GW_OPT_STRING, "gammu", 0, 0, 0,
         "gammu: libgammu in a worker thread; smsd: a running gammu-smsd's SQL database."},
        {"gammurc", GW_OPT_PATH, NULL, 0, 0, 0,
         "gammu configuration file of the modem (driver = gammu)."},
        {"device", GW_OPT_STRING, NULL, 0, 0, 0, "Modem device, instead of a gammurc."},
        {"connection", GW_OPT_STRING, "at", 0, 0, 0, "gammu connection type (with device)."},
        {"model", GW_OPT_STRING, NULL, 0, 0, 0, "gammu model (with device), e.g. dummy."},
        {"gammu_log", GW_OPT_PATH, NULL, 0, 0, 0,
         "File for gammu's own debug log of this line (driver = gammu), e.g. to see what "
         "the modem was told."},
        {"smsd_database", GW_OPT_STRING, NULL, 0, 0, 0,
         "gammu-smsd's database (driver = smsd): sqlite:/path/to/smsd.db or "
         "postgresql://user@host/database."},
        {"users", GW_OPT_LIST, "", 0, 0, 0,
         "Bare JIDs of the users of this line (admins can change it)."},
        GW_OPTIONS_END,
};

static const struct gw_subsection sms_subsections[] = {
        {"line", line_options, "A line: one GSM modem and its phone number."},
        GW_SUBSECTIONS_END,
};

static struct sms_net *
priv(struct gw_net *net)
{
	return gw_net_priv(net);
}

const char *
smsl_country(struct gw_net *net)
{
	return gw_conf_str(gw_net_section(net), "default_country");
}

int
smsl_unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = 0;

	while (hex[0] && hex[1]) {
		unsigned v;

		if (n == max || sscanf(hex, "%2x", &v) != 1)
			return -1;
		out[n++] = (unsigned char)v;
		hex += 2;
	}
	return hex[0] ? -1 : (int)n;
}

/* ---- lines ---- */

static const char *const state_names[] = {
        [SMSL_STARTING] = "starting",
        [SMSL_UP] = "up",
        [SMSL_DOWN] = "down",
};

struct smsl_line *const *
smsl_lines(struct gw_net *net, size_t *n)
{
	struct sms_net *s = priv(net);

	*n = s ? s->nlines : 0;
	return s ? s->lines : NULL;
}

const char *
smsl_state_name(enum smsl_state st)
{
	return state_names[st];
}

static void
line_presence(struct smsl_line *l, const char *user)
{
	char status[256];

	snprintf(status, sizeof(status), "line %s%s%s: %s%s%s", l->name, l->number ? " " : "",
	         l->number ? l->number : "", state_names[l->state], l->state_why ? ": " : "",
	         l->state_why ? l->state_why : "");
	gw_presence(l->net, user, NULL, l->state == SMSL_UP ? GW_SHOW_ONLINE : GW_SHOW_XA, status);
}

/*
 * A number shows available while the line the user texts it from is up (as
 * Cheogram shows its contacts), extended away while the line is down (texts
 * wait in the queue, as the gateway's own presence says); a line still
 * starting says nothing yet.
 */
static enum gw_show
sms_contact_presence(struct gw_net *net, const char *user, const char *address, char **status)
{
	struct smsl_line *l = smsl_line_for(net, user, address);

	if (l == NULL) {
		*status = xstrdup("You have no SMS line on this gateway.");
		return GW_SHOW_OFFLINE;
	}
	if (l->state == SMSL_STARTING)
		return GW_SHOW_UNKNOWN;
	if (l->state == SMSL_UP)
		return GW_SHOW_ONLINE;
	*status = xasprintf("line %s is %s%s%s", l->name, state_names[l->state],
	                    l->state_why ? ": " : "", l->state_why ? l->state_why : "");
	return GW_SHOW_XA;
}

void
smsl_set_state(struct smsl_line *l, enum smsl_state st, const char *why)
{
	char **users;

	if (l->state == st && ((why == NULL && l->state_why == NULL) ||
	                       (why && l->state_why && strcmp(why, l->state_why) == 0)))
		return;
	log_info("sms: line %s: %s -> %s%s%s", l->name, state_names[l->state], state_names[st],
	         why ? ": " : "", why ? why : "");
	l->state = st;
	free(l->state_why);
	l->state_why = xstrdup_or_null(why);
	users = smsl_line_users(l);
	for (size_t i = 0; users[i]; i++)
		if (gw_user_is_online(l->net, users[i])) {
			line_presence(l, users[i]);
			gw_contacts_changed(l->net, users[i]);
		}
	smsl_strv_free(users);
}

/* ---- incoming ---- */

/* Parts of a message to delete from the line once the message is committed. */
struct release {
	struct gw_net *net;
	char *line;
	uint64_t *tokens;
	size_t n;
};

static void
release_cb(void *arg, bool stored)
{
	struct release *r = arg;
	struct smsl_line *l = smsl_line_find(r->net, r->line);

	/* Not stored: the parts stay on the line and are handed over again. */
	if (stored && l != NULL)
		l->ops->release(l, r->tokens, r->n);
	else if (!stored) {
		log_warnx("sms: line %s: an SMS could not be stored; it stays on the line",
		          r->line);
		if (l != NULL && l->ops->again)
			l->ops->again(l, r->tokens, r->n);
	}
	free(r->line);
	free(r->tokens);
	free(r);
}

int
smsl_message(struct smsl_line *l, const char *sender, const char *text, time_t stamp,
             const uint64_t *tokens, size_t ntokens)
{
	struct gw_net *net = l->net;
	char **users = smsl_line_users(l);
	struct release *r;
	char id[96];
	int failed = 0;

	/* A stable id: the same stored parts give the same id after a restart. */
	snprintf(id, sizeof(id), "sms-%s-%llx-%llx", l->name,
	         (unsigned long long)(ntokens ? tokens[0] : 0), (unsigned long long)stamp);
	if (users[0] == NULL)
		log_warnx("sms: line %s has no users: an SMS from %s waits on the modem", l->name,
		          sender);
	for (size_t i = 0; users[i]; i++) {
		struct gw_inmsg in = {.user = users[i],
		                      .from = sender,
		                      .body = text,
		                      .id = id,
		                      .stamp = stamp,
		                      .kind = GW_MSG_CHAT,
		                      .keeps_copy = true};

		if (gw_deliver(net, &in) == -1)
			failed++;
		else
			gw_contact_add(net, users[i], sender, NULL);
	}
	if (users[0] == NULL || failed) {
		/* The store is down: try again later (a line with no users just waits). */
		if (failed && l->ops->again)
			l->ops->again(l, tokens, ntokens);
		smsl_strv_free(users);
		return -1;
	}
	l->received++;
	/* Deleted from the line only once the store has committed it (SPEC §7). */
	r = xcalloc(1, sizeof(*r));
	r->net = net;
	r->line = xstrdup(l->name);
	r->tokens = xreallocarray(NULL, ntokens ? ntokens : 1, sizeof(*tokens));
	if (ntokens)
		memcpy(r->tokens, tokens, ntokens * sizeof(*tokens));
	r->n = ntokens;
	gw_when_committed(net, release_cb, r);
	smsl_strv_free(users);
	return 0;
}

static void
deliver_ready(struct gw_net *net)
{
	struct smsparts_msg *m;

	while ((m = smsparts_next(priv(net)->parts)) != NULL) {
		struct smsl_line *l = smsl_line_find(net, m->line);

		if (l != NULL)
			smsl_message(l, m->sender, m->text, m->stamp, m->tokens, m->ntokens);
		smsparts_msg_free(m);
	}
}

void
smsl_part(struct smsl_line *l, const struct smsparts_in *in, bool flash)
{
	struct sms_net *s = priv(l->net);
	struct smsparts_in copy = *in;
	unsigned char *note = NULL;

	if (flash && in->seq <= 1) {
		/* A flash SMS was meant for the screen only: say so before its text. */
		static const char pre[] = "[flash] ";
		size_t nu, len = in->nunits * 2;

		note = smstext_to_ucs2be(pre, sizeof(pre) - 1, &nu);
		note = xreallocarray(note, nu * 2 + len + 2, 1);
		memcpy(note + nu * 2, in->text, len);
		copy.text = note;
		copy.nunits = nu + in->nunits;
		if (copy.nunits > SMSPARTS_MAX_UNITS)
			copy.nunits = SMSPARTS_MAX_UNITS;
	}
	switch (smsparts_add(s->parts, &copy, time(NULL))) {
	case SMSPARTS_DUPLICATE:
		l->ops->release(l, &in->token, 1);
		break;
	case SMSPARTS_READY:
		deliver_ready(l->net);
		break;
	case SMSPARTS_WAITING:
		break;
	}
	free(note);
}

void
smsl_outcome(struct smsl_line *l, const char *user, const char *to, const char *xmpp_id,
             bool want_receipt, enum smsreceipt_state st, const char *why)
{
	if (st == SMSRECEIPT_DELIVERED) {
		l->delivered++;
		if (want_receipt && xmpp_id && *xmpp_id)
			gw_receipt(l->net, user, to, xmpp_id);
	} else if (st == SMSRECEIPT_FAILED) {
		l->failed++;
		gw_message_failed(l->net, user, NULL, to, xmpp_id && *xmpp_id ? xmpp_id : NULL,
		                  GW_ERR_RECIPIENT_UNAVAILABLE,
		                  why ? why : "the SMS was not delivered");
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_net *net = arg;

	(void)fd;
	(void)what;
	if (smsparts_expire(priv(net)->parts, time(NULL)) > 0)
		deliver_ready(net);
}

/* ---- sending ---- */

/* Counts parts against a per-hour limit; false when they do not fit now. */
static bool
rate_take(time_t *window, unsigned long *count, long limit, size_t parts, time_t now)
{
	if (limit <= 0)
		return true;
	if (now - *window >= HOUR) {
		*window = now;
		*count = 0;
	}
	/* A text longer than the whole allowance goes alone in a fresh hour. */
	if (*count > 0 && *count + parts > (unsigned long)limit)
		return false;
	*count += parts;
	return true;
}

static struct rate *
rate_of(struct gw_net *net, const char *user)
{
	struct sms_net *s = priv(net);
	struct rate *r;

	for (r = s->rates; r; r = r->next)
		if (strcmp(r->user, user) == 0)
			return r;
	r = xcalloc(1, sizeof(*r));
	r->user = xstrdup(user);
	r->next = s->rates;
	s->rates = r;
	return r;
}

static enum gw_send_status
sms_send(struct gw_net *net, const struct gw_outmsg *msg, char **why)
{
	const struct gw_section *sec = gw_net_section(net);
	struct smsl_line *l;
	struct smstext_plan plan;
	struct rate *r;
	enum gw_send_status st;
	time_t now = time(NULL);

	if (msg->groupchat) {
		*why = xstrdup("SMS has no group chats.");
		return GW_SEND_FAILED;
	}
	if (smsnum_kind(msg->to) != SMSNUM_E164 && smsnum_kind(msg->to) != SMSNUM_SHORT) {
		*why = xasprintf("%s is a sender name, not a number: it cannot be texted.",
		                 msg->to);
		return GW_SEND_FAILED;
	}
	if ((l = smsl_line_for(net, msg->user, msg->to)) == NULL) {
		*why = xstrdup("You have no SMS line on this gateway: ask its administrator to "
		               "assign you one.");
		return GW_SEND_FORBIDDEN;
	}
	if (smstext_plan(msg->body, strlen(msg->body), &plan, why) == -1)
		return GW_SEND_FAILED;
	if (plan.nparts > SMSTEXT_MAX_PARTS) {
		smstext_plan_free(&plan);
		*why = xstrdup("The text is too long for one SMS message (255 parts at most).");
		return GW_SEND_FAILED;
	}
	if (l->state != SMSL_UP) {
		*why = xasprintf("line %s is %s%s%s", l->name, state_names[l->state],
		                 l->state_why ? ": " : "", l->state_why ? l->state_why : "");
		smstext_plan_free(&plan);
		l->queued_retry++;
		return GW_SEND_RETRY;
	}
	r = rate_of(net, msg->user);
	{
		time_t w = r->window;
		unsigned long c = r->parts;

		if (!rate_take(&w, &c, gw_conf_int(sec, "per_user_per_hour"), plan.nparts, now)) {
			*why = xstrdup("hourly SMS limit of this user reached; the text waits");
			goto limited;
		}
		if (!rate_take(&l->rate_window, &l->rate_parts,
		               gw_conf_int(sec, "per_line_per_hour"), plan.nparts, now)) {
			*why = xasprintf("hourly SMS limit of line %s reached; the text waits",
			                 l->name);
			goto limited;
		}
		r->window = w;
		r->parts = c;
	}
	st = l->ops->send(l, msg, &plan, why);
	if (st == GW_SEND_DONE || st == GW_SEND_PENDING)
		l->sent++;
	else if (st == GW_SEND_RETRY)
		l->queued_retry++;
	smstext_plan_free(&plan);
	return st;
limited:
	priv(net)->rate_limited++;
	smstext_plan_free(&plan);
	return GW_SEND_RETRY;
}

/* ---- numbers ---- */

static int
sms_normalize(struct gw_net *net, const char *typed, char **out, char **why)
{
	return smsnum_normalize(typed, smsl_country(net), out, why);
}

/* The keys of a [sms.line.NAME] that only make sense together. */
static int
line_check(const struct gw_section *sec, char **why)
{
	const char *drv = gw_conf_str(sec, "driver");

	if (strcmp(drv, "smsd") == 0) {
		const char *db = gw_conf_str(sec, "smsd_database");

		if (smsdb_check_url(db, why) == -1)
			return -1;
		if (gw_conf_str(sec, "gammurc") || gw_conf_str(sec, "device")) {
			*why = xstrdup(
			        "gammurc and device belong to driver = gammu; gammu-smsd owns "
			        "the modem of a driver = smsd line");
			return -1;
		}
	} else if (strcmp(drv, "gammu") == 0) {
		if ((gw_conf_str(sec, "gammurc") == NULL) == (gw_conf_str(sec, "device") == NULL)) {
			*why = xstrdup(
			        "driver = gammu needs either gammurc or device (with connection "
			        "and model)");
			return -1;
		}
		if (gw_conf_str(sec, "smsd_database")) {
			*why = xstrdup("smsd_database belongs to driver = smsd");
			return -1;
		}
	} else {
		*why = xasprintf("driver = %s: it is gammu or smsd", drv);
		return -1;
	}
	return 0;
}

static int
sms_check_subsection(const struct gw_section *sec, char **why)
{
	return strcmp(gw_section_kind(sec), "line") == 0 ? line_check(sec, why) : 0;
}

static int
sms_check_config(const struct gw_section *sec, char **why)
{
	const char *c;

	if ((c = gw_conf_str(sec, "default_country")) == NULL) {
		*why = xstrdup("default_country is required (e.g. +1)");
		return -1;
	}
	return smsnum_country(c, why) == -1 ? -1 : 0;
}

/* ---- lifecycle ---- */

static char **
copy_list(const char *const *v)
{
	size_t n = 0;
	char **c;

	while (v[n])
		n++;
	c = xcalloc(n + 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

static void
line_free(struct smsl_line *l)
{
	if (l->ops && l->impl)
		l->ops->stop(l);
	smsl_strv_free(l->conf_users);
	free(l->name);
	free(l->number);
	free(l->state_why);
	free(l->operator_name);
	free(l);
}

static void sms_stop(struct gw_net *);

static int
sms_start(struct gw_net *net)
{
	struct sms_net *s = priv(net);
	const struct gw_section *const *secs;
	size_t n;
	struct timeval tv = {1, 0};

	s->parts =
	        smsparts_new(PARTS_MAX_GROUPS, gw_conf_int(gw_net_section(net), "parts_timeout"));
	secs = gw_net_subsections(net, "line", &n);
	if (n == 0)
		log_warnx("sms: no [sms.line.NAME] section: nothing can be sent or received");
	for (size_t i = 0; i < n; i++) {
		struct smsl_line *l = xcalloc(1, sizeof(*l));
		char *why = NULL, *w = NULL;
		const char *num = gw_conf_str(secs[i], "number");

		s->lines = xreallocarray(s->lines, s->nlines + 1, sizeof(*s->lines));
		s->lines[s->nlines++] = l;
		l->net = net;
		l->sec = secs[i];
		l->name = xstrdup(gw_section_name(secs[i]));
		l->signal = -1;
		l->state = SMSL_STARTING;
		if (line_check(secs[i], &why) == -1) {
			log_warnx("sms: [sms.line.%s]: %s", l->name, why);
			free(why);
			sms_stop(net);
			return -1;
		}
		if (num && smsnum_normalize(num, smsl_country(net), &l->number, &w) == -1) {
			log_warnx("sms: [sms.line.%s] number: %s", l->name, w);
			free(w);
			sms_stop(net);
			return -1;
		}
		l->ops = strcmp(gw_conf_str(secs[i], "driver"), "smsd") == 0 ? &smsd_ops
		                                                             : &smsgl_ops;
		l->conf_users = copy_list(gw_conf_list(secs[i], "users"));
		if (l->ops->start(l, &why) == -1) {
			log_warnx("sms: line %s: %s", l->name, why ? why : "cannot start");
			free(why);
			sms_stop(net);
			return -1;
		}
		l->sec = NULL;
	}
	s->tick = event_new(gw_event_base(), -1, EV_PERSIST, tick_cb, net);
	event_add(s->tick, &tv);
	return 0;
}

static void
sms_stop(struct gw_net *net)
{
	struct sms_net *s = priv(net);

	if (s->tick)
		event_free(s->tick);
	for (size_t i = 0; i < s->nlines; i++)
		line_free(s->lines[i]);
	free(s->lines);
	while (s->rates) {
		struct rate *r = s->rates;

		s->rates = r->next;
		free(r->user);
		free(r);
	}
	smsparts_free(s->parts);
	memset(s, 0, sizeof(*s));
}

/*
 * The rate limits are read where they are used. A line keeps its modem
 * settings until a restart; `users` from the file apply at once (to a line
 * whose assignments no admin changed).
 */
static int
sms_reload(struct gw_net *net)
{
	struct sms_net *s = priv(net);
	const struct gw_section *const *secs;
	size_t n;

	secs = gw_net_subsections(net, "line", &n);
	for (size_t i = 0; i < s->nlines; i++) {
		struct smsl_line *l = s->lines[i];
		const struct gw_section *found = NULL;

		for (size_t j = 0; j < n && !found; j++)
			if (strcmp(gw_section_name(secs[j]), l->name) == 0)
				found = secs[j];
		if (found == NULL) {
			log_warnx("sms: line %s is gone from the config: it stays until a restart",
			          l->name);
			continue;
		}
		smsl_strv_free(l->conf_users);
		l->conf_users = copy_list(gw_conf_list(found, "users"));
	}
	if (n != s->nlines)
		log_warnx("sms: new lines in the config start at the next restart");
	return 0;
}

static void
sms_user_available(struct gw_net *net, const char *user, const char *resource)
{
	size_t n;
	struct smsl_line **v = smsl_user_lines(net, user, &n);

	(void)resource;
	/* One presence for the gateway: the first line's state speaks for the user. */
	if (n > 0)
		line_presence(v[0], user);
	free(v);
}

static void
sms_stats(struct gw_net *net, void (*line)(const char *, void *), void *arg)
{
	struct sms_net *s = priv(net);
	char buf[512];

	for (size_t i = 0; i < s->nlines; i++) {
		struct smsl_line *l = s->lines[i];

		snprintf(buf, sizeof(buf),
		         "sms line %s (%s, %s): %lu sent, %lu delivered, %lu failed, %lu received, "
		         "%lu sends deferred (line down or a rate limit)",
		         l->name, l->ops->name, state_names[l->state], l->sent, l->delivered,
		         l->failed, l->received, l->queued_retry);
		line(buf, arg);
	}
	snprintf(buf, sizeof(buf),
	         "sms: %zu long SMS awaiting parts, %lu texts held by rate limits",
	         smsparts_pending(s->parts), s->rate_limited);
	line(buf, arg);
}

static void
sms_links(struct gw_net *net, unsigned *up, unsigned *down)
{
	struct sms_net *s = priv(net);

	for (size_t i = 0; i < s->nlines; i++) {
		if (s->lines[i]->state == SMSL_UP)
			(*up)++;
		else
			(*down)++;
	}
}

const struct gw_driver sms_driver = {
        .name = "sms",
        .type = "sms",
        .description = "SMS gateway",
        .options = sms_options,
        .subsections = sms_subsections,
        .commands = smsl_commands,
        .prompt = "Phone number",
        .prompt_desc = "A phone number: international (+15551234567, 0044…) or national, "
                       "which takes the gateway's default country.",
        .normalize = sms_normalize,
        .priv_size = sizeof(struct sms_net),
        .start = sms_start,
        .stop = sms_stop,
        .reload = sms_reload,
        .check_config = sms_check_config,
        .check_subsection = sms_check_subsection,
        .user_available = sms_user_available,
        .contact_presence = sms_contact_presence,
        .contact_features = GW_CONTACT_RECEIPTS,
        .contact_type = "sms",
        .send = sms_send,
        .stats = sms_stats,
        .links = sms_links,
};
