/* store-imap: see store-imap.h. */
#include "store/store-imap.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The list reads check the owner first (STORE_ENOTFOUND for another
 * account's mailbox, rather than an empty answer) and filter by it in
 * the query as well, so a row of another account can never come back. */
#define OWNED_MAILBOX "(SELECT id FROM mailboxes WHERE id = ?1 AND account_id = ?9)"

enum store_err store_imap_mailbox_modseq(struct store *s, int64_t account_id, int64_t mailbox_id,
					 uint64_t *highestmodseq_r, uint32_t *uidnext_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT highestmodseq, uidnext FROM mailboxes WHERE id = ?1 AND account_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, account_id);
	int rc = db_step(st);
	enum store_err err = store_row_err(rc);
	if (rc == DB_ROW) {
		*highestmodseq_r = (uint64_t)db_column_int64(st, 0);
		*uidnext_r = (uint32_t)db_column_int64(st, 1);
	}
	db_reset(st);
	return err;
}

enum store_err store_imap_messages_range(struct store *s, int64_t account_id, int64_t mailbox_id,
					 uint32_t lo, uint32_t hi, struct store_msg **msgs_r,
					 size_t *n_r)
{
	struct db *db = store_reader(s);
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(db,
		"SELECT uid, modseq, flags, keywords, internaldate, size FROM messages"
		" WHERE mailbox_id = " OWNED_MAILBOX " AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 9, account_id);
	db_bind_int64(st, 2, lo);
	db_bind_int64(st, 3, hi);
	struct store_msg *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		struct store_msg *m = &list[n++];
		memset(m, 0, sizeof(*m));
		m->uid = (uint32_t)db_column_int64(st, 0);
		m->modseq = (uint64_t)db_column_int64(st, 1);
		m->flags = (uint32_t)db_column_int64(st, 2);
		if (db_column_type(st, 3) != DB_TYPE_NULL)
			m->keywords = xstrdup(db_column_text(st, 3));
		m->internaldate = db_column_int64(st, 4);
		m->size = db_column_int64(st, 5);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		store_msg_list_free(list, n);
		return store_read_err(rc);
	}
	*msgs_r = list;
	*n_r = n;
	return STORE_OK;
}

static const char *col_str(struct db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_TYPE_NULL ? NULL
							  : db_column_text(st, i);
}

enum store_err store_imap_view_rows(struct store *s, int64_t account_id, int64_t mailbox_id,
				    store_imap_view_fn *fn, void *ctx)
{
	struct db *db = store_reader(s);
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(db,
		"SELECT uid, flags, modseq, keywords FROM messages"
		" WHERE mailbox_id = " OWNED_MAILBOX " ORDER BY uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 9, account_id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_imap_view_row r = {
			.uid = (uint32_t)db_column_int64(st, 0),
			.flags = (uint32_t)db_column_int64(st, 1),
			.modseq = (uint64_t)db_column_int64(st, 2),
			.keywords = col_str(st, 3),
		};
		fn(ctx, &r);
	}
	db_reset(st);
	return store_read_err(rc);
}

enum store_err store_imap_search_rows(struct store *s, int64_t account_id, int64_t mailbox_id,
				      uint32_t lo, uint32_t hi, store_imap_search_fn *fn, void *ctx)
{
	struct db *db = store_reader(s);
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(db,
		"SELECT m.uid, m.internaldate, m.size, i.date, i.subject, i.from_addr, i.to_addr,"
		" i.cc_addr, i.bcc_addr, i.message_id, i.in_reply_to, i.references_hdr,"
		" m.savedate, m.emailid, m.threadid"
		" FROM messages m LEFT JOIN content_index i ON i.content_id = m.content_id"
		" WHERE m.mailbox_id = " OWNED_MAILBOX " AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 9, account_id);
	db_bind_int64(st, 2, lo);
	db_bind_int64(st, 3, hi);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_imap_search_row r = {
			.uid = (uint32_t)db_column_int64(st, 0),
			.internaldate = db_column_int64(st, 1),
			.size = db_column_int64(st, 2),
			.date = db_column_int64(st, 3),
			.subject = col_str(st, 4), .from = col_str(st, 5), .to = col_str(st, 6),
			.cc = col_str(st, 7), .bcc = col_str(st, 8), .message_id = col_str(st, 9),
			.in_reply_to = col_str(st, 10), .references = col_str(st, 11),
			.savedate = db_column_int64(st, 12),
			.emailid = db_column_int64(st, 13),
			.threadid = db_column_int64(st, 14),
		};
		if (fn(ctx, &r) < 0) {
			rc = DB_DONE;
			break;
		}
	}
	db_reset(st);
	return store_read_err(rc);
}

