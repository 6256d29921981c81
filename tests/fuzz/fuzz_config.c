/*
 * libFuzzer target: any bytes as a config file, loaded with a fake driver
 * that has every option type and a subsection kind. Must never crash or
 * leak; a config that loads is also read back and documented.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct gw_option fake_options[] = {
        {"name", GW_OPT_STRING, "x", 0, 0, GW_OPT_RELOADABLE, "A string."},
        {"token", GW_OPT_SECRET, NULL, 0, 0, 0, "A secret."},
        {"count", GW_OPT_INT, "3", 0, 10, 0, "An integer."},
        {"flag", GW_OPT_BOOL, "no", 0, 0, 0, "A boolean."},
        {"words", GW_OPT_LIST, "", 0, 4, 0, "A list."},
        {"ports", GW_OPT_PORTS, "6697", 0, 0, 0, "Ports."},
        {"peer", GW_OPT_JID, NULL, 0, 0, 0, "A JID."},
        {"dir", GW_OPT_PATH, "data", 0, 0, 0, "A path."},
        {"every", GW_OPT_DURATION, "5m", 1, 3600, 0, "A duration."},
        GW_OPTIONS_END,
};

static const struct gw_option line_options[] = {
        {"number", GW_OPT_STRING, NULL, 0, 0, GW_OPT_REQUIRED, "A number."},
        {"users", GW_OPT_LIST, "", 1, 0, GW_OPT_RELOADABLE, "Users."},
        GW_OPTIONS_END,
};

static const struct gw_subsection fake_subsections[] = {
        {"line", line_options, "A line."},
        GW_SUBSECTIONS_END,
};

static const struct gw_driver fake = {
        .name = "echo",
        .type = "echo",
        .description = "Fake",
        .options = fake_options,
        .subsections = fake_subsections,
};

static const struct gw_driver *const drivers[] = {&fake};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *prev;
	struct config_error *errs;
	struct config *cfg;
	size_t nerrs, n;

	cfg = config_load_buffer("/nonexistent/fuzz.conf", (const char *)data, size, drivers, 1,
	                         &errs, &nerrs);
	if (cfg == NULL) {
		for (size_t i = 0; i < nerrs; i++)
			free(config_error_format(&errs[i]));
		config_errors_free(errs, nerrs);
		return 0;
	}
	const struct gw_section *s = config_section(cfg, "echo");
	if (s != NULL) {
		(void)gw_conf_str(s, "token");
		(void)gw_conf_list(s, "ports");
		(void)config_subsections(cfg, "echo", "line", &n);
	}
	if (prev != NULL) {
		char **ch = config_unreloadable_changes(prev, cfg, &n);

		for (size_t i = 0; i < n; i++)
			free(ch[i]);
		free(ch);
		config_free(prev);
	}
	prev = cfg;
	return 0;
}
