/* privdrop: see privdrop.h. */
#define _XOPEN_SOURCE 700
#include "daemon/privdrop.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open directories nftw may hold at once. */
#define PRIVDROP_NFTW_FDS 16

/* nftw has no context argument; serve runs this once, single-threaded. */
static uid_t walk_uid;
static gid_t walk_gid;
static int walk_errno;

static int chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (lchown(path, walk_uid, walk_gid) < 0 && walk_errno == 0)
		walk_errno = errno;
	return 0;
}

bool privdrop_stays_root(const char *user)
{
	if (geteuid() != 0)
		return true;
	if (strcmp(user, "root") != 0)
		return false;
	log_warn("running as root (server.user = root): every bug in the daemon is a root bug; "
		 "use the default server.user = roost");
	return true;
}

int privdrop_prepare(struct privdrop *p, const char *user, const char *datadir, char **error_r)
{
	memset(p, 0, sizeof(*p));
	if (*user == '\0') {
		*error_r = xstrdup("server.user is empty: name a user to run as (default roost), "
				   "or root to stay root");
		return -1;
	}
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		*error_r = xasprintf("server.user: no such user '%s' (scripts/deps.sh creates the "
				     "system user roost; server.user = root stays root)",
				     user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		*error_r = xasprintf("server.user: '%s' is root", user);
		return -1;
	}
	p->user = xstrdup(user);
	p->datadir = xstrdup(datadir);
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	walk_uid = p->uid;
	walk_gid = p->gid;
	walk_errno = 0;
	if (nftw(datadir, chown_one, PRIVDROP_NFTW_FDS, FTW_PHYS) != 0 || walk_errno != 0) {
		*error_r = xasprintf("cannot hand %s to %s: %s", datadir, user,
				     strerror(walk_errno ? walk_errno : errno));
		privdrop_clear(p);
		return -1;
	}
	return 0;
}

int privdrop_hand_dir(const struct privdrop *p, const char *path, char **error_r)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	DIR *d = opendir(path);
	if (d == NULL || lchown(path, p->uid, p->gid) < 0) {
		*error_r = xasprintf("cannot hand %s to %s: %s", path, p->user, strerror(errno));
		if (d != NULL)
			closedir(d);
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		char *sub = xasprintf("%s/%s", path, de->d_name);
		if (lchown(sub, p->uid, p->gid) < 0) {
			*error_r = xasprintf("cannot hand %s to %s: %s", sub, p->user,
					     strerror(errno));
			rc = -1;
		}
		free(sub);
	}
	closedir(d);
	return rc;
}

int privdrop_switch(const struct privdrop *p, char **error_r)
{
	if (initgroups(p->user, p->gid) < 0 || setgid(p->gid) < 0 || setuid(p->uid) < 0) {
		*error_r = xasprintf("cannot switch to user %s: %s", p->user, strerror(errno));
		return -1;
	}
	/* setuid() from root is permanent; make sure. */
	if (setuid(0) == 0 || geteuid() != p->uid || getegid() != p->gid) {
		*error_r = xasprintf("switching to user %s did not drop root", p->user);
		return -1;
	}
	/* DIR itself is the user's now, but a parent directory it cannot
	 * search (a private /tmp/xyz, a 0700 home) fails every later file
	 * operation: say so now, not at the first delivery. */
	if (access(p->datadir, R_OK | W_OK | X_OK) < 0) {
		*error_r = xasprintf("user %s cannot use the data directory %s: %s (a parent "
				     "directory is not searchable by it?)",
				     p->user, p->datadir, strerror(errno));
		return -1;
	}
	return 0;
}

void privdrop_clear(struct privdrop *p)
{
	xfree(&p->user);
	xfree(&p->datadir);
}
