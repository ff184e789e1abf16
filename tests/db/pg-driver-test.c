/*
 * pg-driver-test: the contract of src/store/db/db.h on the PostgreSQL
 * driver (db-pg.c), against a real server.
 *
 *   pg-driver-test rewrite                the dialect rewriter and the
 *                                         SQLSTATE map (no server)
 *   pg-driver-test schema CONNINFO        only load and check the schema
 *   pg-driver-test CONNINFO [CONNINFO2]   the contract; CONNINFO2 (default
 *                                         CONNINFO) is the second
 *                                         connection; the database's public
 *                                         schema is dropped and re-created
 *
 * Prints "ok - NAME" per check and "FAIL - NAME: detail" per failure; exits
 * 1 when anything failed. tests/e2e/test_db_pg.py runs it against a private
 * cluster (tests/e2e/pg_cluster.py) and checks the names it expects.
 */
#include "store/db/db.h"
#include "store/db/db-pg.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;

static void check(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		printf("ok - %s\n", name);
		return;
	}
	failures++;
	printf("FAIL - %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* --- the rewriter (no server) --------------------------------------- */

static void test_rewrite(void)
{
	static const struct {
		const char *in, *out;
		int nparams;
	} cases[] = {
		{"SELECT 1", "SELECT 1", 0},
		{"SELECT ?1, ?2, ?1", "SELECT $1, $2, $1", 2},
		{"SELECT ?, ?, ?", "SELECT $1, $2, $3", 3},
		/* a bare ? after ?5 is 6, as in SQLite */
		{"SELECT ?5, ?", "SELECT $5, $6", 6},
		{"SELECT x FROM t WHERE a=?1 AND b=?12", "SELECT x FROM t WHERE a=$1 AND b=$12", 12},
		/* literals, quoted identifiers and comments are left alone */
		{"SELECT '?1', 'it''s ?', \"col?\" FROM t WHERE a = ?",
		 "SELECT '?1', 'it''s ?', \"col?\" FROM t WHERE a = $1", 1},
		{"SELECT 1 -- what? ?1\n, ?1", "SELECT 1 -- what? ?1\n, $1", 1},
		{"SELECT /* ? INSERT OR IGNORE INTO */ ?", "SELECT /* ? INSERT OR IGNORE INTO */ $1", 1},
		{"SELECT $$ a ? b $$, ?", "SELECT $$ a ? b $$, $1", 1},
		{"SELECT $t$ ? $$ ? $t$, ?", "SELECT $t$ ? $$ ? $t$, $1", 1},
		{"INSERT OR IGNORE INTO t (a) VALUES (?1)",
		 "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING", 1},
		{"insert  or\n ignore into t VALUES (?, ?)",
		 "INSERT INTO t VALUES ($1, $2) ON CONFLICT DO NOTHING", 2},
		{"INSERT OR IGNORE INTO t (a) VALUES (?1) RETURNING id",
		 "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id", 1},
		{"INSERT OR IGNORE INTO t (a) SELECT x FROM u WHERE y IN (SELECT 1) ;",
		 "INSERT INTO t (a) SELECT x FROM u WHERE y IN (SELECT 1)  ON CONFLICT DO NOTHING;", 0},
		{"INSERT OR IGNORE INTO t VALUES (1); INSERT INTO u VALUES (2);",
		 "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING; INSERT INTO u VALUES (2);", 0},
		{"INSERT OR IGNORE INTO t VALUES (';') ",
		 "INSERT INTO t VALUES (';') ON CONFLICT DO NOTHING ", 0},
		{"BEGIN IMMEDIATE", "BEGIN", 0},
		{"begin immediate;", "BEGIN;", 0},
		{"BEGIN", "BEGIN", 0},
		/* words that only contain the keywords are not them */
		{"SELECT inserted_or, begin_immediate FROM t", "SELECT inserted_or, begin_immediate FROM t", 0},
		{"INSERT INTO t VALUES ('INSERT OR IGNORE INTO')",
		 "INSERT INTO t VALUES ('INSERT OR IGNORE INTO')", 0},
		{"", "", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL, name[64];
		int n = -1;
		char *out = db_pg_rewrite(cases[i].in, &n, &error);
		snprintf(name, sizeof(name), "rewrite %zu", i);
		check(out != NULL && strcmp(out, cases[i].out) == 0 && n == cases[i].nparams, name,
		      "\"%s\" -> \"%s\" (%d params), want \"%s\" (%d): %s", cases[i].in,
		      out != NULL ? out : "(null)", n, cases[i].out, cases[i].nparams,
		      error != NULL ? error : "");
		free(out);
		free(error);
	}
	static const char *const bad[] = {
		"SELECT 'open",		/* unterminated literal */
		"SELECT \"open",
		"SELECT $$ open",
		"SELECT ?0",		/* parameters count from 1 */
		"SELECT ?65536",	/* above PostgreSQL's limit */
		"SELECT ?99999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *error = NULL, name[64];
		int n = -1;
		char *out = db_pg_rewrite(bad[i], &n, &error);
		snprintf(name, sizeof(name), "rewrite refuses %zu", i);
		check(out == NULL && error != NULL, name, "\"%s\" gave \"%s\"", bad[i],
		      out != NULL ? out : "(null)");
		free(out);
		free(error);
	}
	static const struct {
		const char *state;
		enum db_rc rc;
	} states[] = {
		{"23505", DB_CONSTRAINT}, {"23502", DB_CONSTRAINT}, {"23503", DB_CONSTRAINT},
		{"40001", DB_BUSY}, {"40P01", DB_BUSY}, {"53100", DB_FULL},
		{"54000", DB_TOOBIG}, {"54001", DB_TOOBIG}, {"42601", DB_ERROR},
		{"08006", DB_ERROR}, {"XX001", DB_CORRUPT}, {NULL, DB_ERROR}, {"2", DB_ERROR},
	};
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "sqlstate %s", states[i].state ? states[i].state : "NULL");
		check(db_pg_rc(states[i].state) == states[i].rc, name, "got %d", db_pg_rc(states[i].state));
	}
}

