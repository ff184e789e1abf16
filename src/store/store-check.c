/*
 * store-check: the consistency check behind `roost check`. Read-only: it
 * runs every query inside one read transaction on this thread's read
 * connection, so it sees one WAL snapshot and is safe while the daemon
 * writes (a commit landing meanwhile cannot make a half-seen op look
 * inconsistent).
 *
 * What it checks is what the rest of the store promises (ARCHITECTURE.md,
 * "Durability and quota rules"): SQLite's own page-level integrity; quota
 * usage equals a recount; a message's size is its prefix plus its content;
 * content reference counts equal their users and no content is orphaned;
 * every message's content and index exist; UIDs are below UIDNEXT, unique,
 * and never both expunged and present; HIGHESTMODSEQ covers every change.
 * And what keeps accounts apart: every row that names an account or a
 * mailbox (messages, expunge log, threads, metadata entries, URLAUTH keys) names one that exists, no
 * EMAILID or THREADID is shared by two accounts, no id is above the
 * counter that hands out the next one (else it would be handed out
 * twice), and every mailbox name is valid and within the limits (else it
 * could not be selected, renamed or deleted).
 */
#include "store/store-internal.h"
#include "store/store-content.h"
#include <errno.h>
#include "lib/alloc.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Most rows PRAGMA integrity_check reports before stopping (its own
 * default is 100). */
#define STORE_CHECK_SQLITE_MAX_ERRORS 100

struct check {
	struct store *s;
	struct db *db;
	bool pg;		/* the PostgreSQL store: its dialect below */
	store_check_report_fn *report;
	void *ctx;
	size_t nproblems;
	enum store_err err;
	char *error;
};

/* The highest id of each AUTOINCREMENT table, and the highest one other
 * tables name (tbl, top, src). */
#define CHECK_ID_TOPS                                                          \
	" (SELECT 'domains' AS tbl, MAX(id) AS top, 'domains' AS src FROM domains" \
	"  UNION ALL SELECT 'domains', MAX(domain_id), 'accounts' FROM accounts"    \
	"  UNION ALL SELECT 'accounts', MAX(id), 'accounts' FROM accounts"          \
	"  UNION ALL SELECT 'accounts', MAX(account_id), 'mailboxes' FROM mailboxes" \
	"  UNION ALL SELECT 'accounts', MAX(account_id), 'threads' FROM threads"    \
	"  UNION ALL SELECT 'mailboxes', MAX(id), 'mailboxes' FROM mailboxes"       \
	"  UNION ALL SELECT 'mailboxes', MAX(mailbox_id), 'messages' FROM messages" \
	"  UNION ALL SELECT 'mailboxes', MAX(mailbox_id), 'expunged' FROM expunged) x"

static void problem(struct check *c, char *line)
{
	c->nproblems++;
	c->report(c->ctx, line);
	free(line);
}

static void query_failed(struct check *c, int rc, const char *what)
{
	if (c->err != STORE_OK)
		return;
	c->err = store_db_err(rc);
	if (c->err == STORE_OK)
		c->err = STORE_ETEMP;
	c->error = xasprintf("%s: %s", what, db_errmsg(c->db));
}

/* A text column as a string for a report line ("?" when NULL). */
static const char *col_text(struct db_stmt *st, int i)
{
	const char *t = db_column_text(st, i);
	return t != NULL ? (const char *)t : "?";
}

/* Run `sql` and turn every row into one problem line with `format_row`. */
static void each_row(struct check *c, const char *sql, char *(*format_row)(struct db_stmt *st))
{
	if (c->err != STORE_OK)
		return;
	struct db_stmt *st = NULL;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK) {
		query_failed(c, rc, "prepare");
		db_finalize(st);
		return;
	}
	while ((rc = db_step(st)) == DB_ROW)
		problem(c, format_row(st));
	if (rc != DB_DONE)
		query_failed(c, rc, "query");
	db_finalize(st);
}

static char *fmt_sqlite(struct db_stmt *st)
{
	return xasprintf("sqlite: %s", col_text(st, 0));
}

/* SQLite's own check. integrity_check also verifies every index against
 * its table; quick_check skips that (O(N) instead of O(N log N)). */
