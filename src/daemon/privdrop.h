/*
 * privdrop: running as root only as long as needed. `roost serve` started
 * as root with server.user set binds its ports first, then switches to
 * that user for good. The data directory is handed to the user at start
 * (chown of DIR and everything in it), so the daemon, and the CLI run as
 * that user, can write the database and its journal files.
 */
#ifndef ROOST_PRIVDROP_H
#define ROOST_PRIVDROP_H
#include <sys/types.h>

struct privdrop {
	char *user;
	uid_t uid;
	gid_t gid;
};

/* Look up `user` and chown `datadir` recursively (symlinks not followed).
 * 0, or -1 with *error_r. */
int privdrop_prepare(struct privdrop *p, const char *user, const char *datadir, char **error_r);
/* setgroups/setgid/setuid to the user, checking root cannot be regained. */
int privdrop_switch(const struct privdrop *p, char **error_r);
void privdrop_clear(struct privdrop *p);
#endif