/* --- the contract against a server ------------------------------------ */

static struct db *connect_or_die(const char *conninfo)
{
	struct db *db = NULL;
	char *error = NULL;
	if (db_open(DB_POSTGRESQL, conninfo, 0, &db, &error) != DB_OK) {
		printf("FAIL - connect: %s\n", error);
		exit(1);
	}
	return db;
}

static void exec_ok(struct db *db, const char *sql)
{
	char *error = NULL;
	if (db_exec(db, sql, &error) != DB_OK) {
		printf("FAIL - exec %.60s: %s\n", sql, error);
		exit(1);
	}
}

static struct db_stmt *prep(struct db *db, const char *sql)
{
	struct db_stmt *st = NULL;
	if (db_prepare(db, sql, &st) != DB_OK) {
		printf("FAIL - prepare %.60s: %s\n", sql, db_errmsg(db));
		exit(1);
	}
	return st;
}

/* One integer from a one-row query. */
static int64_t query_int(struct db *db, const char *sql)
{
	struct db_stmt *st = prep(db, sql);
	int64_t v = -999;
	if (db_step(st) == DB_ROW)
		v = db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

static void test_open(const char *conninfo)
{
	struct db *db = NULL;
	char *error = NULL;
	enum db_rc rc = db_open(DB_POSTGRESQL,
				"host=127.0.0.1 port=1 dbname=nowhere password=sekrit connect_timeout=5",
				0, &db, &error);
	check(rc == DB_ERROR && db == NULL && error != NULL && strstr(error, "nowhere") != NULL &&
		      strstr(error, "sekrit") == NULL,
	      "open failure names the database, never the password", "rc %d: %s", rc,
	      error != NULL ? error : "(none)");
	free(error);
	error = NULL;
	rc = db_open(DB_POSTGRESQL, "host=127.0.0.1 port= = =", 0, &db, &error);
	check(rc == DB_ERROR && error != NULL, "open refuses a malformed conninfo", "rc %d", rc);
	free(error);
	error = NULL;
	db = NULL;
	rc = db_open(DB_POSTGRESQL, conninfo, DB_OPEN_READONLY, &db, &error);
	if (rc != DB_OK) {
		check(false, "read-only connection", "%s", error);
		free(error);
		return;
	}
	rc = db_exec(db, "CREATE TABLE drv_ro (a bigint)", &error);
	check(rc == DB_ERROR && db_backend_of(db) == DB_POSTGRESQL, "read-only connection refuses writes",
	      "rc %d", rc);
	free(error);
	db_close(db);
}

static void test_basic(struct db *db)
{
	exec_ok(db, "CREATE TABLE drv_t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
		    " name text UNIQUE, n bigint NOT NULL DEFAULT 0, data bytea, f float8);"
		    "CREATE TABLE drv_copy (a bigint, b text, c bytea, d float8)");
	struct db_stmt *ins = prep(db, "INSERT INTO drv_t (name, n, data) VALUES (?1, ?2, ?3) RETURNING id");
	db_bind_text(ins, 1, "one", -1, false);
	db_bind_int64(ins, 2, INT64_C(9000000000));
	db_bind_blob(ins, 3, "ab", 2, false);
	enum db_rc rc = db_step(ins);
	int64_t id1 = rc == DB_ROW ? db_column_int64(ins, 0) : -1;
	check(rc == DB_ROW && id1 == 1 && db_column_type(ins, 0) == DB_TYPE_INTEGER,
	      "INSERT RETURNING gives the new id", "rc %d id %" PRId64, rc, id1);
	check(db_stmt_busy(ins), "stepped statement is busy", "not busy");
	rc = db_step(ins);
	check(rc == DB_DONE, "RETURNING has one row", "rc %d", rc);
	check(db_changes(db) == 1, "changes after INSERT RETURNING", "%" PRId64, db_changes(db));
	db_reset(ins);
	check(!db_stmt_busy(ins), "reset statement is not busy", "busy");
	/* same statement, new values; an unbound parameter after
	 * clear_bindings is NULL */
	db_clear_bindings(ins);
	db_bind_text(ins, 1, "two", -1, true);
	db_bind_int(ins, 2, -7);
	rc = db_step(ins);
	int64_t id2 = rc == DB_ROW ? db_column_int64(ins, 0) : -1;
	check(rc == DB_ROW && id2 == 2, "reset and rebind runs again", "rc %d id %" PRId64 " %s", rc,
	      id2, db_errmsg(db));
	db_reset(ins);

	struct db_stmt *sel = prep(db, "SELECT id, name, n, data, f FROM drv_t WHERE id = ?");
	check(db_column_count(sel) == 5, "column count before a step", "%d", db_column_count(sel));
	db_bind_int64(sel, 1, id2);
	rc = db_step(sel);
	check(rc == DB_ROW && strcmp(db_column_text(sel, 1), "two") == 0 &&
		      db_column_int64(sel, 2) == -7 && db_column_type(sel, 1) == DB_TYPE_TEXT,
	      "SELECT reads back text and a negative integer", "rc %d", rc);
	check(db_column_type(sel, 3) == DB_TYPE_NULL && db_column_blob(sel, 3) == NULL &&
		      db_column_bytes(sel, 3) == 0 && db_column_text(sel, 3) == NULL &&
		      db_column_int64(sel, 3) == 0 && db_column_type(sel, 4) == DB_TYPE_NULL,
	      "unbound parameter stored NULL, read as NULL/0", "type %d", db_column_type(sel, 3));
	check(db_step(sel) == DB_DONE && db_step(sel) == DB_DONE, "DONE after the last row, and again",
	      "not done");
	db_reset(sel);
	db_bind_int64(sel, 1, id1);
	rc = db_step(sel);
	check(rc == DB_ROW && db_column_int64(sel, 2) == INT64_C(9000000000) &&
		      db_column_type(sel, 3) == DB_TYPE_BLOB && db_column_bytes(sel, 3) == 2 &&
		      memcmp(db_column_blob(sel, 3), "ab", 2) == 0,
	      "64-bit integer and blob read back", "rc %d", rc);
	db_reset(sel);
	db_bind_int64(sel, 1, 424242);
	check(db_step(sel) == DB_DONE, "no row is DONE", "not done");
	db_finalize(sel);

	/* parameters out of range, SQL errors at prepare */
	check(db_bind_int64(ins, 4, 1) == DB_ERROR && db_bind_int64(ins, 0, 1) == DB_ERROR,
	      "binding a parameter the statement lacks fails", "accepted");
	db_finalize(ins);
	struct db_stmt *st = NULL;
	rc = db_prepare(db, "SELEC nothing", &st);
	check(rc == DB_ERROR && st == NULL && strstr(db_errmsg(db), "syntax") != NULL,
	      "syntax error at prepare", "rc %d: %s", rc, db_errmsg(db));
	rc = db_prepare(db, "SELECT 'open", &st);
	check(rc == DB_ERROR && st == NULL, "unterminated literal refused at prepare", "rc %d", rc);
}

/* Text that PostgreSQL cannot hold (not UTF-8, or a NUL) is stored with
 * U+FFFD for each such byte, never refused (SQLite keeps any bytes: a raw
 * 8-bit header must not fail a delivery on one backend only); valid UTF-8
 * goes through untouched. A parameter number the text skips ("?1 ... ?3")
 * is accepted, as SQLite accepts it. */
static void test_text_repair(struct db *db)
{
	exec_ok(db, "CREATE TABLE drv_text (k bigint, v text)");
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7"},
		{"Gr\xfc\xdf", 4, "Gr\xef\xbf\xbd\xef\xbf\xbd"},	/* Latin-1 */
		{"a\0b", 3, "a\xef\xbf\xbd" "b"},
		{"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},		/* overlong '/' */
		{"\xed\xa0\x80x", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"}, /* surrogate */
		{"\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd"},		/* cut short */
	};
	struct db_stmt *ins = prep(db, "INSERT INTO drv_text (k, v) VALUES (?1, ?3)");
	struct db_stmt *sel = prep(db, "SELECT v FROM drv_text WHERE k = ?1");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "text repair case %zu", i);
		db_bind_int64(ins, 1, (int64_t)i);
		db_bind_text(ins, 3, cases[i].in, (int)cases[i].len, false);
		enum db_rc rc = db_step(ins);
		db_reset(ins);
		db_bind_int64(sel, 1, (int64_t)i);
		enum db_rc rs = db_step(sel);
		const char *got = rs == DB_ROW ? db_column_text(sel, 0) : NULL;
		check(rc == DB_DONE && got != NULL && strcmp(got, cases[i].out) == 0, name,
		      "insert %d select %d: %s", rc, rs, got != NULL ? got : db_errmsg(db));
		db_reset(sel);
	}
	db_finalize(ins);
	db_finalize(sel);
}

