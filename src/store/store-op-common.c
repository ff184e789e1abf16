/*
 * store-op-common: pieces several ops share: quota accounting, UID
 * allocation, keyword normalisation, removing one message.
 */
#include "store/store-ops.h"
#include "store/store-fts.h"
#include "store/store-content.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>

/*
 * The usage a writer checks and then raises. On PostgreSQL, writers of
 * other nodes run at the same time: FOR UPDATE locks the account's row
 * until this transaction ends, and a row another writer changed and has
 * not committed yet is waited for and read as it commits (READ
 * COMMITTED), so two nodes never both admit the last free bytes. A wait
 * past lock_timeout, or a deadlock PostgreSQL breaks, is DB_BUSY: the op
 * fails as a whole and the client is told to try again (4xx). SQLite has
 * one writer and no FOR UPDATE.
 */
enum store_err store_quota_load(struct store_txn *txn, int64_t account_id, struct store_quota *q_r)
{
	struct db_stmt *st = store_prepare(txn->db, store_on_pg(txn->s) ?
		"SELECT used_bytes, used_messages, quota_bytes, quota_messages"
		" FROM accounts WHERE id = ?1 FOR UPDATE" :
		"SELECT used_bytes, used_messages, quota_bytes, quota_messages"
		" FROM accounts WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		return rc == DB_DONE ? STORE_ENOTFOUND : store_db_err(rc);
	}
	q_r->used_bytes = db_column_int64(st, 0);
	q_r->used_messages = db_column_int64(st, 1);
	q_r->limit_bytes = store_effective_quota(txn->s, db_column_int64(st, 2),
						 db_column_type(st, 2) == DB_TYPE_NULL, true);
	q_r->limit_messages = store_effective_quota(txn->s, db_column_int64(st, 3),
						    db_column_type(st, 3) == DB_TYPE_NULL, false);
	db_reset(st);
	return STORE_OK;
}

bool store_quota_exceeded(const struct store_quota *q, int64_t bytes, int64_t messages)
{
	if (q->limit_bytes >= 0 && q->used_bytes + bytes > q->limit_bytes)
		return true;
	if (q->limit_messages >= 0 && q->used_messages + messages > q->limit_messages)
		return true;
	return false;
}

enum store_err store_quota_add(struct store_txn *txn, int64_t account_id, int64_t bytes,
			       int64_t messages)
{
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE accounts SET used_bytes = used_bytes + ?2,"
		" used_messages = used_messages + ?3 WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_int64(st, 2, bytes);
	db_bind_int64(st, 3, messages);
	int rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_step_err(rc);
	/* usage that lands on no account would leave roost check unclean */
	return db_changes(txn->db) == 1 ? STORE_OK : STORE_ENOTFOUND;
}

enum store_err store_uid_row(struct db_stmt *st, uint32_t *uid_r, uint32_t *uidvalidity_r,
			     uint64_t *modseq_r, int64_t *account_id_r)
{
	int rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		return rc == DB_DONE ? STORE_ENOTFOUND : store_db_err(rc);
	}
	int64_t uid = db_column_int64(st, 0);
	*uidvalidity_r = (uint32_t)db_column_int64(st, 1);
	if (modseq_r != NULL) {
		*modseq_r = (uint64_t)db_column_int64(st, 2);
		*account_id_r = db_column_int64(st, 3);
	}
	db_reset(st);
	/* UIDs are 32-bit and never reused: a full mailbox stays full. */
	if (uid <= 0 || uid >= 0xffffffffLL)
		return STORE_ELIMIT;
	*uid_r = (uint32_t)uid;
	return STORE_OK;
}

enum store_err store_uid_next(struct store_txn *txn, int64_t mailbox_id, uint32_t *uid_r,
			      uint32_t *uidvalidity_r)
{
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = ?1"
		" RETURNING uidnext - 1, uidvalidity");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	return store_uid_row(st, uid_r, uidvalidity_r, NULL, NULL);
}

