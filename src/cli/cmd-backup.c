/*
 * cmd-backup: `roost backup DEST` and `roost backup verify DEST` (the
 * format: cli-backup.h).
 *
 * Online: the database is copied by store_backup_db() through its own
 * read-only connection (one WAL snapshot), so a running daemon is neither
 * asked nor stopped; the command runs in the CLI process (CLI_LOCAL), as
 * the invoking user, so DEST is the caller's path. Full copies only:
 * messages live inside the one database file, and an incremental copy
 * would need a page-level change log SQLite does not keep; a full copy of
 * a 100,000-message store is a sequential write (bench/import.sh).
 *
 * Atomic: everything is written into DEST.tmp, fsynced, MANIFEST last;
 * then DEST.tmp takes DEST's place in one renameat2(RENAME_EXCHANGE) (or
 * rename() when DEST does not exist) and the old copy is removed. A
 * backup killed at any point leaves DEST as it was.
 */
#include "cli/cli-backup.h"
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/version.h"
#include "store/store-backup.h"
#include "store/store.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Lines of `roost backup verify`'s own problem list (store_check adds its
 * own, capped the same way as `roost check`). */
#define BACKUP_VERIFY_MAX_LINES 1000

static int sha256_file(const char *path, char hex[65], int64_t *size_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	unsigned char bufr[65536];
	int64_t total = 0;
	ssize_t n;
	while ((n = read(fd, bufr, sizeof(bufr))) > 0) {
		EVP_DigestUpdate(ctx, bufr, (size_t)n);
		total += n;
	}
	close(fd);
	unsigned char md[32];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (n < 0)
		return -1;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*size_r = total;
	return 0;
}

int backup_copy_file(const char *src, const char *dst, unsigned mode, char **error_r)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		*error_r = xasprintf("%s: %s", src, strerror(errno));
		return -1;
	}
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (out < 0) {
		*error_r = xasprintf("%s: %s", dst, strerror(errno));
		close(in);
		return -1;
	}
	char bufr[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, bufr, sizeof(bufr))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, bufr + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				*error_r = xasprintf("%s: %s", dst, strerror(errno));
				rc = -1;
				break;
			}
			off += w;
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && n < 0) {
		*error_r = xasprintf("%s: %s", src, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && fsync(out) < 0) {
		*error_r = xasprintf("%s: fsync: %s", dst, strerror(errno));
		rc = -1;
	}
	close(out);
	close(in);
	return rc;
}

static void remove_tree_depth(const char *path, int depth)
{
	DIR *d = depth < BACKUP_MAX_DEPTH ? opendir(path) : NULL;
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *p = xasprintf("%s/%s", path, e->d_name);
			struct stat st;
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				remove_tree_depth(p, depth + 1);
			else
				unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(path);
}

void backup_remove_tree(const char *path)
{
	remove_tree_depth(path, 0);
}

void backup_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

void backup_manifest_free(struct backup_manifest *m)
{
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	free(m->files);
	free(m->roost_version);
	memset(m, 0, sizeof(*m));
}

static void manifest_add(struct backup_manifest *m, const char *path, const char *sha,
			 int64_t size)
{
	m->files = xgrow(m->files, &m->cap, m->nfiles + 1, sizeof(*m->files));
	struct backup_file *f = &m->files[m->nfiles++];
	f->path = xstrdup(path);
	memcpy(f->sha256, sha, 65);
	f->size = size;
}

/* A manifest path: relative, no "." or ".." component, no empty one. */
static bool safe_rel_path(const char *p)
{
	if (*p == '\0' || *p == '/')
		return false;
	for (const char *c = p; *c != '\0';) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += len;
		if (*c == '/')
			c++;
	}
	return true;
}

static bool parse_i64(const char *s, int64_t *v_r)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < 0)
		return false;
	*v_r = v;
	return true;
}

