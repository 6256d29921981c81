/* The daemon's command line and life cycle (daemon.c). */
#ifndef SG_DAEMON_H
#define SG_DAEMON_H

int daemon_main(int argc, char **argv);

#endif
