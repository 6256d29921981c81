/* Command line and life cycle; placeholder until the core lands. */
#include "config.h"

#include <stdio.h>

#include "daemon.h"

int
daemon_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "stanzagate %s\n", PACKAGE_VERSION);
	return 0;
}
