/*
 * genconf: prints the documentation generated from the option tables of
 * the core and of the compiled-in drivers.
 *
 *   genconf example   the example config (conf/stanzagate.conf.example)
 *   genconf man       the sections and keys of stanzagate.conf(5), in roff
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"

/* The compiled-in drivers (src/core/drivers.c). */
extern const struct gw_driver *const gw_drivers[];
extern const size_t gw_ndrivers;

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "example") == 0)
		config_write_example(stdout, gw_drivers, gw_ndrivers);
	else if (argc == 2 && strcmp(argv[1], "man") == 0)
		config_write_man(stdout, gw_drivers, gw_ndrivers);
	else {
		fprintf(stderr, "usage: genconf example|man\n");
		return 2;
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("genconf: stdout");
		return 1;
	}
	return 0;
}
