/*
 * test-db: the contract of src/store/db/db.h on the SQLite driver: what
 * the store relies on and another driver must do the same way (binds,
 * steps, resets, NULLs, blobs with NUL bytes, RETURNING, changes, error
 * codes, transactions).
 */
#include "unit.h"
#include "store/db/db.h"
#include "lib/alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db *open_tmp(void)
{
	char *path = xasprintf("%s/t.db", unit_tmpdir());
	struct db *db = NULL;
	char *error = NULL;
	CHECK_INT(db_open(DB_SQLITE, path, DB_OPEN_CREATE, &db, &error), DB_OK);
	CHECK(error == NULL);
	free(path);
	if (db != NULL)
		CHECK_INT(db_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT,"
				      " name TEXT UNIQUE, n INTEGER, data BLOB, f REAL)", NULL), DB_OK);
	return db;
}

TEST(db_sqlite_bind_step_reset)
{
	struct db *db = open_tmp();
	if (db == NULL)
		return;
	CHECK_INT(db_backend_of(db), DB_SQLITE);
	CHECK(db_sqlite(db) != NULL);
	static const char ins_sql[] = "INSERT INTO t (name, n) VALUES (?1, ?2)";
	struct db_stmt *ins = NULL;
	CHECK_INT(db_prepare(db, ins_sql, &ins), DB_OK);
	CHECK(db_sql(ins) == ins_sql);	/* the caller's string, not a copy */
	CHECK(db_of(ins) == db);
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		CHECK_INT(db_bind_text(ins, 1, name, -1, false), DB_OK);
		CHECK_INT(db_bind_int64(ins, 2, (int64_t)1 << 40 | i), DB_OK);
		CHECK_INT(db_step(ins), DB_DONE);
		CHECK_INT(db_changes(db), 1);
		db_reset(ins);
	}
	struct db_stmt *q = NULL;
	CHECK_INT(db_prepare(db, "SELECT name, n FROM t WHERE n >= ? ORDER BY n", &q), DB_OK);
	CHECK_INT(db_bind_int64(q, 1, (int64_t)1 << 40 | 1), DB_OK);
	CHECK(!db_stmt_busy(q));
	CHECK_INT(db_step(q), DB_ROW);
	CHECK(db_stmt_busy(q));
	CHECK_INT(db_column_count(q), 2);
	CHECK_STR(db_column_text(q, 0), "n1");
	CHECK_INT(db_column_bytes(q, 0), 2);
	CHECK_INT(db_column_int64(q, 1), (int64_t)1 << 40 | 1);
	CHECK_INT(db_column_type(q, 1), DB_TYPE_INTEGER);
	CHECK_INT(db_step(q), DB_ROW);
	CHECK_STR(db_column_text(q, 0), "n2");
	CHECK_INT(db_step(q), DB_DONE);
	/* reset: runs again with the same bindings */
	db_reset(q);
	CHECK(!db_stmt_busy(q));
	CHECK_INT(db_step(q), DB_ROW);
	CHECK_STR(db_column_text(q, 0), "n1");
	db_reset(q);
	/* cleared bindings are NULL: nothing is >= NULL */
	db_clear_bindings(q);
	CHECK_INT(db_step(q), DB_DONE);
	db_reset(q);
	/* an UPDATE of every row */
	CHECK_INT(db_exec(db, "UPDATE t SET n = n + 1", NULL), DB_OK);
	CHECK_INT(db_changes(db), 3);
	db_finalize(q);
	/* ins is still prepared: db_close finalizes it */
	db_close(db);
}

TEST(db_sqlite_text_not_stable_is_copied)
{
	struct db *db = open_tmp();
	if (db == NULL)
		return;
	struct db_stmt *st = NULL;
	CHECK_INT(db_prepare(db, "SELECT ?1, ?2", &st), DB_OK);
	char buf[8] = "before";
	char blob[4] = {1, 2, 3, 4};
	CHECK_INT(db_bind_text(st, 1, buf, -1, false), DB_OK);
	CHECK_INT(db_bind_blob(st, 2, blob, sizeof(blob), false), DB_OK);
	memcpy(buf, "after!", 7);
	memset(blob, 9, sizeof(blob));
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_STR(db_column_text(st, 0), "before");
	CHECK_INT(db_column_bytes(st, 1), 4);
	CHECK(memcmp(db_column_blob(st, 1), "\1\2\3\4", 4) == 0);
	db_reset(st);
	/* stable: the bytes as they are when the statement runs */
	CHECK_INT(db_bind_text(st, 1, buf, 3, true), DB_OK);
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_STR(db_column_text(st, 0), "aft");
	db_finalize(st);
	db_close(db);
}

