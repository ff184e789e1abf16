/* store-sort: see store-sort.h. */
#include "store/store-sort.h"
#include "store/store-private.h"

static const char *col_str(struct db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_TYPE_NULL ? NULL
							  : db_column_text(st, i);
}

enum store_err store_sort_rows(struct store *s, int64_t account_id, int64_t mailbox_id,
			       uint32_t lo, uint32_t hi, bool headers, store_sort_fn *fn, void *ctx)
{
	struct db *db = store_reader(s);
	/* another account's mailbox: STORE_ENOTFOUND, not an empty list */
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	/* two literals: store_prepare caches by the SQL text's address; both
	 * filter by the account too (?4) */
	struct db_stmt *st = headers
		? store_prepare(db,
			"SELECT m.uid, m.internaldate, m.size, i.date, i.subject, i.from_addr,"
			" i.to_addr, i.cc_addr, i.message_id, i.in_reply_to, i.references_hdr"
			" FROM messages m LEFT JOIN content_index i ON i.content_id = m.content_id"
			" WHERE m.mailbox_id = (SELECT id FROM mailboxes WHERE id = ?1 AND account_id = ?4)"
			" AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid")
		: store_prepare(db,
			"SELECT m.uid, m.internaldate, m.size, i.date"
			" FROM messages m LEFT JOIN content_index i ON i.content_id = m.content_id"
			" WHERE m.mailbox_id = (SELECT id FROM mailboxes WHERE id = ?1 AND account_id = ?4)"
			" AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, lo);
	db_bind_int64(st, 3, hi);
	db_bind_int64(st, 4, account_id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_sort_row r = {
			.uid = (uint32_t)db_column_int64(st, 0),
			.internaldate = db_column_int64(st, 1),
			.size = db_column_int64(st, 2),
			.date = db_column_int64(st, 3),
		};
		if (headers) {
			r.subject = col_str(st, 4);
			r.from = col_str(st, 5);
			r.to = col_str(st, 6);
			r.cc = col_str(st, 7);
			r.message_id = col_str(st, 8);
			r.in_reply_to = col_str(st, 9);
			r.references = col_str(st, 10);
		}
		if (fn(ctx, &r) < 0) {
			rc = DB_DONE;
			break;
		}
	}
	db_reset(st);
	return store_read_err(rc);
}