static void check_sqlite(struct check *c, bool quick)
{
	/* PostgreSQL checks its own pages (data_checksums, amcheck) */
	if (c->err != STORE_OK || c->pg)
		return;
	char *sql = xasprintf("PRAGMA %s(%d)", quick ? "quick_check" : "integrity_check",
			      STORE_CHECK_SQLITE_MAX_ERRORS);
	struct db_stmt *st = NULL;
	int rc = db_prepare(c->db, sql, &st);
	free(sql);
	if (rc != DB_OK) {
		query_failed(c, rc, "integrity check");
		db_finalize(st);
		return;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *t = db_column_text(st, 0);
		if (t == NULL || strcmp((const char *)t, "ok") != 0)
			problem(c, fmt_sqlite(st));
	}
	if (rc != DB_DONE)
		query_failed(c, rc, "integrity check");
	db_finalize(st);
}

/* Messages are named "<address> <mailbox> uid <uid>"; every query below
 * selects those three first (via the mailbox and its account). */
#define MSG_WHERE_SQL                                                          \
	" COALESCE(a.address, '?'), COALESCE(b.name, '#' || m.mailbox_id), m.uid"
#define MSG_JOIN_SQL                                                           \
	" LEFT JOIN mailboxes b ON b.id = m.mailbox_id"                        \
	" LEFT JOIN accounts a ON a.id = b.account_id"

static char *fmt_quota(struct db_stmt *st)
{
	return xasprintf("account %s: used %" PRId64 " bytes in %" PRId64
			 " messages, recount %" PRId64 " bytes in %" PRId64 " messages",
			 col_text(st, 0), (int64_t)db_column_int64(st, 1),
			 (int64_t)db_column_int64(st, 2), (int64_t)db_column_int64(st, 3),
			 (int64_t)db_column_int64(st, 4));
}

static char *fmt_mailbox_counts(struct db_stmt *st)
{
	return xasprintf("mailbox %s %s: counts %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64
			 " (messages/unseen/deleted/bytes), recount %" PRId64 "/%" PRId64
			 "/%" PRId64 "/%" PRId64,
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3), (int64_t)db_column_int64(st, 4),
			 (int64_t)db_column_int64(st, 5), (int64_t)db_column_int64(st, 6),
			 (int64_t)db_column_int64(st, 7), (int64_t)db_column_int64(st, 8),
			 (int64_t)db_column_int64(st, 9));
}

static char *fmt_msg_size(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": size %" PRId64
			 ", prefix + content is %" PRId64,
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3), (int64_t)db_column_int64(st, 4));
}

static char *fmt_content_size(struct db_stmt *st)
{
	return xasprintf("content %" PRId64 ": size %" PRId64 ", data is %" PRId64 " bytes",
			 (int64_t)db_column_int64(st, 0), (int64_t)db_column_int64(st, 1),
			 (int64_t)db_column_int64(st, 2));
}

static char *fmt_refs(struct db_stmt *st)
{
	return xasprintf("content %" PRId64 ": refs %" PRId64 ", %" PRId64
			 " messages reference it",
			 (int64_t)db_column_int64(st, 0), (int64_t)db_column_int64(st, 1),
			 (int64_t)db_column_int64(st, 2));
}

static char *fmt_orphan_content(struct db_stmt *st)
{
	return xasprintf("content %" PRId64 ": orphan (refs 0, no message uses it)",
			 (int64_t)db_column_int64(st, 0));
}

static char *fmt_orphan_index(struct db_stmt *st)
{
	return xasprintf("content_index %" PRId64 ": its content is missing",
			 (int64_t)db_column_int64(st, 0));
}

static char *fmt_missing_content(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": content %" PRId64 " is missing",
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3));
}

static char *fmt_missing_index(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": content_index %" PRId64 " is missing",
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3));
}

static char *fmt_missing_mailbox(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": its mailbox is missing",
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2));
}

static char *fmt_missing_account(struct db_stmt *st)
{
	return xasprintf("mailbox %s (id %" PRId64 "): its account %" PRId64 " is missing",
			 col_text(st, 0), (int64_t)db_column_int64(st, 1),
			 (int64_t)db_column_int64(st, 2));
}

