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
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
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
	struct db *db = store_reader(s);
	struct db_stmt *outer = store_prepare(db,
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)"
		" SELECT i FROM n");
	CHECK(outer != NULL);
	CHECK_INT(db_step(outer), DB_ROW);
	CHECK_INT(db_column_int(outer, 0), 1);
	/* a read nested inside the outer loop fills the cache many times */
	for (int i = 0; i < NESTED_STATEMENTS; i++) {
		snprintf(nested_sql[i], sizeof(nested_sql[i]), "SELECT %d", i);
		struct db_stmt *st = store_prepare(db, nested_sql[i]);
		CHECK(st != NULL);
		if (st == NULL)
			break;
		CHECK_INT(db_step(st), DB_ROW);
		CHECK_INT(db_column_int(st, 0), i);
		db_reset(st);
	}
	/* the outer statement is still the one it was, where it was */
	for (int want = 2; want <= 10; want++) {
		CHECK_INT(db_step(outer), DB_ROW);
		CHECK_INT(db_column_int(outer, 0), want);
	}
	CHECK_INT(db_step(outer), DB_DONE);
	db_reset(outer);
	/* and every cached statement still answers */
	for (int i = 0; i < NESTED_STATEMENTS; i += 97) {
		struct db_stmt *st = store_prepare(db, nested_sql[i]);
		CHECK(st != NULL);
		if (st == NULL)
			break;
		CHECK_INT(db_step(st), DB_ROW);
		CHECK_INT(db_column_int(st, 0), i);
		db_reset(st);
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
	return db_exec(store_txn_db(txn), arg, NULL) == DB_OK ? STORE_OK
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
	x.u.expunge.account_id = sql_int(dir, "SELECT id FROM accounts");
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
	x.u.expunge.account_id = sql_int(dir, "SELECT id FROM accounts");
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
	c.u.copy.account_id = sql_int(dir, "SELECT id FROM accounts");
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
	x.u.expunge.account_id = sql_int(dir, "SELECT id FROM accounts");
	x.u.expunge.mailbox_id = inbox;
	CHECK_INT(store_run(s, &x), STORE_OK);
	store_op_clear(&x);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM contents"), 0);
	check_clean(s);
	store_close(&s);
}

/* ------------------------------------------------------------------ */
/* RENAME against the mailbox name limits                              */

static enum store_err mailbox_op(struct store *s, enum store_op_kind kind, int64_t account,
				 const char *name, const char *new_name)
{
	struct store_op op;
	store_op_init(&op, kind);
	op.u.mailbox.account_id = account;
	op.u.mailbox.name = name;
	op.u.mailbox.new_name = new_name;
	enum store_err err = store_run(s, &op);
	store_op_clear(&op);
	return err;
}

/* Every mailbox name of the store, one per line, sorted. */
static char *all_names(const char *dir)
{
	char *path = xasprintf("%s/roost.db", dir);
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT group_concat(name, char(10)) FROM"
				     " (SELECT name FROM mailboxes ORDER BY name)", -1, &st, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	char *names = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return names;
}

TEST(store_rename_refuses_children_past_the_limits)
{
	const char *dir;
	struct store *s = open_store(&dir);
	char *err = NULL;
	CHECK_INT(store_domain_add(s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "alice@example.com", "$y$x", &err), STORE_OK);
	int64_t acct = sql_int(dir, "SELECT id FROM accounts");

	/* p/c/c/.../c: the deepest allowed (creates every level) */
	char deep[STORE_MAX_MAILBOX_DEPTH * 2 + 3];
	size_t len = 0;
	deep[len++] = 'p';
	for (int i = 1; i < STORE_MAX_MAILBOX_DEPTH; i++) {
		deep[len++] = '/';
		deep[len++] = 'c';
	}
	deep[len] = '\0';
	/* one level more than allowed */
	char too_deep[sizeof(deep)];
	memcpy(too_deep, deep, len);
	memcpy(too_deep + len, "/c", 3);
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_CREATE, acct, deep, NULL), STORE_OK);
	/* q/<long>: the longest allowed name */
	char longname[STORE_MAX_MAILBOX_NAME + 1];
	memset(longname, 'x', STORE_MAX_MAILBOX_NAME);
	longname[0] = 'q';
	longname[1] = '/';
	longname[STORE_MAX_MAILBOX_NAME] = '\0';
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_CREATE, acct, longname, NULL), STORE_OK);
	char *before = all_names(dir);

	/* one level deeper for every child: refused, nothing renamed */
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_RENAME, acct, "p", "a/p"), STORE_ELIMIT);
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_RENAME, acct, "p/c", "p/c/d"), STORE_EINVAL);
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_RENAME, acct, "p/c", "p/d/c"), STORE_ELIMIT);
	/* a byte longer */
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_RENAME, acct, "q", "qq"), STORE_ELIMIT);
	/* a shallower new name whose child then gets too long */
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_RENAME, acct, "q", deep + 2 /* c/.../c */),
		  STORE_ELIMIT);
	/* the new name itself too deep */
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_RENAME, acct, "q", too_deep), STORE_ELIMIT);
	char *after = all_names(dir);
	CHECK_STR(after, before);
	free(after);

	/* within the limits it still renames the whole hierarchy */
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_RENAME, acct, "p", "r"), STORE_OK);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM mailboxes WHERE name = 'r' OR name LIKE 'r/%'"),
		  STORE_MAX_MAILBOX_DEPTH);
	CHECK_INT(sql_int(dir, "SELECT count(*) FROM mailboxes WHERE name = 'p' OR name LIKE 'p/%'"),
		  0);
	check_clean(s);
	free(before);
	store_close(&s);
}