int backup_manifest_read(const char *dir, struct backup_manifest *m, char **error_r)
{
	memset(m, 0, sizeof(*m));
	char *path = xasprintf("%s/%s", dir, BACKUP_MANIFEST);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		*error_r = xasprintf("%s: %s (not a finished backup)", path, strerror(errno));
		free(path);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0, total = 0, lineno = 0;
	ssize_t n;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		total += (size_t)n;
		if (total > BACKUP_MAX_MANIFEST) {
			*error_r = xasprintf("%s: larger than %d bytes", path, BACKUP_MAX_MANIFEST);
			rc = -1;
			break;
		}
		if (line[n - 1] != '\n') {
			*error_r = xasprintf("%s: line %zu: unterminated (truncated?)", path, lineno);
			rc = -1;
			break;
		}
		line[n - 1] = '\0';
		char *sp = strchr(line, ' ');
		if (sp == NULL) {
			*error_r = xasprintf("%s: line %zu: no value", path, lineno);
			rc = -1;
			break;
		}
		*sp = '\0';
		const char *key = line, *val = sp + 1;
		int64_t v;
		if (lineno == 1) {
			if (strcmp(key, "roost-backup") != 0 || !parse_i64(val, &v)) {
				*error_r = xasprintf("%s: not a Roost backup manifest", path);
				rc = -1;
				break;
			}
			if (v != BACKUP_FORMAT) {
				*error_r = xasprintf("%s: backup format %" PRId64
						     " (this roost reads format %d)", path, v,
						     BACKUP_FORMAT);
				rc = -1;
				break;
			}
			m->format = (int)v;
		} else if (strcmp(key, "roost-version") == 0) {
			free(m->roost_version);
			m->roost_version = xstrdup(val);
		} else if (strcmp(key, "schema-version") == 0 && parse_i64(val, &v)) {
			m->schema_version = (long)v;
		} else if (strcmp(key, "created") == 0 && parse_i64(val, &v)) {
			m->created = v;
		} else if (strcmp(key, "file") == 0) {
			/* <64 hex> <size> <path> */
			const char *sp2 = strchr(val, ' ');
			const char *sp3 = sp2 ? strchr(sp2 + 1, ' ') : NULL;
			char *size_s = sp3 ? xstrndup(sp2 + 1, (size_t)(sp3 - sp2 - 1)) : NULL;
			bool ok = sp2 != NULL && sp2 - val == 64 && sp3 != NULL &&
				  parse_i64(size_s, &v) && safe_rel_path(sp3 + 1) &&
				  strspn(val, "0123456789abcdef") >= 64;
			free(size_s);
			if (!ok) {
				*error_r = xasprintf("%s: line %zu: malformed file entry", path, lineno);
				rc = -1;
				break;
			}
			char sha[65];
			memcpy(sha, val, 64);
			sha[64] = '\0';
			manifest_add(m, sp3 + 1, sha, v);
		}
		/* unknown keys: written by a later roost of the same format */
	}
	if (rc == 0 && lineno == 0) {
		*error_r = xasprintf("%s: empty", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	free(path);
	if (rc < 0)
		backup_manifest_free(m);
	return rc;
}

size_t backup_check_files(const char *dir, const struct backup_manifest *m, FILE *out)
{
	size_t problems = 0;
	bool have_db = false;
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct backup_file *f = &m->files[i];
		if (strcmp(f->path, "roost.db") == 0)
			have_db = true;
		char *p = xasprintf("%s/%s", dir, f->path);
		char hex[65];
		int64_t size;
		if (sha256_file(p, hex, &size) < 0) {
			fprintf(out, "%s: %s\n", f->path, strerror(errno));
			problems++;
		} else if (size != f->size) {
			fprintf(out, "%s: size %" PRId64 ", manifest says %" PRId64 "\n", f->path,
				size, f->size);
			problems++;
		} else if (strcmp(hex, f->sha256) != 0) {
			fprintf(out, "%s: SHA-256 differs from the manifest\n", f->path);
			problems++;
		}
		free(p);
	}
	if (!have_db) {
		fputs("roost.db: not in the manifest\n", out);
		problems++;
	}
	return problems;
}

struct backup_run {
	struct cli *cli;
	const char *datadir;
	const char *tmp;
	struct backup_manifest m;
	int64_t bytes;
};

/* Not copied from the data directory: the live database files (the
 * snapshot replaces them), the schema-upgrade copies, and the lock. */
static bool skip_top_name(const char *name)
{
	return strncmp(name, "roost.db", 8) == 0 || strcmp(name, BACKUP_MANIFEST) == 0;
}

static int add_file(struct backup_run *r, const char *rel, char **error_r)
{
	char *p = xasprintf("%s/%s", r->tmp, rel);
	char hex[65];
	int64_t size;
	int rc = sha256_file(p, hex, &size);
	if (rc < 0)
		*error_r = xasprintf("%s: %s", p, strerror(errno));
	else {
		manifest_add(&r->m, rel, hex, size);
		r->bytes += size;
	}
	free(p);
	return rc;
}