static char *fmt_uidnext(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": not below uidnext %" PRId64,
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3));
}

static char *fmt_expunged_uidnext(struct db_stmt *st)
{
	return xasprintf("expunged %s %s uid %" PRId64 ": not below uidnext %" PRId64,
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3));
}

static char *fmt_duplicate(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": %" PRId64 " messages share this UID",
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3));
}

static char *fmt_expunged_present(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": expunged but still present",
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2));
}

static char *fmt_modseq(struct db_stmt *st)
{
	return xasprintf("mailbox %s %s: highestmodseq %" PRId64 " below %s modseq %" PRId64,
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 col_text(st, 3), (int64_t)db_column_int64(st, 4));
}

static char *fmt_orphan_message(struct db_stmt *st)
{
	return xasprintf("message %s %s uid %" PRId64 ": its mailbox's account %" PRId64
			 " is missing",
			 col_text(st, 0), col_text(st, 1), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 3));
}

static char *fmt_orphan_expunged(struct db_stmt *st)
{
	return xasprintf("expunged: %" PRId64 " rows of mailbox %" PRId64 ", which is missing",
			 (int64_t)db_column_int64(st, 1), (int64_t)db_column_int64(st, 0));
}

/* The outbound queue (store-queue.h): recipients belong to a queued
 * message, and a queued message has a recipient still pending. */
static char *fmt_queue(struct db_stmt *st)
{
	return xasprintf("queue: message %" PRId64 ": %s", (int64_t)db_column_int64(st, 0),
			 db_column_text(st, 1));
}

static char *fmt_orphan_threads(struct db_stmt *st)
{
	return xasprintf("threads: %" PRId64 " rows of account %" PRId64 ", which is missing",
			 (int64_t)db_column_int64(st, 1), (int64_t)db_column_int64(st, 0));
}

/* app_passwords and scram_keys (store-auth.c): credentials of a deleted
 * account must not outlive it (its id is never reused, but a row left
 * behind is a password nobody can revoke). */
static char *fmt_orphan_credentials(struct db_stmt *st)
{
	return xasprintf("%s: %" PRId64 " rows of account %" PRId64 ", which is missing",
			 col_text(st, 0), (int64_t)db_column_int64(st, 2),
			 (int64_t)db_column_int64(st, 1));
}

static char *fmt_orphan_metadata(struct db_stmt *st)
{
	return xasprintf("metadata: %" PRId64 " entries of account %" PRId64 ", mailbox %" PRId64
			 ", which is missing or another account's",
			 (int64_t)db_column_int64(st, 2), (int64_t)db_column_int64(st, 0),
			 (int64_t)db_column_int64(st, 1));
}

static char *fmt_orphan_urlauth(struct db_stmt *st)
{
	return xasprintf("urlauth_keys: %" PRId64 " keys of account %" PRId64 ", mailbox %" PRId64
			 ", which is missing or another account's",
			 (int64_t)db_column_int64(st, 2), (int64_t)db_column_int64(st, 0),
			 (int64_t)db_column_int64(st, 1));
}

static char *fmt_shared_objectid(struct db_stmt *st)
{
	return xasprintf("%s %" PRId64 ": used by %" PRId64 " accounts (%s)", col_text(st, 0),
			 (int64_t)db_column_int64(st, 1), (int64_t)db_column_int64(st, 2),
			 col_text(st, 3));
}

static char *fmt_objectid_counter(struct db_stmt *st)
{
	return xasprintf("%s %" PRId64 ": above the objectid counter %" PRId64, col_text(st, 0),
			 (int64_t)db_column_int64(st, 1), (int64_t)db_column_int64(st, 2));
}

static char *fmt_sequence(struct db_stmt *st)
{
	return xasprintf("%s: id %" PRId64 " (%s) above the next-id counter %s: it could be"
			 " handed out again",
			 col_text(st, 0), (int64_t)db_column_int64(st, 1), col_text(st, 2),
			 db_column_type(st, 3) == DB_TYPE_NULL ? "(none)" : col_text(st, 3));
}

/* Names are checked with the same function CREATE and RENAME use, so a
 * name that got past them (an older roost, a raw edit) is reported. */