TEST(db_sqlite_nulls)
{
	struct db *db = open_tmp();
	if (db == NULL)
		return;
	struct db_stmt *ins = NULL;
	CHECK_INT(db_prepare(db, "INSERT INTO t (name, n, data) VALUES (?1, ?2, ?3)", &ins), DB_OK);
	CHECK_INT(db_bind_text(ins, 1, NULL, -1, true), DB_OK);
	CHECK_INT(db_bind_null(ins, 2), DB_OK);
	CHECK_INT(db_bind_blob(ins, 3, NULL, 5, true), DB_OK);
	CHECK_INT(db_step(ins), DB_DONE);
	db_finalize(ins);
	struct db_stmt *q = NULL;
	CHECK_INT(db_prepare(db, "SELECT name, n, data, name IS NULL AND n IS NULL AND data IS NULL"
				 " FROM t", &q), DB_OK);
	CHECK_INT(db_step(q), DB_ROW);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(db_column_type(q, i), DB_TYPE_NULL);
		CHECK_INT(db_column_int64(q, i), 0);
		CHECK_INT(db_column_int(q, i), 0);
	}
	CHECK(db_column_text(q, 0) == NULL);
	CHECK(db_column_blob(q, 2) == NULL);
	CHECK_INT(db_column_bytes(q, 2), 0);
	CHECK_INT(db_column_int(q, 3), 1);
	CHECK_INT(db_step(q), DB_DONE);
	db_finalize(q);
	db_close(db);
}

TEST(db_sqlite_blob_with_nul_bytes)
{
	struct db *db = open_tmp();
	if (db == NULL)
		return;
	static const unsigned char bytes[] = {0, 'a', 0, 0, 0xff, 'b', 0};
	struct db_stmt *ins = NULL;
	CHECK_INT(db_prepare(db, "INSERT INTO t (data) VALUES (?1) RETURNING length(data)", &ins),
		  DB_OK);
	CHECK_INT(db_bind_blob(ins, 1, bytes, sizeof(bytes), true), DB_OK);
	CHECK_INT(db_step(ins), DB_ROW);
	CHECK_INT(db_column_int64(ins, 0), sizeof(bytes));
	CHECK_INT(db_step(ins), DB_DONE);
	db_finalize(ins);
	/* an empty, non-NULL blob stays a blob, not NULL */
	CHECK_INT(db_prepare(db, "INSERT INTO t (data) VALUES (?1)", &ins), DB_OK);
	CHECK_INT(db_bind_blob(ins, 1, "", 0, true), DB_OK);
	CHECK_INT(db_step(ins), DB_DONE);
	db_finalize(ins);
	struct db_stmt *q = NULL;
	CHECK_INT(db_prepare(db, "SELECT data FROM t ORDER BY id", &q), DB_OK);
	CHECK_INT(db_step(q), DB_ROW);
	CHECK_INT(db_column_type(q, 0), DB_TYPE_BLOB);
	CHECK_INT(db_column_bytes(q, 0), sizeof(bytes));
	CHECK(memcmp(db_column_blob(q, 0), bytes, sizeof(bytes)) == 0);
	CHECK_INT(db_step(q), DB_ROW);
	CHECK_INT(db_column_type(q, 0), DB_TYPE_BLOB);
	CHECK_INT(db_column_bytes(q, 0), 0);
	CHECK_INT(db_step(q), DB_DONE);
	db_finalize(q);
	/* text with an embedded NUL keeps its length when it is given */
	CHECK_INT(db_prepare(db, "SELECT length(CAST(?1 AS BLOB))", &q), DB_OK);
	CHECK_INT(db_bind_text(q, 1, "a\0b", 3, true), DB_OK);
	CHECK_INT(db_step(q), DB_ROW);
	CHECK_INT(db_column_int(q, 0), 3);
	db_finalize(q);
	db_close(db);
}

