/*
 * db-sqlite: the embedded SQLite backend of db.h. A thin layer: struct db
 * wraps a sqlite3*, struct db_stmt a sqlite3_stmt*, every call is the
 * SQLite call of the same name, and nothing is copied (a `stable` bind is
 * SQLITE_STATIC, anything else SQLITE_TRANSIENT, which is SQLite's own
 * copy). The connection keeps a list of its statements so db_close can
 * finalize them: the store's statement cache never finalizes its own.
 */
#include "store/db/db-driver.h"
#include "lib/alloc.h"
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct db_sqlite {
	struct db base;
	sqlite3 *h;
	struct db_sqlite_stmt *stmts;	/* every statement prepared here */
};

struct db_sqlite_stmt {
	struct db_stmt base;
	sqlite3_stmt *h;
	struct db_sqlite_stmt *prev, *next;
};

#define CONN(db) ((struct db_sqlite *)(db))
#define STMT(st) ((struct db_sqlite_stmt *)(st))

static enum db_rc map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: return DB_OK;
	case SQLITE_ROW: return DB_ROW;
	case SQLITE_DONE: return DB_DONE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return DB_BUSY;
	case SQLITE_CONSTRAINT: return DB_CONSTRAINT;
	case SQLITE_FULL: return DB_FULL;
	case SQLITE_IOERR: return DB_IOERR;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return DB_CORRUPT;
	case SQLITE_TOOBIG: return DB_TOOBIG;
	default: return DB_ERROR;
	}
}

static enum db_rc sq_open(const char *target, int flags, struct db **db_r, char **error_r)
{
	int oflags = SQLITE_OPEN_NOMUTEX;
	if ((flags & DB_OPEN_READONLY) != 0)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE;
	if ((flags & DB_OPEN_CREATE) != 0)
		oflags |= SQLITE_OPEN_CREATE;
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(target, &h, oflags, NULL);
	if (rc != SQLITE_OK) {
		if (error_r != NULL)
			*error_r = xasprintf("%s: %s", target, h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return map_rc(rc) == DB_OK ? DB_ERROR : map_rc(rc);
	}
	struct db_sqlite *db = xcalloc(1, sizeof(*db));
	db->base.driver = &db_sqlite_driver;
	db->h = h;
	*db_r = &db->base;
	return DB_OK;
}

static void unlink_stmt(struct db_sqlite *db, struct db_sqlite_stmt *st)
{
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		db->stmts = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
}

static void sq_finalize(struct db_stmt *st)
{
	struct db_sqlite_stmt *s = STMT(st);
	unlink_stmt(CONN(st->db), s);
	sqlite3_finalize(s->h);
	free(s);
}

static void sq_close(struct db *db)
{
	struct db_sqlite *c = CONN(db);
	while (c->stmts != NULL)
		sq_finalize(&c->stmts->base);
	/* FTS5's own statements are finalized when its tables disconnect,
	 * which sqlite3_close does before it checks for open statements. */
	sqlite3_close(c->h);
	free(c);
}

static enum db_rc sq_exec(struct db *db, const char *sql, char **error_r)
{
	char *msg = NULL;
	int rc = sqlite3_exec(CONN(db)->h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK && error_r != NULL)
		*error_r = xstrdup(msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc == SQLITE_OK ? DB_OK : (map_rc(rc) == DB_OK ? DB_ERROR : map_rc(rc));
}

static enum db_rc sq_prepare(struct db *db, const char *sql, struct db_stmt **st_r)
{
	struct db_sqlite *c = CONN(db);
	sqlite3_stmt *h = NULL;
	/* PERSISTENT: the store caches its statements for the connection's
	 * life, so they should not take the lookaside memory. */
	int rc = sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &h, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(h);
		return map_rc(rc) == DB_OK ? DB_ERROR : map_rc(rc);
	}
	if (h == NULL)
		return DB_ERROR;	/* empty SQL: nothing to run */
	struct db_sqlite_stmt *st = xcalloc(1, sizeof(*st));
	st->base.driver = &db_sqlite_driver;
	st->base.db = db;
	st->base.sql = sql;
	st->h = h;
	st->next = c->stmts;
	if (c->stmts != NULL)
		c->stmts->prev = st;
	c->stmts = st;
	*st_r = &st->base;
	return DB_OK;
}

static enum db_rc sq_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return map_rc(sqlite3_bind_int64(STMT(st)->h, i, v));
}