static int copy_tree(struct backup_run *r, const char *rel, int depth, char **error_r)
{
	char *src_dir = *rel ? xasprintf("%s/%s", r->datadir, rel) : xstrdup(r->datadir);
	DIR *d = opendir(src_dir);
	if (d == NULL) {
		*error_r = xasprintf("%s: %s", src_dir, strerror(errno));
		free(src_dir);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (depth == 0 && skip_top_name(e->d_name))
			continue;
		if (strchr(e->d_name, '\n') != NULL)
			continue; /* cannot be named in the manifest */
		char *sub = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		char *src = xasprintf("%s/%s", r->datadir, sub);
		struct stat st;
		if (lstat(src, &st) < 0) {
			/* gone meanwhile (a temporary file): not part of the copy */
		} else if (S_ISDIR(st.st_mode)) {
			if (depth + 1 >= BACKUP_MAX_DEPTH) {
				*error_r = xasprintf("%s: deeper than %d levels", src,
						     BACKUP_MAX_DEPTH);
				rc = -1;
			} else {
				char *dst = xasprintf("%s/%s", r->tmp, sub);
				if (mkdir(dst, st.st_mode & 07777) < 0) {
					*error_r = xasprintf("%s: %s", dst, strerror(errno));
					rc = -1;
				} else {
					rc = copy_tree(r, sub, depth + 1, error_r);
					backup_sync_dir(dst);
				}
				free(dst);
			}
		} else if (S_ISREG(st.st_mode)) {
			char *dst = xasprintf("%s/%s", r->tmp, sub);
			rc = backup_copy_file(src, dst, st.st_mode & 07777, error_r);
			if (rc == 0)
				rc = add_file(r, sub, error_r);
			free(dst);
		}
		/* sockets (control.sock) and other special files are skipped */
		free(src);
		free(sub);
	}
	closedir(d);
	free(src_dir);
	return rc;
}