static void test_blobs(struct db *db)
{
	unsigned char bytes[1024];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 7);
	memset(bytes + 100, 0, 50);	/* a run of NULs */
	bytes[0] = 0;
	bytes[1] = '\\';
	bytes[2] = 'x';
	struct db_stmt *ins = prep(db, "INSERT INTO drv_t (name, data) VALUES (?, ?) RETURNING id");
	db_bind_text(ins, 1, "blob", -1, false);
	db_bind_blob(ins, 2, bytes, sizeof(bytes), false);
	enum db_rc rc = db_step(ins);
	int64_t id = rc == DB_ROW ? db_column_int64(ins, 0) : -1;
	db_reset(ins);
	db_bind_text(ins, 1, "empty", -1, false);
	db_bind_blob(ins, 2, "", 0, false);
	rc = db_step(ins);
	int64_t id_empty = rc == DB_ROW ? db_column_int64(ins, 0) : -1;
	db_finalize(ins);

	struct db_stmt *sel = prep(db, "SELECT data, length(data) FROM drv_t WHERE id = ?1");
	db_bind_int64(sel, 1, id);
	rc = db_step(sel);
	check(rc == DB_ROW && db_column_type(sel, 0) == DB_TYPE_BLOB &&
		      db_column_bytes(sel, 0) == sizeof(bytes) &&
		      memcmp(db_column_blob(sel, 0), bytes, sizeof(bytes)) == 0 &&
		      db_column_int64(sel, 1) == (int64_t)sizeof(bytes),
	      "blob with NUL bytes and a backslash round-trips", "rc %d bytes %zu", rc,
	      rc == DB_ROW ? db_column_bytes(sel, 0) : 0);
	db_reset(sel);
	db_bind_int64(sel, 1, id_empty);
	rc = db_step(sel);
	check(rc == DB_ROW && db_column_type(sel, 0) == DB_TYPE_BLOB && db_column_bytes(sel, 0) == 0,
	      "empty blob is a blob, not NULL", "rc %d type %d", rc, db_column_type(sel, 0));
	db_finalize(sel);

	/* a blob where the server would infer text: typed bytea on the fly */
	sel = prep(db, "SELECT ?1, length(?1)");
	db_bind_blob(sel, 1, bytes, 200, true);
	rc = db_step(sel);
	check(rc == DB_ROW && db_column_type(sel, 0) == DB_TYPE_BLOB && db_column_bytes(sel, 0) == 200 &&
		      memcmp(db_column_blob(sel, 0), bytes, 200) == 0 && db_column_int64(sel, 1) == 200,
	      "blob bound to an untyped parameter round-trips", "rc %d: %s", rc, db_errmsg(db));
	db_finalize(sel);

	/* a blob is found by equality with a blob parameter */
	sel = prep(db, "SELECT id FROM drv_t WHERE data = ?");
	db_bind_blob(sel, 1, bytes, sizeof(bytes), false);
	rc = db_step(sel);
	check(rc == DB_ROW && db_column_int64(sel, 0) == id, "WHERE blob = ?", "rc %d", rc);
	db_finalize(sel);

	/* text: a NUL or invalid UTF-8 becomes U+FFFD (test_text_repair),
	 * never an error or a crash */
	sel = prep(db, "SELECT length(?1)");
	check(db_bind_text(sel, 1, "a\0b", 3, false) == DB_OK, "text with a NUL byte accepted at bind",
	      "refused");
	db_bind_text(sel, 1, "h\xc3\xa9llo?", 7, false);
	rc = db_step(sel);
	check(rc == DB_ROW && db_column_int64(sel, 0) == 6, "UTF-8 text with a length", "rc %d %" PRId64,
	      rc, rc == DB_ROW ? db_column_int64(sel, 0) : -1);
	db_reset(sel);
	db_bind_text(sel, 1, "\xff\xfe bad", -1, false);
	rc = db_step(sel);
	check(rc == DB_ROW && db_column_int64(sel, 0) == 6, "invalid UTF-8 text counts U+FFFD per byte",
	      "rc %d", rc);
	db_finalize(sel);
}

