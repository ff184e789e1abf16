/* store-quota-admin: see store-quota-admin.h. */
#include "store/store-quota-admin.h"
#include "store/store-private.h"

static enum store_err set_fn(struct store_txn *txn, void *arg, char **error_r)
{
	const struct store_quota_set *q = arg;
	struct db *db = store_txn_db(txn);
	static const char *const sqls[] = {
		"UPDATE accounts SET quota_bytes = ?2 WHERE id = ?1",
		"UPDATE accounts SET quota_messages = ?2 WHERE id = ?1",
	};
	int64_t vals[2] = {q->bytes, q->messages};
	for (int i = 0; i < 2; i++) {
		if (vals[i] == -3)
			continue;
		struct db_stmt *st = store_prepare(db, sqls[i]);
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, q->account_id);
		db_bind_int64(st, 2, vals[i]);
		int rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_step_err(rc);
		if (db_changes(db) == 0)
			return STORE_ENOTFOUND;
	}
	return STORE_OK;
}

void store_quota_set_init(struct store_op *op, struct store_quota_set *q)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = set_fn;
	op->u.func.arg = q;
}

enum store_err store_quota_deleted_bytes(struct store *s, int64_t account_id, int64_t mailbox_id,
					 int64_t *bytes_r)
{
	*bytes_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT (SELECT COALESCE(sum(size), 0) FROM messages WHERE mailbox_id = ?1"
		" AND (flags & 8) != 0) FROM mailboxes WHERE id = ?1 AND account_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, account_id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*bytes_r = db_column_int64(st, 0);
	db_reset(st);
	return store_row_err(rc);
}