static int write_manifest(struct backup_run *r, char **error_r)
{
	char *path = xasprintf("%s/%s", r->tmp, BACKUP_MANIFEST);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	fprintf(f, "roost-backup %d\nroost-version %s\nschema-version %ld\ncreated %" PRId64 "\n",
		BACKUP_FORMAT, ROOST_VERSION, r->m.schema_version, r->m.created);
	for (size_t i = 0; i < r->m.nfiles; i++)
		fprintf(f, "file %s %" PRId64 " %s\n", r->m.files[i].sha256, r->m.files[i].size,
			r->m.files[i].path);
	int rc = 0;
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (fclose(f) != 0 && rc == 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
}

/* DEST inside the data directory would copy itself. */
static bool inside(const char *datadir, const char *dest)
{
	char *parent = xstrdup(dest);
	char *slash = strrchr(parent, '/');
	if (slash == NULL) {
		free(parent);
		parent = xstrdup(".");
	} else if (slash == parent) {
		parent[1] = '\0';
	} else {
		*slash = '\0';
	}
	char rd[PATH_MAX], rp[PATH_MAX];
	bool in = realpath(datadir, rd) != NULL && realpath(parent, rp) != NULL &&
		  strncmp(rp, rd, strlen(rd)) == 0 && (rp[strlen(rd)] == '\0' || rp[strlen(rd)] == '/');
	free(parent);
	return in;
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	const char *dest = argv[0];
	if (strcmp(config_str(cli->cfg, "store.backend"), "postgresql") == 0)
		return cli_fail(cli, CLI_EX_ERROR, "the store is in PostgreSQL (store.backend):"
				" back it up with pg_dump or a replica; roost backup copies a"
				" SQLite store");
	/* the database alone would be a backup without the message bytes */
	if (strncmp(config_str(cli->cfg, "store.content"), "dir:", 4) == 0)
		return cli_fail(cli, CLI_EX_ERROR, "the message bytes are in the content directory"
				" %s (store.content): roost backup copies the database alone; stop"
				" the daemon and copy DATADIR and that directory together",
				config_str(cli->cfg, "store.content") + 4);
	if (inside(cli->datadir, dest))
		return cli_fail(cli, CLI_EX_ERROR, "%s: inside the data directory %s", dest,
				cli->datadir);
	struct stat st;
	if (stat(dest, &st) == 0) {
		char *mpath = xasprintf("%s/%s", dest, BACKUP_MANIFEST);
		bool is_backup = S_ISDIR(st.st_mode) && access(mpath, F_OK) == 0;
		free(mpath);
		if (!is_backup)
			return cli_fail(cli, CLI_EX_ERROR,
					"%s exists and is not a Roost backup: not replaced", dest);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *tmp = xasprintf("%s.tmp", dest);
	/* A DEST.tmp left by a backup that was killed is garbage. */
	backup_remove_tree(tmp);
	struct backup_run r = {.cli = cli, .datadir = cli->datadir, .tmp = tmp};
	r.m.created = (int64_t)time(NULL);
	char *error = NULL;
	int rc = 0;
	if (mkdir(tmp, 0700) < 0) {
		error = xasprintf("%s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0) {
		char *db = xasprintf("%s/roost.db", tmp);
		enum store_err err = store_backup_db(cli->datadir, db, &r.m.schema_version, &error);
		int fd = err == STORE_OK ? open(db, O_RDONLY | O_CLOEXEC) : -1;
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		free(db);
		rc = err == STORE_OK ? add_file(&r, "roost.db", &error) : -1;
	}
	if (rc == 0)
		rc = copy_tree(&r, "", 0, &error);
	if (rc == 0)
		rc = write_manifest(&r, &error);
	if (rc == 0) {
		backup_sync_dir(tmp);
		if (stat(dest, &st) == 0) {
			if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_EXCHANGE) < 0) {
				error = xasprintf("exchanging %s and %s: %s", tmp, dest,
						  strerror(errno));
				rc = -1;
			}
		} else if (rename(tmp, dest) < 0) {
			error = xasprintf("renaming %s to %s: %s", tmp, dest, strerror(errno));
			rc = -1;
		}
	}
	if (rc == 0) {
		char *parent = parent_of(dest);
		backup_sync_dir(parent);
		free(parent);
	}
	/* After the exchange tmp names the previous backup; after a failure
	 * the partial copy. Either way it goes. */
	backup_remove_tree(tmp);
	free(tmp);
	if (rc < 0) {
		backup_manifest_free(&r.m);
		int code = cli_fail(cli, CLI_EX_ERROR, "backup: %s", error ? error : "failed");
		free(error);
		return code;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(cli->out, "backup %s: %zu files, %" PRId64 " bytes, schema %ld, %.2f s\n", dest,
		r.m.nfiles, r.bytes, r.m.schema_version, secs);
	backup_manifest_free(&r.m);
	return CLI_EX_OK;
}

struct verify_out {
	FILE *out;
	size_t printed;
};

static void verify_line(void *ctx, const char *line)
{
	struct verify_out *o = ctx;
	if (o->printed++ < BACKUP_VERIFY_MAX_LINES)
		fprintf(o->out, "roost.db: %s\n", line);
}

int cmd_backup_verify(struct cli *cli, int argc, char **argv)
{
	const char *src = argv[0];
	struct backup_manifest m;
	char *error = NULL;
	if (backup_manifest_read(src, &m, &error) < 0) {
		int code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		return code;
	}
	size_t problems = backup_check_files(src, &m, cli->out);
	if (problems == 0) {
		/* store_check (integrity_check and roost check's invariants) on
		 * a scratch copy: opening a database may write to it (WAL,
		 * schema upgrade) and the backup must stay as it was. */
		char *tmpl = xasprintf("%s.verify-XXXXXX", src);
		char *scratch = mkdtemp(tmpl);
		enum store_err err = STORE_ETEMP;
		size_t n = 0;
		if (scratch == NULL) {
			error = xasprintf("%s: %s", tmpl, strerror(errno));
		} else {
			char *from = xasprintf("%s/roost.db", src);
			char *to = xasprintf("%s/roost.db", scratch);
			if (backup_copy_file(from, to, 0600, &error) == 0) {
				struct store_settings settings = {.default_quota_bytes = -1,
								  .default_quota_messages = -1};
				struct store *s = NULL;
				err = store_open(scratch, &settings, &s, &error);
				if (err == STORE_OK) {
					struct verify_out o = {.out = cli->out};
					err = store_check(s, false, verify_line, &o, &n, &error);
				}
				store_close(&s);
			}
			free(from);
			free(to);
			backup_remove_tree(scratch);
		}
		free(tmpl);
		if (err != STORE_OK) {
			fprintf(cli->out, "roost.db: cannot be checked: %s\n",
				error ? error : store_strerror(err));
			problems++;
		}
		problems += n;
		free(error);
	}
	if (problems == 0)
		fprintf(cli->out, "ok: %zu files, schema %ld, roost %s, created %" PRId64 "\n",
			m.nfiles, m.schema_version, m.roost_version ? m.roost_version : "?",
			m.created);
	else
		fprintf(cli->out, "problems: %zu\n", problems);
	backup_manifest_free(&m);
	return problems == 0 ? CLI_EX_OK : CLI_EX_ERROR;
}
