/*
 * test-store-check: store_check() (`roost check`). A small store is built
 * through the normal API, closed, corrupted on purpose with direct SQL,
 * reopened and checked: each corruption must be reported by its check,
 * and the untouched store must be clean.
 */
#include "unit.h"
#include "store/store.h"
#include "lib/alloc.h"
#include <sqlite3.h>
#include <stdlib.h>

static const struct store_settings check_settings = {.default_quota_bytes = 1LL << 30, .default_quota_messages = -1};

static const char msg_a[] = "From: a@example.org\r\nSubject: a\r\n\r\nshared body\r\n";
static const char msg_b[] = "From: b@example.org\r\nSubject: b\r\n\r\nother body\r\n";

static uint32_t put(struct store *s, int64_t acct, const char *data)
{
	struct store_target t = {.account_id = acct, .prefix = "Delivered-To: alice@example.com\r\n"};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = data;
	op.u.deliver.len = strlen(data);
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
	return t.uid;
}

/* INBOX of alice: UIDs 1 and 2 share content A (refs 2); UID 3 (content B)
 * was expunged, so the expunge log holds UID 3 and content B is gone. */
static const char *build_store(void)
{
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	struct store *s = NULL;
	CHECK_INT(store_open(dir, &check_settings, &s, &err), STORE_OK);
	CHECK_INT(store_domain_add(s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "alice@example.com", "$y$x", &err), STORE_OK);
	struct store_account a;
	CHECK_INT(store_account_get(s, "alice@example.com", &a), STORE_OK);
	CHECK_INT(put(s, a.id, msg_a), 1);
	CHECK_INT(put(s, a.id, msg_a), 2);
	uint32_t uid3 = put(s, a.id, msg_b);
	CHECK_INT(uid3, 3);
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get(s, a.id, "INBOX", &mb), STORE_OK);
	struct store_op x;
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.account_id = a.id;
	x.u.expunge.mailbox_id = mb.id;
	x.u.expunge.uids = &uid3;
	x.u.expunge.nuids = 1;
	CHECK_INT(store_run(s, &x), STORE_OK);
	CHECK_INT(x.u.expunge.nexpunged, 1);
	store_op_clear(&x);
	store_mailbox_clear(&mb);
	store_account_clear(&a);
	store_close(&s);
	return dir;
}