TEST(db_sqlite_returning_and_bind_column)
{
	struct db *db = open_tmp();
	if (db == NULL)
		return;
	struct db_stmt *ins = NULL;
	CHECK_INT(db_prepare(db, "INSERT INTO t (name, n, data, f) VALUES (?1, ?2, ?3, ?4)"
				 " RETURNING id", &ins), DB_OK);
	int64_t ids[3] = {0};
	for (int i = 0; i < 3; i++) {
		char name[8];
		snprintf(name, sizeof(name), "r%d", i);
		db_bind_text(ins, 1, name, -1, false);
		db_bind_int(ins, 2, i);
		db_bind_blob(ins, 3, "x\0y", 3, true);
		db_bind_null(ins, 4);
		CHECK_INT(db_step(ins), DB_ROW);
		ids[i] = db_column_int64(ins, 0);
		CHECK(ids[i] > 0);
		CHECK(i == 0 || ids[i] > ids[i - 1]);
		db_reset(ins);
	}
	CHECK_INT(db_exec(db, "UPDATE t SET f = 2.5 WHERE name = 'r1'", NULL), DB_OK);
	/* copy rows column by column, types and all */
	struct db_stmt *q = NULL, *copy = NULL;
	CHECK_INT(db_prepare(db, "SELECT name || '-copy', n, data, f FROM t WHERE id <= ?1"
				 " ORDER BY id", &q), DB_OK);
	db_bind_int64(q, 1, ids[2]);
	CHECK_INT(db_prepare(db, "INSERT INTO t (name, n, data, f) VALUES (?1, ?2, ?3, ?4)", &copy),
		  DB_OK);
	int rows = 0;
	while (db_step(q) == DB_ROW) {
		for (int c = 0; c < 4; c++)
			CHECK_INT(db_bind_column(copy, c + 1, q, c), DB_OK);
		CHECK_INT(db_step(copy), DB_DONE);
		db_reset(copy);
		rows++;
	}
	db_reset(q);
	CHECK_INT(rows, 3);
	db_finalize(q);
	CHECK_INT(db_prepare(db, "SELECT typeof(n), typeof(data), quote(data), typeof(f), f"
				 " FROM t WHERE name = 'r1-copy'", &q), DB_OK);
	CHECK_INT(db_step(q), DB_ROW);
	CHECK_STR(db_column_text(q, 0), "integer");
	CHECK_STR(db_column_text(q, 1), "blob");
	CHECK_STR(db_column_text(q, 2), "X'780079'");
	CHECK_STR(db_column_text(q, 3), "real");
	CHECK_INT(db_column_type(q, 4), DB_TYPE_FLOAT);
	CHECK_STR(db_column_text(q, 4), "2.5");
	db_finalize(q);
	db_close(db);
}

