/*
 * test-store-internals: the store's own machinery under the conditions
 * that broke it: the prepared-statement cache while a caller up the stack
 * still steps one of its statements, content reference counts when an
 * update fails, RENAME against the mailbox name limits, and ids that are
 * never handed out twice.
 */
#include "unit.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include <sqlite3.h>
#include <stdlib.h>

static const struct store_settings internals_settings = {.default_quota_bytes = 1LL << 30,
							 .default_quota_messages = -1};

static struct store *open_store(const char **dir_r)
{
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, &err), STORE_OK);
	struct store *s = NULL;
	CHECK_INT(store_open(dir, &internals_settings, &s, &err), STORE_OK);
	if (dir_r != NULL)
		*dir_r = dir;
	return s;
}

/* Far more distinct statements than the cache has slots, each its own
 * string (the cache is keyed by the SQL text's address). The stride is
 * not a power of two, so the texts spread over every hash bucket. */
#define NESTED_STATEMENTS 2048
static char nested_sql[NESTED_STATEMENTS][40];

TEST(store_prepare_never_finalizes_a_statement_in_use)
{
	struct store *s = open_store(NULL);
	sqlite3 *db = store_reader(s);
	sqlite3_stmt *outer = store_prepare(db,
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)"
		" SELECT i FROM n");
	CHECK(outer != NULL);
	CHECK_INT(sqlite3_step(outer), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(outer, 0), 1);
	/* a read nested inside the outer loop fills the cache many times */
	for (int i = 0; i < NESTED_STATEMENTS; i++) {
		snprintf(nested_sql[i], sizeof(nested_sql[i]), "SELECT %d", i);
		sqlite3_stmt *st = store_prepare(db, nested_sql[i]);
		CHECK(st != NULL);
		if (st == NULL)
			break;
		CHECK_INT(sqlite3_step(st), SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(st, 0), i);
		sqlite3_reset(st);
	}
	/* the outer statement is still the one it was, where it was */
	for (int want = 2; want <= 10; want++) {
		CHECK_INT(sqlite3_step(outer), SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(outer, 0), want);
	}
	CHECK_INT(sqlite3_step(outer), SQLITE_DONE);
	sqlite3_reset(outer);
	/* and every cached statement still answers */
	for (int i = 0; i < NESTED_STATEMENTS; i += 97) {
		sqlite3_stmt *st = store_prepare(db, nested_sql[i]);
		CHECK(st != NULL);
		if (st == NULL)
			break;
		CHECK_INT(sqlite3_step(st), SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(st, 0), i);
		sqlite3_reset(st);
	}
	store_close(&s);
}
