/*
 * store-copy: `roost store copy`: the whole store of a data directory
 * into a new, empty one on the other backend (SQLite DIR/roost.db <->
 * a PostgreSQL database), keeping everything a client sees: every UID,
 * UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, MODSEQ, flag and keyword, POP3
 * UIDL and state, EMAILID/THREADID, the expunge log, subscriptions,
 * METADATA, Sieve scripts, app passwords, the outbound queue.
 *
 * The daemon must not run on the source (the CLI checks); the copy reads
 * one snapshot of the source and writes the target in one transaction,
 * per account through store-restore.c's copy. The source is not changed.
 */
#ifndef ROOST_STORE_COPY_H
#define ROOST_STORE_COPY_H
#include "store/store.h"

struct db;
struct db_stmt;
struct store_txn;

struct store_copy_counts {
	size_t domains, aliases, accounts, mailboxes, messages, queued;
};

/* Copy the store settings->pg_conninfo names ("" = SQLite, DIR/roost.db)
 * into to_pg_conninfo's database, which must hold no table (NULL: into a
 * new DIR/roost.db, which must not exist; it is written as a temporary
 * file and renamed into place at the end). settings: the source's, the
 * target gets the same apart from the backend. On failure nothing is
 * half-usable: a SQLite target is removed; a PostgreSQL target keeps the
 * schema marked as an incomplete copy (a store_open of it fails), and
 * *target_left_r says so (drop and recreate that database before trying
 * again). STORE_EEXISTS: the target is not empty / DIR/roost.db exists;
 * STORE_EINUSE: other sessions use the PostgreSQL source. */
enum store_err store_copy(const char *dir, const struct store_settings *settings,
			  const char *to_pg_conninfo, struct store_copy_counts *counts_r,
			  bool *target_left_r, char **error_r);

/*
 * Inside src/store/ only: what store-copy.c shares with store-restore.c.
 */

/* Rows fetched per round trip from a PostgreSQL source cursor. */
#define STORE_SRC_FETCH_ROWS 64

/* A SELECT's rows from a source connection, streamed: SQLite steps the
 * statement; on PostgreSQL it runs as a cursor, which needs a transaction
 * open on the source. Open, bind parameters on store_src_rows_stmt(),
 * step (DB_ROW, DB_DONE or an error), read columns of
 * store_src_rows_row(), close. */
struct store_src_rows {
	struct db *db;
	struct db_stmt *query, *fetch, *row;
	char cursor[32];
	bool declared;
	int nbatch;
};
int store_src_rows_open(struct store_src_rows *r, struct db *db, const char *select_sql);
struct db_stmt *store_src_rows_stmt(struct store_src_rows *r);
int store_src_rows_step(struct store_src_rows *r);
struct db_stmt *store_src_rows_row(struct store_src_rows *r);
void store_src_rows_close(struct store_src_rows *r);

struct store_restore_result {
	int64_t old_account_id, new_account_id;
	size_t nmailboxes, nmessages;
};
/* Copy one account (normalised address) from src (src_name names it in
 * errors) inside txn, as store_restore_account does: the account must
 * not exist, its domain must. */
enum store_err store_restore_account_txn(struct store_txn *txn, struct db *src,
					 const char *src_name, const char *address,
					 struct store_restore_result *result_r, char **error_r);
#endif