TEST(db_sqlite_errors)
{
	struct db *db = open_tmp();
	if (db == NULL)
		return;
	struct db_stmt *ins = NULL;
	CHECK_INT(db_prepare(db, "INSERT INTO t (name) VALUES (?1)", &ins), DB_OK);
	db_bind_text(ins, 1, "dup", -1, true);
	CHECK_INT(db_step(ins), DB_DONE);
	db_reset(ins);
	CHECK_INT(db_step(ins), DB_CONSTRAINT);
	CHECK(strstr(db_errmsg(db), "UNIQUE") != NULL);
	db_reset(ins);
	/* OR IGNORE, in the common dialect: no row, no error */
	struct db_stmt *ign = NULL;
	CHECK_INT(db_prepare(db, "INSERT OR IGNORE INTO t (name) VALUES ('dup')", &ign), DB_OK);
	CHECK_INT(db_step(ign), DB_DONE);
	CHECK_INT(db_changes(db), 0);
	db_finalize(ign);
	/* a bad statement: an error code and a message, no statement */
	struct db_stmt *bad = (struct db_stmt *)1;
	CHECK_INT(db_prepare(db, "SELEC nothing", &bad), DB_ERROR);
	CHECK(bad == NULL);
	CHECK(strstr(db_errmsg(db), "syntax") != NULL);
	char *error = NULL;
	CHECK_INT(db_exec(db, "SELECT * FROM no_such_table", &error), DB_ERROR);
	CHECK(error != NULL && strstr(error, "no_such_table") != NULL);
	free(error);
	CHECK_STR(db_errstr(DB_CONSTRAINT), "constraint failed");
	db_close(db);

	/* a missing file, read-only: the error names it */
	struct db *none = (struct db *)1;
	error = NULL;
	char *missing = xasprintf("%s/missing.db", unit_tmpdir_current());
	CHECK(db_open(DB_SQLITE, missing, DB_OPEN_READONLY, &none, &error) != DB_OK);
	CHECK(none == NULL);
	CHECK(error != NULL && strstr(error, missing) != NULL);
	free(error);
	free(missing);

	/* not a database: DB_CORRUPT */
	char *junk = xasprintf("%s/junk.db", unit_tmpdir_current());
	FILE *f = fopen(junk, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		for (int i = 0; i < 512; i++)
			fputs("this is not an SQLite file ", f);
		fclose(f);
	}
	struct db *jdb = NULL;
	CHECK_INT(db_open(DB_SQLITE, junk, 0, &jdb, NULL), DB_OK);
	if (jdb != NULL) {
		CHECK_INT(db_exec(jdb, "SELECT * FROM sqlite_schema", NULL), DB_CORRUPT);
		db_close(jdb);
	}
	free(junk);
}

TEST(db_sqlite_readonly_and_transactions)
{
	struct db *db = open_tmp();
	if (db == NULL)
		return;
	CHECK(!db_in_transaction(db));
	CHECK_INT(db_exec(db, "BEGIN IMMEDIATE", NULL), DB_OK);
	CHECK(db_in_transaction(db));
	CHECK_INT(db_exec(db, "INSERT INTO t (name) VALUES ('a'); SAVEPOINT op;"
			      " INSERT INTO t (name) VALUES ('b'); ROLLBACK TO op; RELEASE op", NULL),
		  DB_OK);
	CHECK(db_in_transaction(db));
	/* another connection waits for the lock and gives up: DB_BUSY */
	char *path = xasprintf("%s/t.db", unit_tmpdir_current());
	struct db *other = NULL;
	CHECK_INT(db_open(DB_SQLITE, path, 0, &other, NULL), DB_OK);
	if (other != NULL) {
		CHECK_INT(db_exec(other, "BEGIN IMMEDIATE", NULL), DB_BUSY);
		CHECK(!db_in_transaction(other));
	}
	CHECK_INT(db_exec(db, "COMMIT", NULL), DB_OK);
	CHECK(!db_in_transaction(db));
	/* a read-only connection reads, and refuses to write */
	struct db *ro = NULL;
	CHECK_INT(db_open(DB_SQLITE, path, DB_OPEN_READONLY, &ro, NULL), DB_OK);
	if (ro != NULL) {
		struct db_stmt *q = NULL;
		CHECK_INT(db_prepare(ro, "SELECT group_concat(name) FROM t", &q), DB_OK);
		CHECK_INT(db_step(q), DB_ROW);
		CHECK_STR(db_column_text(q, 0), "a");
		db_reset(q);
		CHECK(db_exec(ro, "INSERT INTO t (name) VALUES ('c')", NULL) != DB_OK);
		db_close(ro);	/* q too */
	}
	db_close(other);
	free(path);
	db_close(db);
}

TEST(db_postgresql_refused_unless_built)
{
#ifndef ROOST_HAVE_PG
	struct db *db = (struct db *)1;
	char *error = NULL;
	CHECK_INT(db_open(DB_POSTGRESQL, "host=127.0.0.1 dbname=roost", 0, &db, &error), DB_ERROR);
	CHECK(db == NULL);
	CHECK(error != NULL && strstr(error, "PostgreSQL backend not built") != NULL);
	free(error);
#endif
}
