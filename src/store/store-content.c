/* store-content: message bytes in a content directory (see store-content.h). */
#include "store/store-content.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "hh/" + 64 hex digits + "." + 16 hex digits */
#define CONTENT_LOCATION_LEN (3 + 64 + 1 + 16)
/* the temporary name a file is written under, in its hh directory */
#define CONTENT_TMP_PREFIX ".new."

static const char hexdigits[] = "0123456789abcdef";

static void hex(char *out, const unsigned char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
}

/* A location is ours: exactly the shape store_content_put makes, so a
 * row's text can never name a path outside the directory. */
static bool location_valid(const char *loc)
{
	if (loc == NULL || strlen(loc) != CONTENT_LOCATION_LEN || loc[2] != '/' ||
	    loc[3 + 64] != '.')
		return false;
	for (size_t i = 0; i < CONTENT_LOCATION_LEN; i++)
		if (i != 2 && i != 3 + 64 && strchr(hexdigits, loc[i]) == NULL)
			return false;
	return memcmp(loc, loc + 3, 2) == 0;
}

static char *path_of(const struct store *s, const char *location)
{
	return xasprintf("%s/%s", s->settings.content_dir, location);
}

static enum store_err errno_err(int e)
{
	return e == ENOSPC || e == EDQUOT ? STORE_ENOSPACE : STORE_ETEMP;
}

enum store_err store_content_dir_check(struct store *s, char **error_r)
{
	const char *dir = s->settings.content_dir;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("store.content: cannot create %s: %s", dir, strerror(errno));
		return errno_err(errno);
	}
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = xasprintf("store.content: %s is not a directory", dir);
		return STORE_EPERM;
	}
	s->content_chown = geteuid() == 0 && st.st_uid != 0;
	s->content_uid = st.st_uid;
	s->content_gid = st.st_gid;
	if (access(dir, W_OK | X_OK) < 0) {
		*error_r = xasprintf("store.content: %s: %s (it must be writable by the daemon's"
				     " server.user)", dir, strerror(errno));
		return STORE_EPERM;
	}
	return STORE_OK;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum store_err store_content_put(struct store_txn *txn, const unsigned char hash[32],
				 const void *data, size_t len, char **location_r)
{
	struct store *s = txn->s;
	if (txn->ncontent_new >= STORE_CONTENT_FILE_MAX)
		return STORE_ELIMIT;
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return STORE_ETEMP;
	char loc[CONTENT_LOCATION_LEN + 1];
	hex(loc, hash, 1);
	loc[2] = '/';
	hex(loc + 3, hash, 32);
	loc[3 + 64] = '.';
	hex(loc + 3 + 64 + 1, rnd, sizeof(rnd));
	loc[CONTENT_LOCATION_LEN] = '\0';

	char *sub = xasprintf("%s/%.2s", s->settings.content_dir, loc);
	if (mkdir(sub, 0700) == 0) {
		txn->content_dir_made = true;
		if (s->content_chown && chown(sub, s->content_uid, s->content_gid) < 0)
			log_warn("store: content directory %s: chown: %s", sub, strerror(errno));
	} else if (errno != EEXIST) {
		int e = errno;
		log_error("store: content directory %s: %s", sub, strerror(e));
		free(sub);
		return errno_err(e);
	}
	char *tmp = xasprintf("%s/" CONTENT_TMP_PREFIX "%s", sub, loc + 3 + 64 + 1);
	char *path = path_of(s, loc);
	free(sub);
	enum store_err err = STORE_OK;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	/* a root CLI (roost deliver): the daemon, as server.user, must read it */
	int rc = fd < 0 ? -1 : 0;
	if (rc == 0 && s->content_chown)
		rc = fchown(fd, s->content_uid, s->content_gid);
	if (rc == 0)
		rc = write_all(fd, data, len);
	int e = errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		log_error("store: writing content file %s: %s", path, strerror(e));
		if (fd >= 0)
			unlink(tmp);
		err = errno_err(e);
	}
	free(tmp);
	free(path);
	if (err != STORE_OK)
		return err;
	txn->content_new = xgrow(txn->content_new, &txn->content_new_cap, txn->ncontent_new + 1,
				 sizeof(*txn->content_new));
	txn->content_new[txn->ncontent_new++] = xstrdup(loc);
	txn->content_dirs[hash[0] >> 3] |= (unsigned char)(1u << (hash[0] & 7));
	*location_r = xstrdup(loc);
	return STORE_OK;
}

void store_content_drop(struct store_txn *txn, const char *location)
{
	if (!location_valid(location)) {
		log_error("store: content location \"%.100s\" is not one of ours: file kept",
			  location != NULL ? location : "");
		return;
	}
	txn->content_drop = xgrow(txn->content_drop, &txn->content_drop_cap,
				  txn->ncontent_drop + 1, sizeof(*txn->content_drop));
	txn->content_drop[txn->ncontent_drop++] = xstrdup(location);
}

void store_content_op_begin(struct store_txn *txn)
{
	txn->op_content_new = txn->ncontent_new;
	txn->op_content_drop = txn->ncontent_drop;
}

static void unlink_location(const struct store *s, const char *location)
{
	char *path = path_of(s, location);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("store: removing content file %s: %s", path, strerror(errno));
	free(path);
}

