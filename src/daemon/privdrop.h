/*
 * privdrop: running as root only as long as needed. `roost serve` started
 * as root binds its ports first, then switches for good to server.user
 * (default "roost", the system user scripts/deps.sh creates). Staying
 * root takes the explicit server.user = root, and is logged as a warning.
 * The data directory is handed to the user at start (chown of DIR and
 * everything in it), so the daemon, and the CLI run as that user, can
 * write the database and its journal files.
 */
#ifndef ROOST_PRIVDROP_H
#define ROOST_PRIVDROP_H
#include <stdbool.h>
#include <sys/types.h>

struct privdrop {
	char *user;
	char *datadir;
	uid_t uid;
	gid_t gid;
};

/* server.user = root: stay root (warns once). Also true when not root. */
bool privdrop_stays_root(const char *user);
/* Look up `user` and chown `datadir` recursively (symlinks not followed).
 * 0, or -1 with *error_r. */
int privdrop_prepare(struct privdrop *p, const char *user, const char *datadir, char **error_r);
/* store.content = dir:PATH: make PATH if missing and hand it and its
 * subdirectories (not the files: those are written by the daemon, or by a
 * root CLI that gives them PATH's owner, store-content.c) to the user.
 * 0, or -1 with *error_r. */
int privdrop_hand_dir(const struct privdrop *p, const char *path, char **error_r);
/* setgroups/setgid/setuid to the user, checking root cannot be regained
 * and that the user can reach the data directory. */
int privdrop_switch(const struct privdrop *p, char **error_r);
void privdrop_clear(struct privdrop *p);
#endif