enum store_err store_mailbox_owner(struct store_txn *txn, int64_t mailbox_id,
				   int64_t *account_id_r)
{
	struct db_stmt *st = store_prepare(txn->db, "SELECT account_id FROM mailboxes WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*account_id_r = db_column_int64(st, 0);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_ENOTFOUND : store_db_err(rc);
}

/* Run a prepared one-row-or-none write; its result as a store error. */
static enum store_err step_done(struct db_stmt *st)
{
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_step_err(rc);
}

static bool keyword_valid(const char *k, size_t n)
{
	if (n == 0 || n > STORE_MAX_KEYWORD_LEN || k[0] == '\\')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		/* IMAP atom-char minus resp-specials (RFC 9051 9: flag-keyword) */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

char *store_keywords_normalize(const char *keywords)
{
	if (keywords == NULL)
		return NULL;
	struct buf out;
	buf_init(&out, STORE_MAX_KEYWORDS * (STORE_MAX_KEYWORD_LEN + 1));
	int count = 0;
	const char *p = keywords;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *start = p;
		while (*p && *p != ' ')
			p++;
		size_t n = (size_t)(p - start);
		if (!keyword_valid(start, n) || count >= STORE_MAX_KEYWORDS)
			continue;
		/* skip duplicates, case-insensitively */
		bool dup = false;
		const char *q = out.data;
		while (q != NULL && *q && !dup) {
			const char *e = strchr(q, ' ');
			size_t m = e ? (size_t)(e - q) : strlen(q);
			dup = m == n && strncasecmp(q, start, n) == 0;
			q = e ? e + 1 : NULL;
		}
		if (dup)
			continue;
		if (out.len > 0)
			buf_putc(&out, ' ');
		buf_append(&out, start, n);
		count++;
	}
	if (out.len == 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

enum store_err store_message_remove(struct store_txn *txn, int64_t mailbox_id, int64_t account_id,
				    uint32_t uid, uint64_t modseq)
{
	struct db_stmt *st = store_prepare(txn->db,
		"DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2 RETURNING size, content_id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, uid);
	int rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		return rc == DB_DONE ? STORE_ENOTFOUND : store_db_err(rc);
	}
	int64_t size = db_column_int64(st, 0);
	int64_t content_id = db_column_int64(st, 1);
	db_reset(st);

	/* The content goes only when the decrement itself says no one uses
	 * it any more: a failed update (or a missing row, which roost check
	 * reports) must never be read as "refs = 0", or a content that other
	 * messages share would be deleted under them. */
	st = store_prepare(txn->db, "UPDATE contents SET refs = refs - 1 WHERE id = ?1 RETURNING refs");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, content_id);
	rc = db_step(st);
	int64_t refs = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_step_err(rc);
	/* DONE: the message named a content that is not there (roost check
	 * reports that); removing the message is then all there is to do */
	if (rc == DB_ROW && refs <= 0) {
		st = store_prepare(txn->db, "DELETE FROM contents WHERE id = ?1 RETURNING location");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, content_id);
		rc = db_step(st);
		/* a file in the content directory goes once this commits */
		if (rc == DB_ROW && db_column_type(st, 0) != DB_TYPE_NULL)
			store_content_drop(txn, db_column_text(st, 0));
		db_reset(st);
		if (rc != DB_ROW && rc != DB_DONE)
			return store_step_err(rc);
		st = store_prepare(txn->db, "DELETE FROM content_index WHERE content_id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, content_id);
		enum store_err err = step_done(st);
		if (err != STORE_OK)
			return err;
		err = store_fts_delete(txn, content_id);
		if (err != STORE_OK)
			return err;
	}
	if (modseq != 0) {
		st = store_prepare(txn->db,
			"INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)"
			" ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, mailbox_id);
		db_bind_int64(st, 2, uid);
		db_bind_int64(st, 3, (int64_t)modseq);
		enum store_err err = step_done(st);
		if (err != STORE_OK)
			return err;
	}
	return store_quota_add(txn, account_id, -size, -1);
}