void store_content_op_undo(struct store_txn *txn)
{
	while (txn->ncontent_new > txn->op_content_new) {
		char *loc = txn->content_new[--txn->ncontent_new];
		unlink_location(txn->s, loc);
		free(loc);
	}
	while (txn->ncontent_drop > txn->op_content_drop)
		free(txn->content_drop[--txn->ncontent_drop]);
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

enum store_err store_content_sync(struct store_txn *txn, char **error_r)
{
	const struct store *s = txn->s;
	const char *failed = NULL;
	char *path = NULL;
	for (size_t i = 0; i < txn->ncontent_new && failed == NULL; i++) {
		path = path_of(s, txn->content_new[i]);
		if (fsync_path(path, O_RDONLY) < 0)
			failed = path;
		else
			xfree(&path);
	}
	for (unsigned b = 0; b < 256 && failed == NULL; b++) {
		if (!(txn->content_dirs[b >> 3] & (1u << (b & 7))))
			continue;
		path = xasprintf("%s/%c%c", s->settings.content_dir, hexdigits[b >> 4],
				 hexdigits[b & 15]);
		if (fsync_path(path, O_RDONLY | O_DIRECTORY) < 0)
			failed = path;
		else
			xfree(&path);
	}
	if (failed == NULL && txn->content_dir_made &&
	    fsync_path(s->settings.content_dir, O_RDONLY | O_DIRECTORY) < 0)
		failed = s->settings.content_dir;
	if (failed == NULL)
		return STORE_OK;
	int e = errno;
	*error_r = xasprintf("content directory: fsync %s: %s", failed, strerror(e));
	free(path);
	return errno_err(e);
}

void store_content_end(struct store_txn *txn, bool committed)
{
	for (size_t i = 0; i < txn->ncontent_drop; i++) {
		if (committed)
			unlink_location(txn->s, txn->content_drop[i]);
		free(txn->content_drop[i]);
	}
	for (size_t i = 0; i < txn->ncontent_new; i++)
		free(txn->content_new[i]);
	txn->ncontent_new = txn->ncontent_drop = 0;
	txn->op_content_new = txn->op_content_drop = 0;
	memset(txn->content_dirs, 0, sizeof(txn->content_dirs));
	txn->content_dir_made = false;
}

enum store_err store_content_read(struct store *s, const char *location, int64_t size,
				  size_t max, char *buf, size_t *len_r)
{
	*len_r = 0;
	if (!store_content_in_files(s) || !location_valid(location)) {
		log_error("store: content file \"%.100s\" cannot be read: %s (run roost check)",
			  location != NULL ? location : "",
			  store_content_in_files(s) ? "not a content location"
						    : "store.content is not dir:PATH");
		return STORE_ECORRUPT;
	}
	size_t want = size < 0 ? 0 : (size_t)size;
	if (want > max)
		want = max;
	char *path = path_of(s, location);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum store_err err = STORE_OK;
	size_t got = 0;
	if (fd < 0) {
		err = errno == ENOENT ? STORE_ECORRUPT : STORE_ETEMP;
		log_error("store: content file %s: %s%s", path, strerror(errno),
			  err == STORE_ECORRUPT ? " (run roost check)" : "");
	}
	while (err == STORE_OK && got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("store: content file %s: %s", path, strerror(errno));
			err = STORE_ETEMP;
		} else if (n == 0) {
			log_error("store: content file %s is %zu bytes, its row says %lld"
				  " (run roost check)", path, got, (long long)size);
			err = STORE_ECORRUPT;
		} else {
			got += (size_t)n;
		}
	}
	if (fd >= 0)
		close(fd);
	free(path);
	*len_r = got;
	return err;
}

int store_content_stat(struct store *s, const char *location, int64_t size)
{
	if (!store_content_in_files(s) || !location_valid(location))
		return EINVAL;
	char *path = path_of(s, location);
	struct stat st;
	int rc = stat(path, &st) < 0 ? errno : st.st_size != size ? EFBIG : 0;
	free(path);
	return rc;
}

enum store_err store_content_walk(struct store *s, int64_t min_age_s, store_content_file_fn *fn,
				  void *ctx)
{
	time_t now = time(NULL);
	for (unsigned b = 0; b < 256; b++) {
		char sub[3] = {hexdigits[b >> 4], hexdigits[b & 15], '\0'};
		char *dirpath = xasprintf("%s/%s", s->settings.content_dir, sub);
		DIR *d = opendir(dirpath);
		if (d == NULL) {
			int e = errno;
			free(dirpath);
			if (e == ENOENT)
				continue;
			errno = e;
			return STORE_ETEMP;
		}
		struct dirent *de;
		int stop = 0;
		while (stop == 0 && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
						     strcmp(de->d_name, "..") == 0))
				continue;
			char loc[3 + sizeof(de->d_name)];
			snprintf(loc, sizeof(loc), "%s/%s", sub, de->d_name);
			struct stat st;
			char *path = xasprintf("%s/%s", dirpath, de->d_name);
			bool old = stat(path, &st) == 0 && now - st.st_mtime >= min_age_s;
			free(path);
			if (old)
				stop = fn(ctx, loc);
		}
		closedir(d);
		free(dirpath);
		if (stop != 0)
			break;
	}
	return STORE_OK;
}
