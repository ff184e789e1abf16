/*
 * store-backup: the database half of `roost backup` and `roost restore`
 * (the CLI copies the other files of the data directory and writes the
 * manifest). The copy is a consistent snapshot of a live database, taken
 * without the daemon's help.
 */
#ifndef ROOST_STORE_BACKUP_H
#define ROOST_STORE_BACKUP_H
#include "store/store.h"

/* Copy DIR/roost.db into dest_path (which must not exist) as one
 * consistent snapshot, and say its schema version. Opens its own
 * read-only connection: safe while a daemon serves the directory (WAL:
 * the snapshot never blocks the writer). */
enum store_err store_backup_db(const char *dir, const char *dest_path, long *schema_version_r,
			       char **error_r);
/* The schema version of the database file at path, opened read-only. */
enum store_err store_backup_schema_version(const char *path, long *version_r, char **error_r);
#endif
