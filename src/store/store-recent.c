/* store-recent: see store-recent.h. The claim is a STORE_OP_FUNC so it is
 * serialised by the writer with deliveries: two sessions selecting at once
 * can never both claim the same message. It does not take a MODSEQ: no
 * message changes, and no other session needs to hear about it. */
#include "store/store-recent.h"
#include "store/store-private.h"

static enum store_err claim_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_recent_claim *c = arg;
	sqlite3 *db = store_txn_db(txn);
	sqlite3_stmt *st = store_prepare(db,
		"SELECT recent_uid, uidnext - 1 FROM mailboxes WHERE id = ?1 AND account_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	sqlite3_bind_int64(st, 1, c->mailbox_id);
	sqlite3_bind_int64(st, 2, c->account_id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? STORE_ENOTFOUND : store_sqlite_err(rc);
	}
	c->old_recent_uid = (uint32_t)sqlite3_column_int64(st, 0);
	c->new_recent_uid = (uint32_t)sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (c->new_recent_uid <= c->old_recent_uid) {
		c->new_recent_uid = c->old_recent_uid;
		return STORE_OK;
	}
	st = store_prepare(db, "UPDATE mailboxes SET recent_uid = ?2 WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	sqlite3_bind_int64(st, 1, c->mailbox_id);
	sqlite3_bind_int64(st, 2, c->new_recent_uid);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : store_sqlite_err(rc);
}

void store_recent_claim_init(struct store_op *op, struct store_recent_claim *claim)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = claim_fn;
	op->u.func.arg = claim;
	claim->old_recent_uid = claim->new_recent_uid = 0;
}

enum store_err store_recent_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				uint32_t *recent_uid_r, uint32_t *count_r)
{
	sqlite3_stmt *st = store_prepare(store_reader(s),
		"SELECT recent_uid, (SELECT count(*) FROM messages WHERE mailbox_id = ?1"
		" AND uid > mailboxes.recent_uid) FROM mailboxes WHERE id = ?1 AND account_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, account_id);
	int rc = sqlite3_step(st);
	enum store_err err = store_row_err(rc);
	if (recent_uid_r != NULL)
		*recent_uid_r = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 0) : 0;
	if (count_r != NULL)
		*count_r = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 1) : 0;
	sqlite3_reset(st);
	return err;
}