static enum db_rc sq_bind_text(struct db_stmt *st, int i, const char *v, int len, bool stable)
{
	return map_rc(sqlite3_bind_text(STMT(st)->h, i, v, len, stable ? SQLITE_STATIC : SQLITE_TRANSIENT));
}

static enum db_rc sq_bind_blob(struct db_stmt *st, int i, const void *v, size_t len, bool stable)
{
	return map_rc(sqlite3_bind_blob64(STMT(st)->h, i, v, (sqlite3_uint64)len,
					  stable ? SQLITE_STATIC : SQLITE_TRANSIENT));
}

static enum db_rc sq_bind_null(struct db_stmt *st, int i)
{
	return map_rc(sqlite3_bind_null(STMT(st)->h, i));
}

static enum db_rc sq_bind_column(struct db_stmt *st, int i, struct db_stmt *src, int col)
{
	return map_rc(sqlite3_bind_value(STMT(st)->h, i, sqlite3_column_value(STMT(src)->h, col)));
}

static void sq_clear_bindings(struct db_stmt *st)
{
	sqlite3_clear_bindings(STMT(st)->h);
}

static enum db_rc sq_step(struct db_stmt *st)
{
	int rc = sqlite3_step(STMT(st)->h);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	enum db_rc r = map_rc(rc);
	return r == DB_OK ? DB_ERROR : r;
}

static void sq_reset(struct db_stmt *st)
{
	sqlite3_reset(STMT(st)->h);
}

static bool sq_stmt_busy(const struct db_stmt *st)
{
	return sqlite3_stmt_busy(STMT(st)->h) != 0;
}

static int sq_column_count(const struct db_stmt *st)
{
	return sqlite3_column_count(STMT(st)->h);
}

static enum db_type sq_column_type(struct db_stmt *st, int col)
{
	switch (sqlite3_column_type(STMT(st)->h, col)) {
	case SQLITE_INTEGER: return DB_TYPE_INTEGER;
	case SQLITE_FLOAT: return DB_TYPE_FLOAT;
	case SQLITE_TEXT: return DB_TYPE_TEXT;
	case SQLITE_BLOB: return DB_TYPE_BLOB;
	default: return DB_TYPE_NULL;
	}
}

static int64_t sq_column_int64(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(STMT(st)->h, col);
}

static const char *sq_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(STMT(st)->h, col);
}

static const void *sq_column_blob(struct db_stmt *st, int col)
{
	return sqlite3_column_blob(STMT(st)->h, col);
}

static size_t sq_column_bytes(struct db_stmt *st, int col)
{
	int n = sqlite3_column_bytes(STMT(st)->h, col);
	return n > 0 ? (size_t)n : 0;
}

static int64_t sq_changes(struct db *db)
{
	return sqlite3_changes64(CONN(db)->h);
}

static bool sq_in_transaction(struct db *db)
{
	return sqlite3_get_autocommit(CONN(db)->h) == 0;
}

static const char *sq_errmsg(struct db *db)
{
	return sqlite3_errmsg(CONN(db)->h);
}

const struct db_driver db_sqlite_driver = {
	.name = "sqlite",
	.backend = DB_SQLITE,
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.bind_int64 = sq_bind_int64,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.bind_column = sq_bind_column,
	.clear_bindings = sq_clear_bindings,
	.step = sq_step,
	.reset = sq_reset,
	.stmt_busy = sq_stmt_busy,
	.column_count = sq_column_count,
	.column_type = sq_column_type,
	.column_int64 = sq_column_int64,
	.column_text = sq_column_text,
	.column_blob = sq_column_blob,
	.column_bytes = sq_column_bytes,
	.changes = sq_changes,
	.in_transaction = sq_in_transaction,
	.errmsg = sq_errmsg,
};

struct sqlite3 *db_sqlite(struct db *db)
{
	if (db == NULL || db->driver != &db_sqlite_driver)
		return NULL;
	return CONN(db)->h;
}
