/*
 * db: db.h implemented by dispatching through the connection's driver
 * (db-driver.h). Nothing here knows a library; the checks are the ones
 * every backend shares.
 */
#include "store/db/db-driver.h"
#include "lib/alloc.h"
#include <stdlib.h>

static const struct db_driver *driver_for(enum db_backend backend)
{
	switch (backend) {
	case DB_SQLITE:
		return &db_sqlite_driver;
	case DB_POSTGRESQL:
#ifdef ROOST_HAVE_PG
		return &db_pg_driver;
#else
		return NULL;
#endif
	}
	return NULL;
}

enum db_rc db_open(enum db_backend backend, const char *target, int flags,
		   struct db **db_r, char **error_r)
{
	*db_r = NULL;
	const struct db_driver *d = driver_for(backend);
	if (d == NULL) {
		if (error_r != NULL)
			*error_r = xasprintf("%s: %s", target,
					     backend == DB_POSTGRESQL ? "PostgreSQL backend not built"
								      : "unknown database backend");
		return DB_ERROR;
	}
	enum db_rc rc = d->open(target, flags, db_r, error_r);
	if (rc == DB_OK)
		(*db_r)->open_flags = flags;
	return rc;
}

bool db_readonly(const struct db *db)
{
	return (db->open_flags & DB_OPEN_READONLY) != 0;
}

void db_close(struct db *db)
{
	if (db != NULL)
		db->driver->close(db);
}

enum db_backend db_backend_of(const struct db *db)
{
	return db->driver->backend;
}

enum db_rc db_exec(struct db *db, const char *sql, char **error_r)
{
	return db->driver->exec(db, sql, error_r);
}

enum db_rc db_prepare(struct db *db, const char *sql, struct db_stmt **st_r)
{
	*st_r = NULL;
	return db->driver->prepare(db, sql, st_r);
}

void db_finalize(struct db_stmt *st)
{
	if (st != NULL)
		st->driver->finalize(st);
}

const char *db_sql(const struct db_stmt *st)
{
	return st->sql;
}

struct db *db_of(const struct db_stmt *st)
{
	return st->db;
}

enum db_rc db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return st->driver->bind_int64(st, i, v);
}

enum db_rc db_bind_int(struct db_stmt *st, int i, int v)
{
	return st->driver->bind_int64(st, i, v);
}

enum db_rc db_bind_text(struct db_stmt *st, int i, const char *v, int len, bool stable)
{
	if (v == NULL)
		return st->driver->bind_null(st, i);
	return st->driver->bind_text(st, i, v, len, stable);
}

enum db_rc db_bind_blob(struct db_stmt *st, int i, const void *v, size_t len, bool stable)
{
	/* A NULL pointer is SQL NULL (SQLite's rule), even with len > 0. */
	if (v == NULL)
		return st->driver->bind_null(st, i);
	return st->driver->bind_blob(st, i, v, len, stable);
}

enum db_rc db_bind_null(struct db_stmt *st, int i)
{
	return st->driver->bind_null(st, i);
}

enum db_rc db_bind_column(struct db_stmt *st, int i, struct db_stmt *src, int col)
{
	if (src->driver == st->driver)
		return st->driver->bind_column(st, i, src, col);
	/* Across backends (restoring a SQLite backup into another backend):
	 * by type, copying, since src moves on before st runs. */
	switch (db_column_type(src, col)) {
	case DB_TYPE_NULL:
		return db_bind_null(st, i);
	case DB_TYPE_INTEGER:
		return db_bind_int64(st, i, db_column_int64(src, col));
	case DB_TYPE_FLOAT:
	case DB_TYPE_TEXT: {
		const char *t = db_column_text(src, col);
		size_t n = db_column_bytes(src, col);
		if (n > INT32_MAX)
			return DB_TOOBIG;
		return db_bind_text(st, i, t, (int)n, false);
	}
	case DB_TYPE_BLOB:
		return db_bind_blob(st, i, db_column_blob(src, col), db_column_bytes(src, col), false);
	}
	return DB_ERROR;
}

void db_clear_bindings(struct db_stmt *st)
{
	st->driver->clear_bindings(st);
}

enum db_rc db_step(struct db_stmt *st)
{
	return st->driver->step(st);
}

enum db_rc db_step_deferred(struct db_stmt *st)
{
	if (st->driver->step_deferred == NULL)
		return st->driver->step(st);
	return st->driver->step_deferred(st);
}

void db_reset(struct db_stmt *st)
{
	st->driver->reset(st);
}

bool db_stmt_busy(const struct db_stmt *st)
{
	return st->driver->stmt_busy(st);
}

int db_column_count(const struct db_stmt *st)
{
	return st->driver->column_count(st);
}

enum db_type db_column_type(struct db_stmt *st, int col)
{
	return st->driver->column_type(st, col);
}

int64_t db_column_int64(struct db_stmt *st, int col)
{
	return st->driver->column_int64(st, col);
}

int db_column_int(struct db_stmt *st, int col)
{
	return (int)st->driver->column_int64(st, col);
}

const char *db_column_text(struct db_stmt *st, int col)
{
	return st->driver->column_text(st, col);
}

const void *db_column_blob(struct db_stmt *st, int col)
{
	return st->driver->column_blob(st, col);
}

size_t db_column_bytes(struct db_stmt *st, int col)
{
	return st->driver->column_bytes(st, col);
}

int64_t db_changes(struct db *db)
{
	return db->driver->changes(db);
}

bool db_in_transaction(struct db *db)
{
	return db->driver->in_transaction(db);
}

const char *db_errmsg(struct db *db)
{
	return db->driver->errmsg(db);
}

const char *db_errstr(enum db_rc rc)
{
	switch (rc) {
	case DB_OK: return "ok";
	case DB_ROW: return "another row is available";
	case DB_DONE: return "no more rows";
	case DB_BUSY: return "database is locked";
	case DB_CONSTRAINT: return "constraint failed";
	case DB_FULL: return "database or disk is full";
	case DB_IOERR: return "disk I/O error";
	case DB_CORRUPT: return "database disk image is malformed";
	case DB_TOOBIG: return "string or blob too big";
	case DB_ERROR: return "SQL logic error";
	}
	return "unknown error";
}