/* Direct SQL on the closed database, as a corrupting tool would. */
static void corrupt(const char *dir, const char *sql)
{
	char *path = xasprintf("%s/roost.db", dir);
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		unit_fail(__FILE__, __LINE__, "corrupting SQL failed: %s", msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
	free(path);
}

struct lines {
	char *all;	/* every reported line, '\n' terminated */
	size_t n;
};

static void collect(void *ctx, const char *line)
{
	struct lines *l = ctx;
	char *next = xasprintf("%s%s\n", l->all ? l->all : "", line);
	free(l->all);
	l->all = next;
	l->n++;
}

/* Run the check on dir; returns the number of problems, lines in *l. */
static size_t run_check(const char *dir, bool quick, struct lines *l)
{
	struct store *s = NULL;
	char *err = NULL;
	CHECK_INT(store_open(dir, &check_settings, &s, &err), STORE_OK);
	size_t n = 0;
	CHECK_INT(store_check(s, quick, collect, l, &n, &err), STORE_OK);
	CHECK_INT(n, l->n);
	store_close(&s);
	return n;
}

/* Corrupt a fresh store with `sql` and expect a line containing `want`. */
static void expect_problem(int line, const char *sql, const char *want)
{
	const char *dir = build_store();
	corrupt(dir, sql);
	struct lines l = {0};
	size_t n = run_check(dir, false, &l);
	if (n == 0 || l.all == NULL || strstr(l.all, want) == NULL)
		unit_fail(__FILE__, line, "after \"%s\": expected \"%s\" in: %s", sql, want,
			  l.all ? l.all : "(clean)");
	free(l.all);
}

TEST(store_check_clean)
{
	const char *dir = build_store();
	struct lines l = {0};
	CHECK_INT(run_check(dir, false, &l), 0);
	CHECK_INT(run_check(dir, true, &l), 0);
	CHECK(l.all == NULL);
}

TEST(store_check_quota)
{
	expect_problem(__LINE__, "UPDATE accounts SET used_bytes = used_bytes + 1",
		       "account alice@example.com: used");
	expect_problem(__LINE__, "UPDATE accounts SET used_messages = 7",
		       "in 7 messages, recount");
}

TEST(store_check_sizes)
{
	expect_problem(__LINE__, "UPDATE messages SET size = size + 5 WHERE uid = 1",
		       "message alice@example.com INBOX uid 1: size");
	expect_problem(__LINE__, "UPDATE contents SET size = size + 1", "data is");
}

TEST(store_check_refs_and_orphans)
{
	expect_problem(__LINE__, "UPDATE contents SET refs = 5", "refs 5, 2 messages reference it");
	expect_problem(__LINE__,
		       "INSERT INTO contents (hash, size, crlf_size, refs, data)"
		       " VALUES (x'00', 1, 1, 0, x'41')",
		       "orphan");
	expect_problem(__LINE__, "DELETE FROM contents", "content 1 is missing");
	expect_problem(__LINE__, "DELETE FROM content_index", "content_index 1 is missing");
	expect_problem(__LINE__, "DELETE FROM mailboxes WHERE name = 'INBOX'",
		       "its mailbox is missing");
	expect_problem(__LINE__, "DELETE FROM accounts", "its account 1 is missing");
}

TEST(store_check_uids)
{
	expect_problem(__LINE__, "UPDATE mailboxes SET uidnext = 2 WHERE name = 'INBOX'",
		       "uid 2: not below uidnext 2");
	expect_problem(__LINE__, "UPDATE mailboxes SET uidnext = 3 WHERE name = 'INBOX'",
		       "expunged alice@example.com INBOX uid 3: not below uidnext 3");
	expect_problem(__LINE__,
		       "INSERT INTO expunged SELECT mailbox_id, 1, modseq FROM messages WHERE uid = 1",
		       "uid 1: expunged but still present");
	/* The UNIQUE (mailbox_id, uid) constraint stops a duplicate, so the
	 * table is rebuilt without it first (as a damaged schema might be). */
	expect_problem(__LINE__,
		       "CREATE TABLE m2 AS SELECT * FROM messages;"
		       "DROP TABLE messages; ALTER TABLE m2 RENAME TO messages;"
		       "CREATE TEMP TABLE dup AS SELECT * FROM messages WHERE uid = 1;"
		       "UPDATE dup SET id = id + 100;"
		       "INSERT INTO messages SELECT * FROM dup",
		       "uid 1: 2 messages share this UID");
}

TEST(store_check_modseq)
{
	expect_problem(__LINE__, "UPDATE mailboxes SET highestmodseq = 1 WHERE name = 'INBOX'",
		       "highestmodseq 1 below message modseq");
	expect_problem(__LINE__,
		       "UPDATE expunged SET modseq = 1000",
		       "below expunge modseq 1000");
}

TEST(store_check_sqlite_integrity)
{
	/* Point an index's definition at another column: its entries no
	 * longer match the table, which only SQLite's own check can see. */
	expect_problem(__LINE__,
		       "PRAGMA writable_schema = ON;"
		       "UPDATE sqlite_schema SET sql = 'CREATE INDEX messages_content ON messages (modseq)'"
		       " WHERE name = 'messages_content';",
		       "sqlite: ");
}

TEST(store_check_mailbox_counts)
{
	expect_problem(__LINE__, "UPDATE mailboxes SET nunseen = nunseen + 5 WHERE name = 'INBOX'",
		       "mailbox alice@example.com INBOX: counts 2/7/0/");
	/* the triggers keep the counts through inserts, flag changes and
	 * deletes made by any path, even raw SQL */
	const char *dir = build_store();
	corrupt(dir, "UPDATE messages SET flags = 9 WHERE uid = 1;"
		     "DELETE FROM messages WHERE uid = 2;");
	struct lines l = {0};
	run_check(dir, false, &l);
	CHECK(l.all == NULL || strstr(l.all, "counts") == NULL);
	free(l.all);
}

/* What keeps accounts apart (store-check.c, check_isolation). */
TEST(store_check_rows_of_missing_accounts_and_mailboxes)
{
	expect_problem(__LINE__, "DELETE FROM accounts",
		       "message ? INBOX uid 1: its mailbox's account 1 is missing");
	expect_problem(__LINE__, "DELETE FROM mailboxes WHERE name = 'INBOX'",
		       "expunged: 1 rows of mailbox 1, which is missing");
	expect_problem(__LINE__, "INSERT INTO threads VALUES (1000, '<x@example.org>', 1)",
		       "threads: 1 rows of account 1000, which is missing");
}

TEST(store_check_objectids_shared_or_above_counter)
{
	/* bob's INBOX gets a message carrying alice's EMAILID and THREADID */
	expect_problem(__LINE__,
		       "INSERT INTO accounts (domain_id, address, pwhash, created)"
		       " VALUES (1, 'bob@example.com', 'x', 0);"
		       "INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext)"
		       " SELECT id, 'INBOX', 7, 10 FROM accounts WHERE address = 'bob@example.com';"
		       "UPDATE messages SET mailbox_id = (SELECT max(id) FROM mailboxes),"
		       " emailid = (SELECT emailid FROM messages WHERE uid = 1),"
		       " threadid = (SELECT threadid FROM messages WHERE uid = 1) WHERE uid = 2",
		       "emailid ");
	expect_problem(__LINE__,
		       "INSERT INTO accounts (domain_id, address, pwhash, created)"
		       " VALUES (1, 'bob@example.com', 'x', 0);"
		       "INSERT INTO threads SELECT (SELECT id FROM accounts WHERE"
		       " address = 'bob@example.com'), '<y@example.org>', threadid"
		       " FROM messages WHERE uid = 1",
		       "used by 2 accounts");
	expect_problem(__LINE__, "UPDATE meta SET value = '1' WHERE key = 'objectid'",
		       "above the objectid counter 1");
}

TEST(store_check_ids_above_their_counter)
{
	expect_problem(__LINE__, "UPDATE sqlite_sequence SET seq = 1 WHERE name = 'mailboxes'",
		       "mailboxes: id 6 (mailboxes) above the next-id counter 1");
	expect_problem(__LINE__, "DELETE FROM sqlite_sequence WHERE name = 'accounts'",
		       "accounts: id 1 (accounts) above the next-id counter (none)");
	expect_problem(__LINE__, "UPDATE messages SET mailbox_id = 500 WHERE uid = 1",
		       "mailboxes: id 500 (messages) above the next-id counter 6");
	expect_problem(__LINE__, "UPDATE sqlite_sequence SET seq = 0 WHERE name = 'domains'",
		       "domains: id 1 (domains) above");
}

TEST(store_check_mailbox_names_within_limits)
{
	/* 301 levels */
	expect_problem(__LINE__,
		       "UPDATE mailboxes SET name = 'a' || replace(hex(zeroblob(300)), '00', '/a')"
		       " WHERE name = 'Junk'",
		       "levels is invalid or past the limits");
	/* 600 bytes */
	expect_problem(__LINE__,
		       "UPDATE mailboxes SET name = hex(zeroblob(300)) WHERE name = 'Junk'",
		       "name of 600 bytes, 1 levels is invalid");
	expect_problem(__LINE__, "UPDATE mailboxes SET name = 'Sent/../x' WHERE name = 'Sent'",
		       "mailbox alice@example.com Sent/../x (id 3): name of 9 bytes, 3 levels");
}
