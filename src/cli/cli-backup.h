/*
 * cli-backup: the backup directory format shared by `roost backup`,
 * `roost backup verify` (cmd-backup.c) and `roost restore`.
 *
 * A backup is a directory:
 *   MANIFEST      written last; "roost-backup 1" then "key value" lines
 *                 (roost-version, schema-version, created unix time) and
 *                 one "file <sha256 hex> <size> <path>" line per file
 *   roost.db      VACUUM INTO snapshot of the database (store-backup.c)
 *   roost.conf, tls/..., every other regular file of the data directory
 *                 (not the database's -wal/-shm, sockets, upgrade .baks)
 */
#ifndef ROOST_CLI_BACKUP_H
#define ROOST_CLI_BACKUP_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BACKUP_FORMAT 1
#define BACKUP_MANIFEST "MANIFEST"
/* Largest MANIFEST read back, and deepest directory copied. */
#define BACKUP_MAX_MANIFEST (4 * 1024 * 1024)
#define BACKUP_MAX_DEPTH 8

struct backup_file {
	char *path; /* relative to the backup directory */
	char sha256[65];
	int64_t size;
};

struct backup_manifest {
	int format;
	long schema_version;
	int64_t created;
	char *roost_version;
	struct backup_file *files;
	size_t nfiles, cap;
};

/* Parse DIR/MANIFEST. 0, or -1 with *error_r. */
int backup_manifest_read(const char *dir, struct backup_manifest *m, char **error_r);
void backup_manifest_free(struct backup_manifest *m);
/* Check every listed file's size and SHA-256, and that roost.db is
 * listed; one line per problem on `out`. Returns the problem count. */
size_t backup_check_files(const char *dir, const struct backup_manifest *m, FILE *out);
/* Copy src to dst (created with mode, must not exist) and fsync it. */
int backup_copy_file(const char *src, const char *dst, unsigned mode, char **error_r);
/* Remove a directory tree (at most BACKUP_MAX_DEPTH deep). */
void backup_remove_tree(const char *path);
/* fsync a directory so a rename or create in it is durable. */
void backup_sync_dir(const char *path);
#endif
