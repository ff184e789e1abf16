/*
 * db-driver: what a backend provides to db.c. db.c checks arguments that
 * are the same for every backend, then calls through the connection's
 * driver. Each driver's struct db / struct db_stmt begins with the common
 * header below, so db.c can find the driver without knowing the rest.
 */
#ifndef ROOST_STORE_DB_DRIVER_H
#define ROOST_STORE_DB_DRIVER_H

#include "store/db/db.h"

struct db_driver;

struct db {
	const struct db_driver *driver;
	int open_flags;		/* DB_OPEN_* as given to db_open (db.c sets it) */
};

struct db_stmt {
	const struct db_driver *driver;
	struct db *db;
	const char *sql;	/* as given to db_prepare (the caller's string) */
};

struct db_driver {
	const char *name;	/* "sqlite", "postgresql" */
	enum db_backend backend;

	enum db_rc (*open)(const char *target, int flags, struct db **db_r, char **error_r);
	void (*close)(struct db *db);
	enum db_rc (*exec)(struct db *db, const char *sql, char **error_r);

	enum db_rc (*prepare)(struct db *db, const char *sql, struct db_stmt **st_r);
	void (*finalize)(struct db_stmt *st);

	enum db_rc (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	enum db_rc (*bind_text)(struct db_stmt *st, int i, const char *v, int len, bool stable);
	enum db_rc (*bind_blob)(struct db_stmt *st, int i, const void *v, size_t len, bool stable);
	enum db_rc (*bind_null)(struct db_stmt *st, int i);
	enum db_rc (*bind_column)(struct db_stmt *st, int i, struct db_stmt *src, int col);
	void (*clear_bindings)(struct db_stmt *st);

	enum db_rc (*step)(struct db_stmt *st);
	/* db_step_deferred; NULL = the same as step */
	enum db_rc (*step_deferred)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	bool (*stmt_busy)(const struct db_stmt *st);

	int (*column_count)(const struct db_stmt *st);
	enum db_type (*column_type)(struct db_stmt *st, int col);
	int64_t (*column_int64)(struct db_stmt *st, int col);
	const char *(*column_text)(struct db_stmt *st, int col);
	const void *(*column_blob)(struct db_stmt *st, int col);
	size_t (*column_bytes)(struct db_stmt *st, int col);

	int64_t (*changes)(struct db *db);
	bool (*in_transaction)(struct db *db);
	const char *(*errmsg)(struct db *db);
};

extern const struct db_driver db_sqlite_driver;
/* Defined by db-pg.c when the PostgreSQL driver is built in
 * (ROOST_HAVE_PG), else db.c refuses DB_POSTGRESQL. */
extern const struct db_driver db_pg_driver;

#endif
