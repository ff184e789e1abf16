/*
 * db-shim: the db.h calls for pg-driver-test while db.c (the backend
 * dispatch) is not in the build: each call goes straight through the
 * connection's driver. Linked only when src/store/db/db.c is not part of
 * libroost.a (see the Makefile), never in roost itself.
 */
#include "store/db/db-driver.h"
#include "lib/alloc.h"
#include <stdio.h>

enum db_rc db_open(enum db_backend backend, const char *target, int flags,
		   struct db **db_r, char **error_r)
{
	if (backend != DB_POSTGRESQL) {
		*error_r = xstrdup("db-shim: only the PostgreSQL driver is linked");
		return DB_ERROR;
	}
	return db_pg_driver.open(target, flags, db_r, error_r);
}

void db_close(struct db *db)
{
	if (db != NULL)
		db->driver->close(db);
}

enum db_backend db_backend_of(const struct db *db) { return db->driver->backend; }
enum db_rc db_exec(struct db *db, const char *sql, char **error_r)
{
	return db->driver->exec(db, sql, error_r);
}
enum db_rc db_prepare(struct db *db, const char *sql, struct db_stmt **st_r)
{
	return db->driver->prepare(db, sql, st_r);
}
void db_finalize(struct db_stmt *st)
{
	if (st != NULL)
		st->driver->finalize(st);
}
const char *db_sql(const struct db_stmt *st) { return st->sql; }
struct db *db_of(const struct db_stmt *st) { return st->db; }
enum db_rc db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return st->driver->bind_int64(st, i, v);
}
enum db_rc db_bind_int(struct db_stmt *st, int i, int v) { return st->driver->bind_int64(st, i, v); }
enum db_rc db_bind_text(struct db_stmt *st, int i, const char *v, int len, bool stable)
{
	return st->driver->bind_text(st, i, v, len, stable);
}
enum db_rc db_bind_blob(struct db_stmt *st, int i, const void *v, size_t len, bool stable)
{
	return st->driver->bind_blob(st, i, v, len, stable);
}
enum db_rc db_bind_null(struct db_stmt *st, int i) { return st->driver->bind_null(st, i); }
enum db_rc db_bind_column(struct db_stmt *st, int i, struct db_stmt *src, int col)
{
	return st->driver->bind_column(st, i, src, col);
}
void db_clear_bindings(struct db_stmt *st) { st->driver->clear_bindings(st); }
enum db_rc db_step(struct db_stmt *st) { return st->driver->step(st); }
void db_reset(struct db_stmt *st) { st->driver->reset(st); }
bool db_stmt_busy(const struct db_stmt *st) { return st->driver->stmt_busy(st); }
int db_column_count(const struct db_stmt *st) { return st->driver->column_count(st); }
enum db_type db_column_type(struct db_stmt *st, int col) { return st->driver->column_type(st, col); }
int64_t db_column_int64(struct db_stmt *st, int col) { return st->driver->column_int64(st, col); }
int db_column_int(struct db_stmt *st, int col) { return (int)st->driver->column_int64(st, col); }
const char *db_column_text(struct db_stmt *st, int col) { return st->driver->column_text(st, col); }
const void *db_column_blob(struct db_stmt *st, int col) { return st->driver->column_blob(st, col); }
size_t db_column_bytes(struct db_stmt *st, int col) { return st->driver->column_bytes(st, col); }
int64_t db_changes(struct db *db) { return db->driver->changes(db); }
bool db_in_transaction(struct db *db) { return db->driver->in_transaction(db); }
const char *db_errmsg(struct db *db) { return db->driver->errmsg(db); }
const char *db_errstr(enum db_rc rc)
{
	static const char *const names[] = {"ok", "row", "done", "busy", "constraint",
					    "full", "ioerr", "corrupt", "toobig", "error"};
	return (unsigned)rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "unknown";
}
struct sqlite3 *db_sqlite(struct db *db) { return NULL; }