static void check_mailbox_names(struct check *c)
{
	if (c->err != STORE_OK)
		return;
	struct db_stmt *st = NULL;
	int rc = db_prepare(c->db, c->pg ? "SELECT b.id, b.name, octet_length(b.name),"
		" length(b.name) - length(replace(b.name, '/', '')) + 1, COALESCE(a.address, '?')"
		" FROM mailboxes b LEFT JOIN accounts a ON a.id = b.account_id ORDER BY b.id"
		: "SELECT b.id, b.name, length(CAST(b.name AS BLOB)),"
		" length(b.name) - length(replace(b.name, '/', '')) + 1, COALESCE(a.address, '?')"
		" FROM mailboxes b LEFT JOIN accounts a ON a.id = b.account_id ORDER BY b.id", &st);
	if (rc != DB_OK) {
		query_failed(c, rc, "prepare");
		db_finalize(st);
		return;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 1);
		if (name != NULL && store_mailbox_name_valid(name))
			continue;
		char *who = xasprintf("%s %.64s%s", col_text(st, 4), name != NULL ? name : "?",
				      name != NULL && strlen(name) > 64 ? "..." : "");
		problem(c, xasprintf("mailbox %s (id %" PRId64 "): name of %" PRId64 " bytes, %"
				     PRId64 " levels is invalid or past the limits (%d bytes,"
				     " %d levels)",
				     who, (int64_t)db_column_int64(st, 0),
				     (int64_t)db_column_int64(st, 2),
				     (int64_t)db_column_int64(st, 3), STORE_MAX_MAILBOX_NAME,
				     STORE_MAX_MAILBOX_DEPTH));
		free(who);
	}
	if (rc != DB_DONE)
		query_failed(c, rc, "query");
	db_finalize(st);
}

