/*
 * db: the one SQL interface the store talks to, with a backend for SQLite
 * (db-sqlite.c, the embedded default) and one for PostgreSQL (db-pg.c,
 * libpq). The store's logic (UIDs, MODSEQs, quotas, the change feed) is
 * written once above this line; only the drivers know a library.
 *
 * The calls mirror SQLite's statement API on purpose: prepare once, bind,
 * step until DB_DONE, reset. On PostgreSQL the first db_step after a reset
 * executes the statement (a named server-side prepared statement) and
 * buffers its rows; later steps walk them.
 *
 * The SQL the store writes is "the common dialect": what both SQLite 3.40
 * and PostgreSQL 15 accept, plus these, which db-pg.c rewrites:
 *   - parameters as ?N (numbered from 1) or ?  (numbered left to right);
 *   - INSERT OR IGNORE INTO t ...   (ON CONFLICT DO NOTHING on PostgreSQL);
 *   - BEGIN IMMEDIATE               (BEGIN);
 * Everything else SQLite-only (FTS5, PRAGMA, the online backup API, WAL
 * checkpoints) is reached through db_sqlite() and has a PostgreSQL
 * counterpart of its own, or is refused with a clear error on that backend.
 * New rows' ids come back through RETURNING, never a last-insert-id call.
 *
 * Status (2026-12-03): this header and db-driver.h come first; the
 * store itself still calls SQLite directly until its conversion (with
 * db.c, db-sqlite.c and db-pg.c) is merged. Nothing includes them yet.
 *
 * Thread rule: a connection and its statements are used by one thread at
 * a time (each worker has its own read connection, the writer its own).
 */
#ifndef ROOST_STORE_DB_H
#define ROOST_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;		/* a connection */
struct db_stmt;		/* a prepared statement on one connection */

enum db_backend {
	DB_SQLITE,
	DB_POSTGRESQL,
};

/* Result codes. DB_ROW and DB_DONE come from db_step only. */
enum db_rc {
	DB_OK = 0,
	DB_ROW,
	DB_DONE,
	DB_BUSY,	/* locked, or a serialization failure: retry the transaction */
	DB_CONSTRAINT,	/* a UNIQUE/CHECK/NOT NULL constraint failed */
	DB_FULL,	/* the disk (or the database's tablespace) is full */
	DB_IOERR,
	DB_CORRUPT,	/* not a database, or a damaged one */
	DB_TOOBIG,
	DB_ERROR,	/* anything else: SQL error, lost connection */
};

enum db_type {
	DB_TYPE_NULL,
	DB_TYPE_INTEGER,
	DB_TYPE_FLOAT,
	DB_TYPE_TEXT,
	DB_TYPE_BLOB,
};

/* db_open flags */
#define DB_OPEN_READONLY  0x1
#define DB_OPEN_CREATE    0x2	/* SQLite: create the file if missing */
/* PostgreSQL: a lost connection stays lost (for session state a new one
 * would not have, such as advisory locks); else the driver reconnects */
#define DB_OPEN_NO_RECONNECT 0x4
/* PostgreSQL: a database that does not answer now still gives a
 * connection, a broken one that its first statements open (as after a
 * lost one): a thread's first read during an outage fails, it does not
 * end the daemon. */
#define DB_OPEN_LAZY 0x8

/* Opens a connection. target: a file path (SQLite) or a libpq conninfo
 * string (PostgreSQL). On failure returns an error code and sets
 * *error_r (caller frees) to a message naming the target. */
enum db_rc db_open(enum db_backend backend, const char *target, int flags,
		   struct db **db_r, char **error_r);
/* Finalizes every statement still prepared on the connection, then closes. */
void db_close(struct db *db);
enum db_backend db_backend_of(const struct db *db);
/* Opened with DB_OPEN_READONLY. */
bool db_readonly(const struct db *db);

/* Runs one or more ;-separated statements without results. */
enum db_rc db_exec(struct db *db, const char *sql, char **error_r);

enum db_rc db_prepare(struct db *db, const char *sql, struct db_stmt **st_r);
void db_finalize(struct db_stmt *st);
const char *db_sql(const struct db_stmt *st);	/* as given to db_prepare */
struct db *db_of(const struct db_stmt *st);

/* Parameters are numbered from 1. Text and blobs are copied unless
 * `stable` is true, which promises the bytes stay valid and unchanged
 * until the statement is reset or the parameter is bound again (SQLite's
 * SQLITE_STATIC). len < 0 for text means "up to the NUL". */
enum db_rc db_bind_int64(struct db_stmt *st, int i, int64_t v);
enum db_rc db_bind_int(struct db_stmt *st, int i, int v);
enum db_rc db_bind_text(struct db_stmt *st, int i, const char *v, int len, bool stable);
enum db_rc db_bind_blob(struct db_stmt *st, int i, const void *v, size_t len, bool stable);
enum db_rc db_bind_null(struct db_stmt *st, int i);
/* Binds column `col` of the current row of `src` (same backend), type and all. */
enum db_rc db_bind_column(struct db_stmt *st, int i, struct db_stmt *src, int col);
void db_clear_bindings(struct db_stmt *st);

enum db_rc db_step(struct db_stmt *st);
/* For a statement whose answer the caller does not need (no rows, no
 * db_changes after it: an INSERT without RETURNING, an UPDATE, a
 * SAVEPOINT). DB_DONE or an error, as db_step. A backend may send it
 * without waiting (PostgreSQL: pipeline mode, so several such statements
 * and the next one that needs an answer cost one round trip): its error
 * then fails the next db_step or db_exec on the connection, which returns
 * that error instead of its own, and the transaction is failed as after
 * any error. So a unit of work that must know its own errors (a writer's
 * op) ends with a statement stepped with db_step (RELEASE), never with a
 * deferred one. Only inside a transaction: outside one, PostgreSQL would
 * run the statements up to the next waiting one as one implicit
 * transaction. Reset the statement before stepping it again. */
enum db_rc db_step_deferred(struct db_stmt *st);
/* Ready to run again with the same bindings; frees buffered rows. */
void db_reset(struct db_stmt *st);
bool db_stmt_busy(const struct db_stmt *st);	/* stepped, not yet reset */

/* Columns of the current row, numbered from 0. Pointers stay valid until
 * the next step, reset or finalize of the statement. Integers read from a
 * NULL are 0; text of a NULL is NULL; a blob of a NULL is NULL, 0 bytes. */
int db_column_count(const struct db_stmt *st);
enum db_type db_column_type(struct db_stmt *st, int col);
int64_t db_column_int64(struct db_stmt *st, int col);
int db_column_int(struct db_stmt *st, int col);
const char *db_column_text(struct db_stmt *st, int col);
const void *db_column_blob(struct db_stmt *st, int col);
size_t db_column_bytes(struct db_stmt *st, int col);

/* Rows changed by the last INSERT/UPDATE/DELETE on the connection. */
int64_t db_changes(struct db *db);
/* A transaction is open on the connection (SQLite: !get_autocommit). */
bool db_in_transaction(struct db *db);
const char *db_errmsg(struct db *db);	/* the last error on the connection */
const char *db_errstr(enum db_rc rc);

/* The SQLite handle under a SQLite connection, NULL on any other backend:
 * for the few SQLite-only features (FTS5, backup, checkpoints, hooks). */
struct sqlite3 *db_sqlite(struct db *db);

#endif