static void test_types(struct db *db)
{
	exec_ok(db, "UPDATE drv_t SET f = 2.5 WHERE id = 1");
	struct db_stmt *st = prep(db, "SELECT f, sum(n), count(*), 1 = 1, 'x' || ?1, ?2 + 1, avg(n)"
				      " FROM drv_t WHERE id = 1 GROUP BY f");
	db_bind_text(st, 1, "y", -1, false);
	db_bind_int64(st, 2, 41);
	enum db_rc rc = db_step(st);
	check(rc == DB_ROW && db_column_type(st, 0) == DB_TYPE_FLOAT &&
		      strcmp(db_column_text(st, 0), "2.5") == 0 && db_column_int64(st, 0) == 2,
	      "float8 is FLOAT", "rc %d %s", rc, db_errmsg(db));
	check(rc == DB_ROW && db_column_type(st, 1) == DB_TYPE_INTEGER &&
		      db_column_int64(st, 1) == INT64_C(9000000000) &&
		      db_column_type(st, 2) == DB_TYPE_INTEGER && db_column_int64(st, 2) == 1,
	      "sum() and count() are INTEGER", "types %d %d", db_column_type(st, 1),
	      db_column_type(st, 2));
	check(rc == DB_ROW && db_column_type(st, 3) == DB_TYPE_INTEGER && db_column_int64(st, 3) == 1,
	      "a comparison is INTEGER 1", "type %d", db_column_type(st, 3));
	check(rc == DB_ROW && strcmp(db_column_text(st, 4), "xy") == 0 &&
		      db_column_int64(st, 5) == 42,
	      "untyped parameters take their type from context", "rc %d", rc);
	check(rc == DB_ROW && db_column_type(st, 6) == DB_TYPE_FLOAT &&
		      db_column_int64(st, 6) == INT64_C(9000000000),
	      "avg() (numeric with a fraction) is FLOAT", "type %d", db_column_type(st, 6));
	db_finalize(st);

	/* '?' inside a literal is not a parameter */
	st = prep(db, "SELECT '?1 it''s', ?1");
	db_bind_int64(st, 1, 5);
	rc = db_step(st);
	check(rc == DB_ROW && strcmp(db_column_text(st, 0), "?1 it's") == 0 &&
		      db_column_int64(st, 1) == 5,
	      "literal with ?1 left alone", "rc %d", rc);
	db_finalize(st);

	/* db_bind_column copies type and bytes */
	struct db_stmt *src = prep(db, "SELECT n, name, data, f FROM drv_t WHERE id = 1");
	struct db_stmt *dst = prep(db, "INSERT INTO drv_copy (a, b, c, d) VALUES (?1, ?2, ?3, ?4)");
	rc = db_step(src);
	for (int i = 0; i < 4 && rc == DB_ROW; i++)
		db_bind_column(dst, i + 1, src, i);
	enum db_rc rc2 = db_step(dst);
	db_finalize(dst);
	db_finalize(src);
	st = prep(db, "SELECT a, b, c, d FROM drv_copy");
	rc = db_step(st);
	check(rc2 == DB_DONE && rc == DB_ROW && db_column_int64(st, 0) == INT64_C(9000000000) &&
		      strcmp(db_column_text(st, 1), "one") == 0 &&
		      db_column_type(st, 2) == DB_TYPE_BLOB && db_column_bytes(st, 2) == 2 &&
		      memcmp(db_column_blob(st, 2), "ab", 2) == 0 &&
		      db_column_type(st, 3) == DB_TYPE_FLOAT,
	      "bind_column copies integer, text, blob and float", "rc %d/%d %s", rc2, rc,
	      db_errmsg(db));
	db_finalize(st);
}