/* What keeps one account's mail from reaching another (see the top). */
static void check_isolation(struct check *c)
{
	each_row(c,
		 "SELECT" MSG_WHERE_SQL ", b.account_id FROM messages m" MSG_JOIN_SQL
		 " WHERE b.id IS NOT NULL AND a.id IS NULL ORDER BY m.mailbox_id, m.uid",
		 fmt_orphan_message);
	each_row(c,
		 "SELECT e.mailbox_id, COUNT(*) FROM expunged e"
		 " WHERE NOT EXISTS (SELECT 1 FROM mailboxes b WHERE b.id = e.mailbox_id)"
		 " GROUP BY e.mailbox_id ORDER BY e.mailbox_id",
		 fmt_orphan_expunged);
	each_row(c,
		 "SELECT t.account_id, COUNT(*) FROM threads t"
		 " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.account_id)"
		 " GROUP BY t.account_id ORDER BY t.account_id",
		 fmt_orphan_threads);
	each_row(c,
		 "SELECT 'app_passwords', p.account_id, COUNT(*) FROM app_passwords p"
		 " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = p.account_id)"
		 " GROUP BY p.account_id"
		 " UNION ALL SELECT 'scram_keys', k.account_id, COUNT(*) FROM scram_keys k"
		 " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = k.account_id)"
		 " GROUP BY k.account_id"
		 " UNION ALL SELECT 'submission_settings', x.account_id, COUNT(*)"
		 " FROM submission_settings x"
		 " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = x.account_id)"
		 " GROUP BY x.account_id ORDER BY 1, 2",
		 fmt_orphan_credentials);
	/* METADATA entries (store-metadata.c) hang on their account and, but
	 * for the server's (mailbox 0), on one of that account's mailboxes */
	each_row(c,
		 "SELECT d.account_id, d.mailbox_id, COUNT(*) FROM metadata d"
		 " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = d.account_id)"
		 " OR (d.mailbox_id != 0 AND NOT EXISTS (SELECT 1 FROM mailboxes b"
		 "  WHERE b.id = d.mailbox_id AND b.account_id = d.account_id))"
		 " GROUP BY d.account_id, d.mailbox_id ORDER BY d.account_id, d.mailbox_id",
		 fmt_orphan_metadata);
	/* URLAUTH keys (store-urlauth.c): one of the account's mailboxes */
	each_row(c,
		 "SELECT k.account_id, k.mailbox_id, COUNT(*) FROM urlauth_keys k"
		 " WHERE NOT EXISTS (SELECT 1 FROM mailboxes b"
		 "  WHERE b.id = k.mailbox_id AND b.account_id = k.account_id)"
		 " GROUP BY k.account_id, k.mailbox_id ORDER BY k.account_id, k.mailbox_id",
		 fmt_orphan_urlauth);
	/* the outbound queue: recipients belong to a message, a message
	 * has a pending recipient */
	each_row(c,
		 "SELECT r.queue_id, 'recipients of a missing message' FROM queue_rcpts r"
		 " WHERE NOT EXISTS (SELECT 1 FROM queue_messages q WHERE q.id = r.queue_id)"
		 " GROUP BY r.queue_id"
		 " UNION ALL"
		 " SELECT q.id, 'no recipient pending' FROM queue_messages q"
		 " WHERE NOT EXISTS (SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id"
		 "  AND r.status = 0) ORDER BY 1",
		 fmt_queue);
	/* EMAILID and THREADID come from one counter and COPY keeps them
	 * within an account: one seen in two accounts links their mail */
	each_row(c, c->pg ?
		 "SELECT 'emailid', m.emailid, COUNT(DISTINCT b.account_id),"
		 " string_agg(DISTINCT CAST(b.account_id AS text), ',') FROM messages m"
		 " JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.emailid != 0"
		 " GROUP BY m.emailid HAVING COUNT(DISTINCT b.account_id) > 1"
		 " UNION ALL"
		 " SELECT 'threadid', x.threadid, COUNT(DISTINCT x.account_id),"
		 " string_agg(DISTINCT CAST(x.account_id AS text), ',') FROM"
		 " (SELECT m.threadid AS threadid, b.account_id AS account_id FROM messages m"
		 "  JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.threadid != 0"
		 "  UNION SELECT threadid, account_id FROM threads) x"
		 " GROUP BY x.threadid HAVING COUNT(DISTINCT x.account_id) > 1" :
		 "SELECT 'emailid', m.emailid, COUNT(DISTINCT b.account_id),"
		 " group_concat(DISTINCT b.account_id) FROM messages m"
		 " JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.emailid != 0"
		 " GROUP BY m.emailid HAVING COUNT(DISTINCT b.account_id) > 1"
		 " UNION ALL"
		 " SELECT 'threadid', x.threadid, COUNT(DISTINCT x.account_id),"
		 " group_concat(DISTINCT x.account_id) FROM"
		 " (SELECT m.threadid AS threadid, b.account_id AS account_id FROM messages m"
		 "  JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.threadid != 0"
		 "  UNION SELECT threadid, account_id FROM threads) x"
		 " GROUP BY x.threadid HAVING COUNT(DISTINCT x.account_id) > 1",
		 fmt_shared_objectid);
	each_row(c,
		 "SELECT x.what, x.top, CAST(m.value AS BIGINT) FROM"
		 " (SELECT 'emailid' AS what, MAX(emailid) AS top FROM messages"
		 "  UNION ALL SELECT 'threadid', MAX(threadid) FROM messages"
		 "  UNION ALL SELECT 'threadid', MAX(threadid) FROM threads) x"
		 " JOIN meta m ON m.key = 'objectid'"
		 " WHERE x.top > CAST(m.value AS BIGINT)",
		 fmt_objectid_counter);
	/* AUTOINCREMENT (store-schema.c): the next id is above sqlite_sequence's
	 * (on PostgreSQL, the identity sequence's last value),
	 * so every id in use, and every id still named anywhere, must be at
	 * or below it */
	each_row(c, c->pg ?
		 "SELECT x.tbl, x.top, x.src, q.seq FROM" CHECK_ID_TOPS
		 " LEFT JOIN (SELECT substr(sequencename, 1, length(sequencename) - 7) AS name,"
		 "  last_value AS seq FROM pg_sequences WHERE schemaname = current_schema()"
		 "  AND sequencename IN ('domains_id_seq', 'accounts_id_seq', 'mailboxes_id_seq')) q"
		 "  ON q.name = x.tbl"
		 " WHERE x.top IS NOT NULL AND (q.seq IS NULL OR x.top > q.seq)"
		 " ORDER BY x.tbl, x.src" :
		 "SELECT x.tbl, x.top, x.src, q.seq FROM" CHECK_ID_TOPS
		 " LEFT JOIN sqlite_sequence q ON q.name = x.tbl"
		 " WHERE x.top IS NOT NULL AND (q.seq IS NULL OR x.top > q.seq)"
		 " ORDER BY x.tbl, x.src",
		 fmt_sequence);
	check_mailbox_names(c);
}