enum store_err store_imap_message_header(struct store *s, int64_t account_id, int64_t mailbox_id,
					 uint32_t uid, char **data_r, size_t *len_r)
{
	/* substr() keeps the (possibly large) body out of the result row */
	struct db_stmt *st;
	enum store_err err = store_message_row(s,
		"SELECT m.prefix, substr(c.data, 1, CAST(coalesce(i.header_len, c.size) AS INTEGER)),"
		" c.location, c.size, CAST(coalesce(i.header_len, c.size) AS INTEGER)"
		" FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id AND b.account_id = ?3"
		" JOIN contents c ON c.id = m.content_id"
		" LEFT JOIN content_index i ON i.content_id = m.content_id"
		" WHERE m.mailbox_id = ?1 AND m.uid = ?2", account_id, mailbox_id, uid, &st);
	if (err != STORE_OK)
		return err;
	int64_t header_len = db_column_int64(st, 4);
	err = store_join_content(s, st, 0, 1, 2, db_column_int64(st, 3),
				 header_len > 0 ? (size_t)header_len : 0, data_r, len_r, NULL);
	db_reset(st);
	return err;
}

enum store_err store_imap_message_text(struct store *s, int64_t account_id, int64_t mailbox_id,
				       uint32_t uid, char **data_r, size_t *len_r,
				       size_t *prefix_len_r, char **parts_r)
{
	struct db_stmt *st;
	enum store_err err = store_message_row(s,
		"SELECT m.prefix, c.data, i.parts, c.location, c.size FROM messages m"
		" JOIN mailboxes b ON b.id = m.mailbox_id AND b.account_id = ?3"
		" JOIN contents c ON c.id = m.content_id"
		" LEFT JOIN content_index i ON i.content_id = m.content_id"
		" WHERE m.mailbox_id = ?1 AND m.uid = ?2", account_id, mailbox_id, uid, &st);
	if (err != STORE_OK)
		return err;
	err = store_join_content(s, st, 0, 1, 3, db_column_int64(st, 4), SIZE_MAX, data_r, len_r,
				 prefix_len_r);
	if (err != STORE_OK) {
		db_reset(st);
		return err;
	}
	const char *parts = col_str(st, 2);
	*parts_r = xstrdup(parts ? parts : "");
	db_reset(st);
	return STORE_OK;
}

enum store_err store_imap_vanished(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint64_t modseq, uint32_t lo, uint32_t hi, uint32_t **uids_r,
				   size_t *n_r)
{
	struct db *db = store_reader(s);
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	/* the primary key (mailbox_id, uid) serves the UID range; the
	 * expunged_modseq index serves a recent modseq: SQLite picks */
	struct db_stmt *st = store_prepare(db,
		"SELECT uid FROM expunged WHERE mailbox_id = " OWNED_MAILBOX " AND modseq > ?2"
		" AND uid BETWEEN ?3 AND ?4 ORDER BY uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 9, account_id);
	db_bind_int64(st, 2, (int64_t)modseq);
	db_bind_int64(st, 3, lo);
	db_bind_int64(st, 4, hi);
	uint32_t *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		list[n++] = (uint32_t)db_column_int64(st, 0);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		free(list);
		return store_read_err(rc);
	}
	*uids_r = list;
	*n_r = n;
	return STORE_OK;
}
