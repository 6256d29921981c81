/*
 * The command line and the daemon's life: read the config, open the store,
 * start every gateway on one libevent loop, reload on SIGHUP, and shut
 * down cleanly on SIGTERM/SIGINT (SPEC section 3) keeping the room
 * memberships for the next start, or on SIGUSR2 leaving them (a stop for
 * good: docs/operating.md).
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "commands.h"
#include "component.h"
#include "conf.h"
#include "core.h"
#include "daemon.h"
#include "drivers.h"
#include "gateway.h"
#include "iqwait.h"
#include "metrics.h"
#include "resolve.h"
#include "store.h"
#include "upload.h"
#include "users.h"

#define DEFAULT_CONFIG SYSCONFDIR "/stanzagate/stanzagate.conf"
/*
 * A valid config that enables nothing: a fresh package install. Its own
 * status lets the systemd unit's ExecCondition skip the start instead of
 * failing the unit (stanzagate(8), EXIT STATUS).
 */
#define EXIT_NO_BACKEND 3

static int cli_verbosity; /* -v count: added to [log] verbosity, at reloads too */
/* Configs kept after a reload because a removed section still serves a gateway. */
static struct config **retired;
static size_t nretired;

/* The backends the config enables. */
static size_t
enabled_backends(const struct config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < gw_ndrivers; i++)
		if (config_section(cfg, gw_drivers[i]->name))
			n++;
	return n;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: stanzagate [-dnv] [-c FILE]\n"
	        "       stanzagate --migrate-store sqlite:PATH postgresql://...\n"
	        "  -c FILE    configuration file (default %s)\n"
	        "  -n         check the configuration, print what is wrong, exit 0, 1 or\n"
	        "             3 (no backend enabled)\n"
	        "  -d         stay in the foreground and log to stderr\n"
	        "  -v         more logging (repeat for protocol traces)\n"
	        "  --migrate-store FROM TO\n"
	        "             copy a SQLite store into an empty PostgreSQL one, verify the\n"
	        "             row count of every table, exit 0 or 1\n"
	        "  --version  print the version\n"
	        "  --help     this text\n",
	        DEFAULT_CONFIG);
}

static void
notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* Loads path; on failure prints every problem to stderr and returns NULL. */
static struct config *
load_config(const char *path)
{
	struct config_error *errs = NULL;
	size_t nerrs = 0;
	struct config *cfg = config_load(path, gw_drivers, gw_ndrivers, &errs, &nerrs);

	for (size_t i = 0; i < nerrs; i++) {
		char *line = config_error_format(&errs[i]);

		log_warnx("%s", line);
		free(line);
	}
	config_errors_free(errs, nerrs);
	return cfg;
}

static void
reload(void)
{
	struct config *cfg;
	char **changed;
	size_t n = 0;

	notify("RELOADING=1");
	log_info("reloading %s", core.config_path);
	cfg = load_config(core.config_path);
	if (cfg == NULL) {
		log_warnx("reload: the configuration has errors; keeping the running one");
		notify("READY=1");
		return;
	}
	changed = config_unreloadable_changes(core.cfg, cfg, &n);
	for (size_t i = 0; i < n; i++) {
		log_warnx("reload: %s changed but needs a restart to take effect", changed[i]);
		free(changed[i]);
	}
	free(changed);
	{
		struct config *old = core.cfg;
		bool keep_old = false;

		core.cfg = cfg;
		for (size_t i = 0; i < core.nnets; i++) {
			struct gw_net *net = core.nets[i];
			const struct gw_section *sec = config_section(cfg, net->drv->name);

			if (sec == NULL) {
				log_warnx("reload: [%s] was removed; it stays until a restart",
				          net->drv->name);
				/* The gateway keeps its section: the config holding it stays. */
				if (config_section(old, net->drv->name) == net->section)
					keep_old = true;
				continue;
			}
			net->section = sec;
			if (gateway_reload(net) == -1)
				log_warnx("reload: %s could not apply the new settings",
				          net->drv->name);
		}
		if (keep_old) {
			retired = xreallocarray(retired, nretired + 1, sizeof(*retired));
			retired[nretired++] = old;
		} else
			config_free(old);
	}
	{
		const struct gw_section *logsec = config_section(cfg, "log");
		long v = logsec ? gw_conf_int(logsec, "verbosity") : 0;

		/* Each -v adds one to [log] verbosity (stanzagate(8)). */
		log_set_verbosity((int)v + cli_verbosity);
		for (size_t i = 0; i < core.nnets; i++)
			component_set_reconnect_max(
			        core.nets[i]->comp,
			        (int)gw_conf_int(config_section(cfg, "xmpp"), "reconnect_max"));
	}
	log_info("configuration reloaded");
	notify("READY=1");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		reload();
		return;
	}
	if (sig == SIGUSR2) {
		log_info("SIGUSR2: stopping for good: leaving every room");
		core.stop_for_good = true;
	} else
		log_info("%s: shutting down; rooms are kept for the next start",
		         sig == SIGTERM ? "SIGTERM" : "SIGINT");
	core.shutting_down = true;
	event_base_loopbreak(core.base);
}

static void
expire_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	commands_expire(time(NULL));
}