static void check_tables(struct check *c)
{
	each_row(c,
		 "SELECT a.address, a.used_bytes, a.used_messages, COALESCE(r.bytes, 0),"
		 " COALESCE(r.n, 0) FROM accounts a LEFT JOIN"
		 " (SELECT b.account_id AS account_id, SUM(m.size) AS bytes, COUNT(*) AS n"
		 "  FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
		 "  GROUP BY b.account_id) r ON r.account_id = a.id"
		 " WHERE a.used_bytes != COALESCE(r.bytes, 0)"
		 " OR a.used_messages != COALESCE(r.n, 0) ORDER BY a.address",
		 fmt_quota);
	/* the per-mailbox counts the schema's triggers keep */
	each_row(c,
		 "SELECT COALESCE(a.address, '?'), b.name, b.nmessages, b.nunseen, b.ndeleted,"
		 " b.nbytes, COALESCE(r.n, 0), COALESCE(r.unseen, 0), COALESCE(r.deleted, 0),"
		 " COALESCE(r.bytes, 0) FROM mailboxes b LEFT JOIN accounts a ON a.id = b.account_id"
		 " LEFT JOIN (SELECT mailbox_id, COUNT(*) AS n,"
		 "  SUM(CASE WHEN (flags & 1) = 0 THEN 1 ELSE 0 END) AS unseen,"
		 "  SUM(CASE WHEN (flags & 8) != 0 THEN 1 ELSE 0 END) AS deleted,"
		 "  SUM(size) AS bytes FROM messages"
		 "  GROUP BY mailbox_id) r ON r.mailbox_id = b.id"
		 " WHERE b.nmessages != COALESCE(r.n, 0) OR b.nunseen != COALESCE(r.unseen, 0)"
		 " OR b.ndeleted != COALESCE(r.deleted, 0) OR b.nbytes != COALESCE(r.bytes, 0)"
		 " ORDER BY a.address, b.name",
		 fmt_mailbox_counts);
	/* length() of a BLOB is its byte count; the CAST guards against a
	 * prefix that was ever stored as TEXT (length() would count chars). */
	each_row(c, c->pg ?
		 "SELECT" MSG_WHERE_SQL ", m.size, COALESCE(length(m.prefix), 0) + c.size"
		 " FROM messages m JOIN contents c ON c.id = m.content_id" MSG_JOIN_SQL
		 " WHERE m.size != COALESCE(length(m.prefix), 0) + c.size"
		 " ORDER BY m.mailbox_id, m.uid" :
		 "SELECT" MSG_WHERE_SQL ", m.size,"
		 " COALESCE(length(CAST(m.prefix AS BLOB)), 0) + c.size"
		 " FROM messages m JOIN contents c ON c.id = m.content_id" MSG_JOIN_SQL
		 " WHERE m.size != COALESCE(length(CAST(m.prefix AS BLOB)), 0) + c.size"
		 " ORDER BY m.mailbox_id, m.uid",
		 fmt_msg_size);
	each_row(c,
		 "SELECT id, size, length(data) FROM contents"
		 " WHERE location IS NULL AND size != length(data) ORDER BY id",
		 fmt_content_size);
	each_row(c,
		 "SELECT x.id, x.refs, x.n FROM (SELECT c.id AS id, c.refs AS refs,"
		 " (SELECT COUNT(*) FROM messages m WHERE m.content_id = c.id) AS n"
		 " FROM contents c) x WHERE x.refs != x.n ORDER BY x.id",
		 fmt_refs);
	each_row(c,
		 "SELECT c.id FROM contents c WHERE c.refs = 0"
		 " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.content_id = c.id)"
		 " ORDER BY c.id",
		 fmt_orphan_content);
	each_row(c,
		 "SELECT i.content_id FROM content_index i"
		 " WHERE NOT EXISTS (SELECT 1 FROM contents c WHERE c.id = i.content_id)"
		 " ORDER BY i.content_id",
		 fmt_orphan_index);
	each_row(c,
		 "SELECT" MSG_WHERE_SQL ", m.content_id FROM messages m" MSG_JOIN_SQL
		 " WHERE NOT EXISTS (SELECT 1 FROM contents c WHERE c.id = m.content_id)"
		 " ORDER BY m.mailbox_id, m.uid",
		 fmt_missing_content);
	each_row(c,
		 "SELECT" MSG_WHERE_SQL ", m.content_id FROM messages m" MSG_JOIN_SQL
		 " WHERE NOT EXISTS (SELECT 1 FROM content_index i"
		 "  WHERE i.content_id = m.content_id)"
		 " ORDER BY m.mailbox_id, m.uid",
		 fmt_missing_index);
	each_row(c,
		 "SELECT" MSG_WHERE_SQL " FROM messages m" MSG_JOIN_SQL
		 " WHERE b.id IS NULL ORDER BY m.mailbox_id, m.uid",
		 fmt_missing_mailbox);
	each_row(c,
		 "SELECT b.name, b.id, b.account_id FROM mailboxes b"
		 " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = b.account_id)"
		 " ORDER BY b.id",
		 fmt_missing_account);
	each_row(c,
		 "SELECT" MSG_WHERE_SQL ", b.uidnext FROM messages m" MSG_JOIN_SQL
		 " WHERE m.uid >= b.uidnext ORDER BY m.mailbox_id, m.uid",
		 fmt_uidnext);
	each_row(c,
		 "SELECT COALESCE(a.address, '?'), COALESCE(b.name, '#' || m.mailbox_id), m.uid,"
		 " b.uidnext FROM expunged m" MSG_JOIN_SQL
		 " WHERE m.uid >= b.uidnext ORDER BY m.mailbox_id, m.uid",
		 fmt_expunged_uidnext);
	each_row(c,
		 "SELECT" MSG_WHERE_SQL ", COUNT(*) FROM messages m" MSG_JOIN_SQL
		 " GROUP BY m.mailbox_id, m.uid, a.address, b.name HAVING COUNT(*) > 1"
		 " ORDER BY m.mailbox_id, m.uid",
		 fmt_duplicate);
	each_row(c,
		 "SELECT" MSG_WHERE_SQL " FROM messages m" MSG_JOIN_SQL
		 " WHERE EXISTS (SELECT 1 FROM expunged e"
		 "  WHERE e.mailbox_id = m.mailbox_id AND e.uid = m.uid)"
		 " ORDER BY m.mailbox_id, m.uid",
		 fmt_expunged_present);
	each_row(c,
		 "SELECT COALESCE(a.address, '?'), b.name, b.highestmodseq, 'message', x.top"
		 " FROM (SELECT mailbox_id, MAX(modseq) AS top FROM messages GROUP BY mailbox_id) x"
		 " JOIN mailboxes b ON b.id = x.mailbox_id"
		 " LEFT JOIN accounts a ON a.id = b.account_id"
		 " WHERE x.top > b.highestmodseq"
		 " UNION ALL"
		 " SELECT COALESCE(a.address, '?'), b.name, b.highestmodseq, 'expunge', x.top"
		 " FROM (SELECT mailbox_id, MAX(modseq) AS top FROM expunged GROUP BY mailbox_id) x"
		 " JOIN mailboxes b ON b.id = x.mailbox_id"
		 " LEFT JOIN accounts a ON a.id = b.account_id"
		 " WHERE x.top > b.highestmodseq",
		 fmt_modseq);
}