static void test_changes_and_constraints(struct db *db)
{
	exec_ok(db, "UPDATE drv_t SET n = n + 1");
	int64_t rows = query_int(db, "SELECT count(*) FROM drv_t");
	check(db_changes(db) == rows && rows >= 4, "changes after UPDATE of every row (a SELECT keeps it)",
	      "%" PRId64 " of %" PRId64, db_changes(db), rows);
	struct db_stmt *del = prep(db, "DELETE FROM drv_t WHERE name = ?");
	db_bind_text(del, 1, "nobody", -1, false);
	enum db_rc rc = db_step(del);
	check(rc == DB_DONE && db_changes(db) == 0, "changes 0 after a DELETE of nothing", "rc %d", rc);
	db_finalize(del);

	struct db_stmt *ins = prep(db, "INSERT INTO drv_t (name) VALUES (?1)");
	db_bind_text(ins, 1, "one", -1, false);
	rc = db_step(ins);
	check(rc == DB_CONSTRAINT && strstr(db_errmsg(db), "23505") != NULL,
	      "UNIQUE violation is DB_CONSTRAINT", "rc %d: %s", rc, db_errmsg(db));
	db_finalize(ins);
	ins = prep(db, "INSERT INTO drv_t (name, n) VALUES ('nn', ?1)");
	db_bind_null(ins, 1);
	rc = db_step(ins);
	check(rc == DB_CONSTRAINT, "NOT NULL violation is DB_CONSTRAINT", "rc %d", rc);
	db_finalize(ins);
	ins = prep(db, "INSERT OR IGNORE INTO drv_t (name) VALUES (?1) RETURNING id");
	db_bind_text(ins, 1, "one", -1, false);
	rc = db_step(ins);
	check(rc == DB_DONE && db_changes(db) == 0, "INSERT OR IGNORE of a duplicate: no row, no change",
	      "rc %d changes %" PRId64, rc, db_changes(db));
	db_reset(ins);
	db_bind_text(ins, 1, "fresh", -1, false);
	rc = db_step(ins);
	check(rc == DB_ROW && db_changes(db) == 1, "INSERT OR IGNORE of a new row returns it", "rc %d",
	      rc);
	db_finalize(ins);

	/* an index row over its limit: program_limit_exceeded (54000) */
	size_t n = 12000;
	char *big = malloc(n + 1);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (char)('!' + (x >> 16) % 90);
	}
	big[n] = '\0';
	ins = prep(db, "INSERT INTO drv_t (name) VALUES (?1)");
	db_bind_text(ins, 1, big, (int)n, false);
	rc = db_step(ins);
	check(rc == DB_TOOBIG, "an index row over the limit is DB_TOOBIG", "rc %d: %s", rc,
	      db_errmsg(db));
	db_finalize(ins);
	free(big);
}