/* IRC connections and such want many descriptors; the soft limit is raised to the hard one. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* --migrate-store FROM TO: the exit status. */
static int
migrate_store(int argc, char **argv, int verbose)
{
	char *err = NULL;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	log_init(1, verbose, "stanzagate");
	if (store_copy(argv[0], argv[1], stdout, &err) == -1) {
		fprintf(stderr, "stanzagate: --migrate-store: %s\n", err);
		free(err);
		return 1;
	}
	printf("stanzagate: --migrate-store: every table copied and verified\n");
	return 0;
}

int
daemon_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {"migrate-store", no_argument, NULL, 'M'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = DEFAULT_CONFIG;
	int ch, verbose = 0, check_only = 0, foreground = 0, migrate = 0;
	struct event *ev_term, *ev_int, *ev_hup, *ev_usr2, *ev_expire;
	struct timeval minute = {60, 0};
	char *err = NULL;

	while ((ch = getopt_long(argc, argv, "c:dnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("stanzagate %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'M':
			migrate = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (migrate)
		return migrate_store(argc - optind, argv + optind, verbose);
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Until the config says otherwise, everything goes to stderr. */
	log_init(1, verbose, "stanzagate");
	core.cfg = load_config(path);
	if (core.cfg == NULL) {
		if (!check_only)
			fprintf(stderr, "stanzagate: invalid configuration in %s\n", path);
		return 1;
	}
	cli_verbosity = verbose;
	if (enabled_backends(core.cfg) == 0) {
		fprintf(stderr,
		        "%s: no backend is enabled: add an [echo], [irc], [sms] or [email] "
		        "section\n",
		        path);
		config_free(core.cfg);
		return EXIT_NO_BACKEND;
	}
	if (check_only) {
		printf("%s: configuration OK\n", path);
		config_free(core.cfg);
		return 0;
	}
	{
		const struct gw_section *logsec = config_section(core.cfg, "log");
		long v = logsec ? gw_conf_int(logsec, "verbosity") : 0;

		verbose += (int)v; /* each -v adds one to [log] verbosity */
		log_set_verbosity(verbose);
	}
	core.config_path = xstrdup(path);
	{
		const struct gw_section *st = config_section(core.cfg, "storage");

		core.store = store_open(gw_conf_str(st, "url"), gw_conf_str(st, "key_file"), &err);
		if (core.store == NULL) {
			fprintf(stderr, "stanzagate: %s\n", err ? err : "cannot open the database");
			free(err);
			return 1;
		}
		if (!foreground) {
			/*
			 * SQLite's POSIX locks are not inherited across fork(): the
			 * store was opened above only to report problems on stderr,
			 * and is opened again by the daemonised process.
			 */
			store_close(core.store);
			if (daemon(0, 0) == -1)
				fatal("daemon");
			log_init(0, verbose, "stanzagate");
			core.store = store_open(gw_conf_str(st, "url"), gw_conf_str(st, "key_file"),
			                        &err);
			if (core.store == NULL)
				fatalx("%s", err ? err : "cannot open the database");
		}
	}
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	core.base = event_base_new();
	if (core.base == NULL)
		fatalx("libevent: cannot create the event loop");
	core.started = time(NULL);
	if (resolve_init(core.base, gw_conf_list(config_section(core.cfg, "dns"), "nameservers")) ==
	    -1) {
		fprintf(stderr,
		        "stanzagate: [dns] nameservers: not an address[:port] (see the log)\n");
		return 1;
	}
	component_global_init(core.base);
	commands_init();
	admin_init();
	if (gateway_create_all() == -1) {
		fprintf(stderr, "stanzagate: a backend failed to start (see the log)\n");
		return 1;
	}
	if (metrics_start(core.base, gw_conf_str(config_section(core.cfg, "metrics"), "listen")) ==
	    -1) {
		fprintf(stderr,
		        "stanzagate: [metrics] listen: cannot listen there (see the log)\n");
		return 1;
	}
	ev_term = evsignal_new(core.base, SIGTERM, signal_cb, NULL);
	ev_int = evsignal_new(core.base, SIGINT, signal_cb, NULL);
	ev_hup = evsignal_new(core.base, SIGHUP, signal_cb, NULL);
	ev_usr2 = evsignal_new(core.base, SIGUSR2, signal_cb, NULL);
	ev_expire = event_new(core.base, -1, EV_PERSIST, expire_cb, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_usr2, NULL);
	event_add(ev_expire, &minute);
	gateway_start_all();
	outage_start();
	log_info("stanzagate %s started with %zu gateway%s", PACKAGE_VERSION, core.nnets,
	         core.nnets == 1 ? "" : "s");
	notify("READY=1");

	event_base_dispatch(core.base);

	notify("STOPPING=1");
	metrics_stop();
	outage_stop();
	gateway_stop_all();
	iqwait_shutdown();
	upload_shutdown();
	commands_shutdown();
	gateway_free_all();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_usr2);
	event_free(ev_expire);
	component_global_shutdown();
	resolve_shutdown();
	store_close(core.store);
	config_free(core.cfg);
	for (size_t i = 0; i < nretired; i++)
		config_free(retired[i]);
	free(retired);
	/*
	 * What libevent still has due runs now: a bufferevent with deferred
	 * callbacks (BEV_OPT_DEFER_CALLBACKS) that was freed at stop is only
	 * released by its last callback, which event_base_free would drop.
	 */
	event_base_loop(core.base, EVLOOP_NONBLOCK);
	event_base_free(core.base);
	free(core.config_path);
	log_info("stopped");
	return 0;
}