/* ------------------------------------------------------------------ */
/* Ids are never handed out twice                                      */

TEST(store_ids_of_deleted_rows_never_come_back)
{
	const char *dir;
	struct store *s = open_store(&dir);
	char *err = NULL;
	CHECK_INT(store_domain_add(s, "example.com", &err), STORE_OK);
	CHECK_INT(store_domain_add(s, "example.org", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "alice@example.com", "$y$x", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "bob@example.com", "$y$x", &err), STORE_OK);
	int64_t alice = sql_int(dir, "SELECT id FROM accounts WHERE address = 'alice@example.com'");
	int64_t bob = sql_int(dir, "SELECT id FROM accounts WHERE address = 'bob@example.com'");
	int64_t top_mailbox = sql_int(dir, "SELECT max(id) FROM mailboxes");
	int64_t top_domain = sql_int(dir, "SELECT max(id) FROM domains");

	/* the highest mailbox, then the highest account, then the highest
	 * domain go; each new one gets a new id */
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_CREATE, alice, "X", NULL), STORE_OK);
	int64_t x = sql_int(dir, "SELECT id FROM mailboxes WHERE name = 'X'");
	CHECK(x > top_mailbox);
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_DELETE, alice, "X", NULL), STORE_OK);
	CHECK_INT(mailbox_op(s, STORE_OP_MAILBOX_CREATE, alice, "Y", NULL), STORE_OK);
	CHECK(sql_int(dir, "SELECT id FROM mailboxes WHERE name = 'Y'") > x);

	CHECK_INT(store_account_del(s, "bob@example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "carol@example.com", "$y$x", &err), STORE_OK);
	CHECK(sql_int(dir, "SELECT id FROM accounts WHERE address = 'carol@example.com'") > bob);
	CHECK(sql_int(dir, "SELECT min(b.id) FROM mailboxes b JOIN accounts a ON a.id = b.account_id"
			   " WHERE a.address = 'carol@example.com'") > x);

	CHECK_INT(store_domain_del(s, "example.org", &err), STORE_OK);
	CHECK_INT(store_domain_add(s, "example.net", &err), STORE_OK);
	CHECK(sql_int(dir, "SELECT id FROM domains WHERE name = 'example.net'") > top_domain);
	check_clean(s);
	store_close(&s);
}

TEST(store_open_refuses_a_newer_schema)
{
	const char *dir;
	struct store *s = open_store(&dir);
	store_close(&s);
	char *path = xasprintf("%s/roost.db", dir);
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "UPDATE meta SET value = '1000' WHERE key = 'schema_version'",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
	char *err = NULL;
	CHECK_INT(store_open(dir, &internals_settings, &s, &err), STORE_EPERM);
	CHECK(s == NULL);
	CHECK(err != NULL && strstr(err, "schema version 1000 is newer") != NULL);
	free(err);
}

/* OBJECTIDs come from the counter a block at a time (store-msg-extra.c):
 * a block taken inside a target's savepoint that then rolls back must not
 * be handed out afterwards, or the next batch would hand out its numbers
 * again (roost check: an id above the counter). */
TEST(store_objectid_block_of_a_rolled_back_target_is_forgotten)
{
	const char *dir;
	struct store *s = open_store(&dir);
	char *err = NULL;
	CHECK_INT(store_domain_add(s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "alice@example.com", "$y$x", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "bob@example.com", "$y$x", &err), STORE_OK);
	int64_t alice = sql_int(dir, "SELECT id FROM accounts WHERE address = 'alice@example.com'");
	int64_t bob = sql_int(dir, "SELECT id FROM accounts WHERE address = 'bob@example.com'");
	int64_t counter = sql_int(dir, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'objectid'");
	/* alice's message row fails after her OBJECTIDs were taken */
	char *sql = xasprintf("CREATE TRIGGER fault_msg BEFORE INSERT ON messages WHEN NEW.mailbox_id ="
			      " (SELECT id FROM mailboxes WHERE account_id = %lld AND name = 'INBOX')"
			      " BEGIN SELECT RAISE(ABORT, 'injected fault'); END", (long long)alice);
	store_sql(s, sql);
	free(sql);
	struct store_target t[2] = {{.account_id = alice}, {.account_id = bob}};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = shared_msg;
	op.u.deliver.len = strlen(shared_msg);
	op.u.deliver.targets = t;
	op.u.deliver.ntargets = 2;
	op.u.deliver.per_target = true;
	CHECK_INT(store_run(s, &op), STORE_OK);
	CHECK(t[0].err != STORE_OK);
	CHECK_INT(t[1].err, STORE_OK);
	store_op_clear(&op);
	int64_t emailid = sql_int(dir, "SELECT emailid FROM messages");
	int64_t now = sql_int(dir, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'objectid'");
	CHECK(emailid > counter && emailid <= now);
	store_sql(s, "DROP TRIGGER fault_msg");
	deliver_shared(s, alice);
	CHECK_INT(sql_int(dir, "SELECT count(DISTINCT emailid) FROM messages"), 2);
	check_clean(s);
	store_close(&s);
}
