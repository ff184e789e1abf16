/*
 * db-pg: the PostgreSQL driver's own pieces that its tests reach (the
 * driver itself is db_pg_driver of db-driver.h). Built with ROOST_HAVE_PG.
 */
#ifndef ROOST_STORE_DB_PG_H
#define ROOST_STORE_DB_PG_H

#include "store/db/db.h"

/* The common dialect of db.h as PostgreSQL text: ?N and ? become $N
 * (a bare ? takes the highest number so far plus one, as in SQLite),
 * INSERT OR IGNORE INTO gains ON CONFLICT DO NOTHING (before a RETURNING),
 * BEGIN IMMEDIATE becomes BEGIN; string literals, quoted identifiers,
 * dollar-quoted bodies and comments are copied untouched. Returns the new
 * text (caller frees) with *nparams_r, the highest parameter number, or
 * NULL and *error_r (caller frees) for an unterminated quote, a ?0 or a
 * parameter number above PostgreSQL's 65535. */
char *db_pg_rewrite(const char *sql, int *nparams_r, char **error_r);

/* The db_rc of a SQLSTATE (NULL: DB_ERROR). */
enum db_rc db_pg_rc(const char *sqlstate);

/* Test hook (store-fault.c, lost commits): cuts the connection's socket,
 * as a network cut or a server that died would; the next round trip
 * finds it broken. Nothing on another backend. */
void db_pg_debug_sever(struct db *db);

/* The schema version db_pg_schema_sql creates: store-schema.c's. */
#define DB_PG_SCHEMA_VERSION 8

/* The store's schema (DB_PG_SCHEMA_VERSION) for an empty PostgreSQL
 * database, as one db_exec text (db-pg-schema.c). */
extern const char db_pg_schema_sql[];
/* The first version a PostgreSQL store was made with; db_pg_upgrades[i]
 * takes one from version DB_PG_SCHEMA_FIRST + i to the next. */
#define DB_PG_SCHEMA_FIRST 7
extern const char *const db_pg_upgrades[DB_PG_SCHEMA_VERSION - DB_PG_SCHEMA_FIRST];
/* The full-text index (pg_trgm), made apart from it, and the query that
 * tells whether it is there: see db-pg-schema.c. */
extern const char db_pg_fts_sql[];
extern const char db_pg_fts_present_sql[];

#endif
