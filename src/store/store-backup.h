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
/* Restore one account (normalised address) from the backup database at
 * db_path into the live store, through the writer in one transaction
 * (store-restore.c). STORE_EEXISTS when the account exists, ENOTFOUND
 * when it is not in the backup or its domain is not hosted here, EINVAL
 * when the schema versions differ; *error_r says which. */
enum store_err store_restore_account(struct store *s, const char *db_path, const char *address,
				     size_t *nmailboxes_r, size_t *nmessages_r, char **error_r);
#endif
