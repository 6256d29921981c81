/* stanzagate: entry point only; everything else is in libstanzagate. */
#include "config.h"

#include "daemon.h"

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv);
}