/* Content files younger than this may belong to a batch that has not
 * committed yet: not reported as unreferenced. */
#define STORE_CHECK_CONTENT_MIN_AGE_S 3600

/* store.content = dir:PATH: every row's file is there with its size. */
static void check_content_rows(struct check *c)
{
	struct db_stmt *st = NULL;
	int rc = db_prepare(c->db, "SELECT id, location, size FROM contents"
				   " WHERE location IS NOT NULL ORDER BY id", &st);
	if (rc != DB_OK) {
		query_failed(c, rc, "prepare");
		db_finalize(st);
		return;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_column_int64(st, 0), size = db_column_int64(st, 2);
		const char *loc = col_text(st, 1);
		if (!store_content_in_files(c->s)) {
			problem(c, xasprintf("content %" PRId64 ": its bytes are the file %s of a"
					     " content directory, but store.content is db", id, loc));
			continue;
		}
		int e = store_content_stat(c->s, loc, size);
		if (e == EFBIG)
			problem(c, xasprintf("content %" PRId64 ": file %s is not %" PRId64 " bytes",
					     id, loc, size));
		else if (e == EINVAL)
			problem(c, xasprintf("content %" PRId64 ": location \"%.100s\" is not a"
					     " content file name", id, loc));
		else if (e != 0)
			problem(c, xasprintf("content %" PRId64 ": file %s: %s", id, loc,
					     strerror(e)));
	}
	if (rc != DB_DONE)
		query_failed(c, rc, "query");
	db_finalize(st);
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A file of the content directory that no row names (found by its hash:
 * the unique index, not a scan per file). */
static int check_content_file(void *ctx, const char *location)
{
	struct check *c = ctx;
	unsigned char hash[32];
	const char *h = location + 3;
	bool named = strlen(location) > 3 + 64 && h[64] == '.';
	for (size_t i = 0; named && i < 32; i++) {
		int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
		named = hi >= 0 && lo >= 0;
		hash[i] = (unsigned char)(hi << 4 | lo);
	}
	if (!named) {
		problem(c, xasprintf("content directory: %s is not a content file (an unfinished"
				     " write if its name begins with .new.; safe to delete)",
				     location));
		return 0;
	}
	struct db_stmt *st = NULL;
	int rc = db_prepare(c->db, "SELECT location FROM contents WHERE hash = ?1", &st);
	if (rc == DB_OK) {
		db_bind_blob(st, 1, hash, sizeof(hash), true);
		rc = db_step(st);
	}
	bool used = rc == DB_ROW && col_text(st, 0) != NULL &&
		    strcmp(col_text(st, 0), location) == 0;
	if (rc != DB_ROW && rc != DB_DONE)
		query_failed(c, rc, "query");
	else if (!used)
		problem(c, xasprintf("content directory: %s is named by no content (safe to"
				     " delete)", location));
	db_finalize(st);
	return c->err != STORE_OK;
}

static void check_content_files(struct check *c)
{
	if (c->err != STORE_OK)
		return;
	check_content_rows(c);
	if (c->err != STORE_OK || !store_content_in_files(c->s))
		return;
	if (store_content_walk(c->s, STORE_CHECK_CONTENT_MIN_AGE_S, check_content_file, c) !=
	    STORE_OK && c->err == STORE_OK) {
		c->err = STORE_ETEMP;
		c->error = xasprintf("content directory %s cannot be read: %s",
				     c->s->settings.content_dir, strerror(errno));
	}
}

enum store_err store_check(struct store *s, bool quick, store_check_report_fn *report, void *ctx,
			   size_t *nproblems_r, char **error_r)
{
	struct check c = {.s = s, .db = store_reader(s), .pg = store_on_pg(s), .report = report,
			  .ctx = ctx};
	/* One read transaction: every query sees the same snapshot. */
	int rc = db_exec(c.db, "BEGIN", NULL);
	if (rc != DB_OK) {
		query_failed(&c, rc, "begin");
	} else {
		check_sqlite(&c, quick);
		check_tables(&c);
		check_isolation(&c);
		check_content_files(&c);
		/* Always end it: an open read transaction on this thread's
		 * connection would pin an old snapshot (and the WAL) for every
		 * later read here. */
		db_exec(c.db, "ROLLBACK", NULL);
	}
	*nproblems_r = c.nproblems;
	if (c.err != STORE_OK) {
		if (error_r != NULL)
			*error_r = c.error;
		else
			free(c.error);
	}
	return c.err;
}