static void test_transactions(struct db *a, struct db *b)
{
	check(!db_in_transaction(a), "no transaction at first", "in one");
	exec_ok(a, "BEGIN IMMEDIATE");
	check(db_in_transaction(a), "BEGIN IMMEDIATE opens a transaction", "not in one");
	exec_ok(a, "INSERT INTO drv_t (name) VALUES ('uncommitted')");
	struct db_stmt *look = prep(b, "SELECT count(*) FROM drv_t WHERE name = ?1");
	db_bind_text(look, 1, "uncommitted", -1, true);
	enum db_rc rc = db_step(look);
	check(rc == DB_ROW && db_column_int64(look, 0) == 0, "the other connection does not see it",
	      "rc %d", rc);
	db_reset(look);
	exec_ok(a, "COMMIT");
	check(!db_in_transaction(a), "COMMIT ends it", "still in one");
	rc = db_step(look);
	check(rc == DB_ROW && db_column_int64(look, 0) == 1,
	      "the other connection sees it after COMMIT", "rc %d", rc);
	db_finalize(look);

	/* per-op savepoints, as the store's writer uses them */
	exec_ok(a, "BEGIN");
	exec_ok(a, "SAVEPOINT op");
	struct db_stmt *ins = prep(a, "INSERT INTO drv_t (name) VALUES (?1)");
	db_bind_text(ins, 1, "one", -1, false);
	rc = db_step(ins);
	check(rc == DB_CONSTRAINT && db_in_transaction(a), "error inside a savepoint keeps the transaction",
	      "rc %d", rc);
	db_reset(ins);
	db_bind_text(ins, 1, "after-error", -1, false);
	rc = db_step(ins);
	check(rc == DB_ERROR, "the failed transaction refuses more work until ROLLBACK TO", "rc %d", rc);
	db_reset(ins);
	exec_ok(a, "ROLLBACK TO op");
	exec_ok(a, "RELEASE op");
	exec_ok(a, "SAVEPOINT op");
	rc = db_step(ins);
	check(rc == DB_DONE, "after ROLLBACK TO the same statement works", "rc %d: %s", rc,
	      db_errmsg(a));
	exec_ok(a, "RELEASE op");
	db_finalize(ins);
	exec_ok(a, "COMMIT");
	check(query_int(b, "SELECT count(*) FROM drv_t WHERE name = 'after-error'") == 1,
	      "the savepoint's work committed", "missing");

	/* serialization failure: DB_BUSY */
	exec_ok(a, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	check(query_int(a, "SELECT n FROM drv_t WHERE id = 1") >= 0, "snapshot taken", "no row");
	exec_ok(b, "UPDATE drv_t SET n = n + 1 WHERE id = 1");
	char *error = NULL;
	rc = db_exec(a, "UPDATE drv_t SET n = 0 WHERE id = 1", &error);
	check(rc == DB_BUSY && error != NULL && strstr(error, "40001") != NULL,
	      "concurrent update under REPEATABLE READ is DB_BUSY", "rc %d: %s", rc,
	      error != NULL ? error : "");
	free(error);
	exec_ok(a, "ROLLBACK");
	check(!db_in_transaction(a), "ROLLBACK ends the failed transaction", "still in one");
}

/* db_step_deferred: statements sent without waiting (pipeline mode). */
static void test_deferred(struct db *a, struct db *b)
{
	exec_ok(a, "BEGIN");
	struct db_stmt *sp = prep(a, "SAVEPOINT op");
	struct db_stmt *ins = prep(a, "INSERT INTO drv_t (name, n) VALUES (?1, ?2)");
	struct db_stmt *look = prep(a, "SELECT count(*) FROM drv_t WHERE name LIKE 'dfr-%'");
	enum db_rc rc = db_step_deferred(sp);
	db_reset(sp);
	bool all_done = rc == DB_DONE;
	/* more than the pipeline holds (PG_PIPELINE_MAX) before an answer */
	for (int i = 0; i < 150 && all_done; i++) {
		char name[32];
		snprintf(name, sizeof(name), "dfr-%d", i);
		db_bind_text(ins, 1, name, -1, false);
		db_bind_int64(ins, 2, i);
		all_done = db_step_deferred(ins) == DB_DONE;
		db_reset(ins);
	}
	rc = db_step(look);
	check(all_done && rc == DB_ROW && db_column_int64(look, 0) == 150,
	      "deferred inserts are seen by the next statement that waits", "rc %d n %" PRId64,
	      rc, rc == DB_ROW ? db_column_int64(look, 0) : -1);
	db_reset(look);

	/* a deferred statement's error fails the next statement, with its code */
	db_bind_text(ins, 1, "dfr-3", -1, false);
	db_bind_int64(ins, 2, 3);
	rc = db_step_deferred(ins);
	db_reset(ins);
	enum db_rc next = db_step(look);
	check(rc == DB_DONE && next == DB_CONSTRAINT && strstr(db_errmsg(a), "23505") != NULL,
	      "a deferred statement's error is the next statement's", "rc %d next %d: %s", rc, next,
	      db_errmsg(a));
	db_reset(look);
	/* and a ROLLBACK TO after it works */
	exec_ok(a, "ROLLBACK TO op");
	rc = db_step(look);
	check(rc == DB_ROW && db_column_int64(look, 0) == 0,
	      "ROLLBACK TO undoes the deferred statements", "rc %d", rc);
	db_reset(look);

	/* an error found by a ROLLBACK TO itself: it still rolls back */
	rc = db_step_deferred(sp);
	db_reset(sp);
	db_bind_text(ins, 1, "dfr-x", -1, false);
	db_bind_null(ins, 2);	/* NOT NULL */
	rc = rc == DB_DONE ? db_step_deferred(ins) : rc;
	db_reset(ins);
	struct db_stmt *rb = prep(a, "ROLLBACK TO op");
	enum db_rc rbrc = db_step(rb);
	db_finalize(rb);
	rc = rc == DB_DONE ? db_step(look) : rc;
	check(rbrc == DB_DONE && rc == DB_ROW, "ROLLBACK TO runs after a failed deferred statement",
	      "rollback %d then %d: %s", rbrc, rc, db_errmsg(a));
	db_reset(look);

	/* a failed deferred statement, then COMMIT: never a success (and
	 * preparing a statement then returns the error too) */
	struct db_stmt *commit = prep(a, "COMMIT");
	db_bind_text(ins, 1, "dfr-y", -1, false);
	db_bind_null(ins, 2);
	rc = db_step_deferred(ins);
	db_reset(ins);
	struct db_stmt *other = NULL;
	enum db_rc prc = db_prepare(a, "SELECT 1", &other);
	check(prc == DB_CONSTRAINT && other == NULL, "a prepare after a failed deferred statement"
	      " returns its error", "rc %d", prc);
	enum db_rc crc = db_step(commit);
	db_finalize(commit);
	check(rc == DB_DONE && crc != DB_DONE && crc != DB_OK,
	      "COMMIT after a failed deferred statement fails", "commit %d", crc);
	exec_ok(a, "ROLLBACK");
	check(query_int(b, "SELECT count(*) FROM drv_t WHERE name LIKE 'dfr-%'") == 0,
	      "nothing of the failed transaction committed", "rows found");

	/* deferred work, then a statement prepared now (not in the pipeline) */
	exec_ok(a, "BEGIN");
	db_bind_text(ins, 1, "dfr-late", -1, false);
	db_bind_int64(ins, 2, 1);
	rc = db_step_deferred(ins);
	db_reset(ins);
	int64_t n = query_int(a, "SELECT count(*) FROM drv_t WHERE name = 'dfr-late'");
	exec_ok(a, "COMMIT");
	check(rc == DB_DONE && n == 1 &&
	      query_int(b, "SELECT count(*) FROM drv_t WHERE name = 'dfr-late'") == 1,
	      "a statement prepared after deferred ones sees them", "rc %d n %" PRId64, rc, n);
	db_finalize(sp);
	db_finalize(ins);
	db_finalize(look);
}

/* Terminate db's backend from another connection. */
static void terminate(struct db *killer, struct db *db)
{
	int64_t pid = query_int(db, "SELECT pg_backend_pid()");
	struct db_stmt *kill = prep(killer, "SELECT pg_terminate_backend(?1)");
	db_bind_int64(kill, 1, pid);
	enum db_rc rc = db_step(kill);
	check(rc == DB_ROW && db_column_int64(kill, 0) == 1, "terminated the other backend", "rc %d", rc);
	db_finalize(kill);
}

/* The reconnect does not block (db-pg.c ensure_conn): on a busy machine
 * the new connection may take more than one call. Retry while the driver
 * says it is reconnecting, for at most 5 s. */
static bool still_reconnecting(enum db_rc rc, const char *msg, int *waited_ms)
{
	if (rc != DB_ERROR || msg == NULL || strstr(msg, "reconnecting") == NULL ||
	    *waited_ms >= 5000)
		return false;
	struct timespec ts = {0, 20 * 1000000};
	nanosleep(&ts, NULL);
	*waited_ms += 20;
	return true;
}

static void test_connection_loss(const char *conninfo, struct db *killer)
{
	/* outside a transaction: the next statement reconnects */
	struct db *victim = connect_or_die(conninfo);
	exec_ok(victim, "SET lock_timeout = 1234");
	struct db_stmt *st = prep(victim, "SELECT 1");
	terminate(killer, victim);
	enum db_rc rc = db_step(st);
	check(rc == DB_ERROR && strstr(db_errmsg(victim), "connection lost") != NULL,
	      "a lost connection is DB_ERROR saying so", "rc %d: %s", rc, db_errmsg(victim));
	db_reset(st);
	int waited = 0;
	do {
		rc = db_step(st);
		db_reset(st);
	} while (still_reconnecting(rc, db_errmsg(victim), &waited));
	rc = db_step(st);
	check(rc == DB_ROW && db_column_int64(st, 0) == 1,
	      "the next statement reconnects, a prepared one is prepared again", "rc %d: %s", rc,
	      db_errmsg(victim));
	db_reset(st);
	struct db_stmt *set = prep(victim, "SELECT current_setting('lock_timeout')");
	rc = db_step(set);
	check(rc == DB_ROW && strcmp(db_column_text(set, 0), "1234ms") == 0,
	      "the connection's SETs are made again", "rc %d: %s", rc,
	      rc == DB_ROW ? db_column_text(set, 0) : db_errmsg(victim));
	db_finalize(set);

	/* inside a transaction: nothing runs until it is ended */
	exec_ok(victim, "BEGIN");
	exec_ok(victim, "SELECT 1");
	terminate(killer, victim);
	rc = db_step(st);
	db_reset(st);
	check(rc == DB_ERROR, "a lost transaction fails", "rc %d", rc);
	char *error = NULL;
	rc = db_exec(victim, "SELECT 1", &error);
	check(rc == DB_ERROR && error != NULL && strstr(error, "inside a transaction") != NULL,
	      "no statement of a lost transaction runs on a new connection", "rc %d: %s", rc,
	      error != NULL ? error : "");
	free(error);
	error = NULL;
	waited = 0;
	for (;;) {
		rc = db_exec(victim, "ROLLBACK", &error);
		if (!still_reconnecting(rc, error, &waited))
			break;
		free(error);
		error = NULL;
	}
	check(rc == DB_OK, "ROLLBACK ends it on a new connection", "rc %d: %s", rc,
	      error != NULL ? error : "");
	free(error);
	check(query_int(victim, "SELECT 2") == 2, "and statements run again", "no");
	db_finalize(st);
	db_close(victim);

	/* DB_OPEN_NO_RECONNECT: lost stays lost */
	error = NULL;
	if (db_open(DB_POSTGRESQL, conninfo, DB_OPEN_NO_RECONNECT, &victim, &error) != DB_OK) {
		check(false, "open without reconnecting", "%s", error);
		free(error);
		return;
	}
	terminate(killer, victim);
	(void)db_exec(victim, "SELECT 1", NULL); /* finds it lost */
	rc = db_exec(victim, "SELECT 1", &error);
	check(rc == DB_ERROR && error != NULL, "without reconnecting, a lost connection stays lost",
	      "rc %d", rc);
	free(error);
	db_close(victim);
}

/* The PostgreSQL schema loads, and its triggers keep what SQLite's keep. */
static void test_schema(struct db *db)
{
	char *error = NULL;
	enum db_rc rc = db_exec(db, db_pg_schema_sql, &error);
	check(rc == DB_OK, "the PostgreSQL schema loads", "rc %d: %s", rc, error ? error : "");
	free(error);
	if (rc != DB_OK)
		return;
	check(query_int(db, "SELECT value::bigint FROM meta WHERE key = 'schema_version'") ==
		      DB_PG_SCHEMA_VERSION,
	      "meta schema_version", "wrong");
	exec_ok(db, "INSERT INTO domains (name) VALUES ('example.org');"
		    "INSERT INTO accounts (domain_id, address, pwhash, created)"
		    "  VALUES (1, 'a@example.org', 'x', 0);"
		    "INSERT INTO mailboxes (account_id, name, uidvalidity) VALUES (1, 'INBOX', 1);"
		    "INSERT INTO contents (hash, size, crlf_size, refs, data)"
		    "  VALUES ('\\x00ff', 3, 3, 1, 'abc');");
	struct db_stmt *ins = prep(db, "INSERT INTO messages (mailbox_id, uid, modseq, flags,"
				       " internaldate, savedate, size, crlf_size, content_id)"
				       " VALUES (1, ?1, 1, ?2, 0, 0, 100, 102, 1) RETURNING id");
	for (int i = 1; i <= 3; i++) {
		db_bind_int(ins, 1, i);
		db_bind_int(ins, 2, i == 3 ? 8 : 0);	/* \Deleted */
		rc = db_step(ins);
		db_reset(ins);
	}
	db_finalize(ins);
	check(query_int(db, "SELECT nmessages * 1000 + nunseen * 100 + ndeleted * 10 FROM mailboxes") ==
			  3310 &&
		      query_int(db, "SELECT nbytes FROM mailboxes") == 300,
	      "message triggers count inserts", "%" PRId64,
	      query_int(db, "SELECT nmessages * 1000 + nunseen * 100 + ndeleted * 10 FROM mailboxes"));
	exec_ok(db, "UPDATE messages SET flags = 1 WHERE uid = 1; DELETE FROM messages WHERE uid = 3");
	check(query_int(db, "SELECT nmessages * 1000 + nunseen * 100 + ndeleted * 10 FROM mailboxes") ==
		      2100,
	      "message triggers follow flag changes and deletes", "%" PRId64,
	      query_int(db, "SELECT nmessages * 1000 + nunseen * 100 + ndeleted * 10 FROM mailboxes"));
	exec_ok(db, "INSERT INTO metadata VALUES (1, 1, '/private/comment', 'x');"
		    "INSERT INTO urlauth_keys VALUES (1, 1, 'k');"
		    "INSERT INTO sieve_scripts (account_id, name, content, active, updated)"
		    "  VALUES (1, 's', 'keep;', 1, 0);"
		    "DELETE FROM messages; DELETE FROM mailboxes; DELETE FROM accounts");
	check(query_int(db, "SELECT (SELECT count(*) FROM metadata) + (SELECT count(*) FROM urlauth_keys)"
			    " + (SELECT count(*) FROM sieve_scripts)") == 0,
	      "delete triggers remove metadata, URLAUTH keys and Sieve scripts", "rows left");
	/* ids are never reused: a new mailbox after a delete gets a new id */
	exec_ok(db, "INSERT INTO accounts (domain_id, address, pwhash, created)"
		    "  VALUES (1, 'b@example.org', 'x', 0)");
	check(query_int(db, "SELECT id FROM accounts") == 2, "identity ids are not reused", "reused");
	struct db_stmt *ign = prep(db, "INSERT OR IGNORE INTO domains (name) VALUES (?1)");
	db_bind_text(ign, 1, "example.org", -1, false);
	rc = db_step(ign);
	check(rc == DB_DONE && db_changes(db) == 0, "INSERT OR IGNORE against the schema's UNIQUE",
	      "rc %d", rc);
	db_finalize(ign);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "rewrite") == 0) {
		test_rewrite();
	} else if (argc == 3 && strcmp(argv[1], "schema") == 0) {
		struct db *a = connect_or_die(argv[2]);
		exec_ok(a, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
		test_schema(a);
		db_close(a);
	} else if (argc == 2 || argc == 3) {
		const char *conninfo = argv[1], *conninfo2 = argc == 3 ? argv[2] : argv[1];
		struct db *a = connect_or_die(conninfo);
		struct db *b = connect_or_die(conninfo2);
		exec_ok(a, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
		test_open(conninfo);
		test_basic(a);
		test_blobs(a);
		test_text_repair(a);
		test_types(a);
		test_changes_and_constraints(a);
		test_transactions(a, b);
		test_deferred(a, b);
		test_connection_loss(conninfo, b);
		test_schema(a);
		db_close(b);
		db_close(a);
	} else {
		fprintf(stderr, "usage: pg-driver-test rewrite | schema CONNINFO | CONNINFO [CONNINFO2]\n");
		return 2;
	}
	printf("%s (%d failures)\n", failures == 0 ? "PASS" : "FAIL", failures);
	return failures == 0 ? 0 : 1;
}
