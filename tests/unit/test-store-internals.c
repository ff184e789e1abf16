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

/* ------------------------------------------------------------------ */
/* Content reference counts when their update fails                    */

static const char shared_msg[] = "From: a@example.org\r\nSubject: shared\r\n\r\nshared body\r\n";

/* One number from the database through a connection of our own (what
 * is stored, independent of the store's read API). */
static int64_t sql_int(const char *dir, const char *sql)
{
	char *path = xasprintf("%s/roost.db", dir);
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		unit_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return v;
}

static enum store_err exec_fn(struct store_txn *txn, void *arg, char **error_r)
{
	return sqlite3_exec(store_txn_db(txn), arg, NULL, NULL, NULL) == SQLITE_OK ? STORE_OK
										   : STORE_ETEMP;
}

/* Run raw SQL as an op of the store (a fault hook for the next ops). */
static void store_sql(struct store *s, const char *sql)
{
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = exec_fn;
	op.u.func.arg = (void *)sql;
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
}

static void deliver_shared(struct store *s, int64_t account_id)
{
	struct store_target t = {.account_id = account_id};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = shared_msg;
	op.u.deliver.len = strlen(shared_msg);
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
}

static void no_problem(void *ctx, const char *line)
{
	unit_fail(__FILE__, __LINE__, "check: %s", line);
}

static void check_clean(struct store *s)
{
	size_t n = 1;
	char *err = NULL;
	CHECK_INT(store_check(s, false, no_problem, NULL, &n, &err), STORE_OK);
	CHECK_INT(n, 0);
}

/* alice's INBOX with UIDs 1 and 2 sharing one content (refs 2). */
static struct store *shared_store(const char **dir_r, int64_t *inbox_r)
{
	struct store *s = open_store(dir_r);
	char *err = NULL;
	CHECK_INT(store_domain_add(s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "alice@example.com", "$y$x", &err), STORE_OK);
	int64_t account = sql_int(*dir_r, "SELECT id FROM accounts");
	deliver_shared(s, account);
	deliver_shared(s, account);
	CHECK_INT(sql_int(*dir_r, "SELECT refs FROM contents"), 2);
	*inbox_r = sql_int(*dir_r, "SELECT id FROM mailboxes WHERE name = 'INBOX'");
	return s;
}

TEST(store_failed_refs_decrement_never_frees_shared_content)
{
	const char *dir;
	int64_t inbox;
	struct store *s = shared_store(&dir, &inbox);
	/* the next decrement of a reference count fails */
	store_sql(s, "CREATE TRIGGER fault_refs_down BEFORE UPDATE OF refs ON contents"
		     " WHEN NEW.refs < OLD.refs BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
	uint32_t uid1 = 1;
	struct store_op x;
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.mailbox_id = inbox;
	x.u.expunge.uids = &uid1;
	x.u.expunge.nuids = 1;
	CHECK(store_run(s, &x) != STORE_OK);
	store_op_clear(&x);
	/* nothing changed: both messages, the content, its count */
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM messages"), 2);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM contents"), 1);
	CHECK_INT(sql_int(dir, "SELECT refs FROM contents"), 2);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM content_index"), 1);
	check_clean(s);

	/* the fault gone, the same expunge works and keeps the content */
	store_sql(s, "DROP TRIGGER fault_refs_down");
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.mailbox_id = inbox;
	x.u.expunge.uids = &uid1;
	x.u.expunge.nuids = 1;
	CHECK_INT(store_run(s, &x), STORE_OK);
	CHECK_INT(x.u.expunge.nexpunged, 1);
	store_op_clear(&x);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM messages"), 1);
	CHECK_INT(sql_int(dir, "SELECT refs FROM contents"), 1);
	check_clean(s);
	store_close(&s);
}

TEST(store_failed_refs_increment_fails_the_copy)
{
	const char *dir;
	int64_t inbox;
	struct store *s = shared_store(&dir, &inbox);
	int64_t archive = sql_int(dir, "SELECT id FROM mailboxes WHERE name = 'Archive'");
	store_sql(s, "CREATE TRIGGER fault_refs_up BEFORE UPDATE OF refs ON contents"
		     " WHEN NEW.refs > OLD.refs BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
	uint32_t uids[] = {1, 2};
	struct store_op c;
	store_op_init(&c, STORE_OP_COPY);
	c.u.copy.src_mailbox_id = inbox;
	c.u.copy.dst_mailbox_id = archive;
	c.u.copy.uids = uids;
	c.u.copy.nuids = 2;
	CHECK(store_run(s, &c) != STORE_OK);
	store_op_clear(&c);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM messages"), 2);
	CHECK_INT(sql_int(dir, "SELECT refs FROM contents"), 2);
	check_clean(s);
	/* and expunging everything frees the content exactly once */
	store_sql(s, "DROP TRIGGER fault_refs_up");
	struct store_op x;
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.mailbox_id = inbox;
	CHECK_INT(store_run(s, &x), STORE_OK);
	store_op_clear(&x);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM contents"), 0);
	check_clean(s);
	store_close(&s);
}
