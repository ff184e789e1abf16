/*
 * store-op-import: keeping a source server's identifiers when mail moves
 * in (roost import dovecot, roost migrate). Two pieces:
 *
 *  - store_mailbox_import_ids(): an empty mailbox takes the source's
 *    UIDVALIDITY and starts its UIDs again at 1, so clients keep their
 *    caches (RFC 9051 2.3.1.1: the pair UIDVALIDITY + UID names a
 *    message; both carry over unchanged, nothing else may have used them);
 *    store_mailbox_raise_uidnext() then gives it the source's UIDNEXT;
 *  - store_uid_take(): a delivery with store_target.import_uid takes that
 *    UID instead of the next one. It must be at least UIDNEXT (UIDs
 *    strictly ascend, RFC 9051 2.3.1.1), and UIDNEXT moves past it.
 */
#include "store/store-ops.h"
#include "lib/alloc.h"
#include <string.h>

enum store_err store_uid_take(struct store_txn *txn, int64_t mailbox_id, uint32_t uid,
			      uint32_t *uidvalidity_r)
{
	if (uid == 0 || uid == 0xffffffffu)
		return STORE_EINVAL;
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE mailboxes SET uidnext = ?2 + 1 WHERE id = ?1 AND uidnext <= ?2"
		" RETURNING uidvalidity");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, uid);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*uidvalidity_r = (uint32_t)db_column_int64(st, 0);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	/* no row: the UID is below UIDNEXT (taken or once used) */
	return rc == DB_DONE ? STORE_EEXISTS : store_db_err(rc);
}

struct import_ids_args {
	int64_t account_id, mailbox_id;
	uint32_t uidvalidity, uidnext;
	bool raise_only;
};

static enum store_err fn_import_ids(struct store_txn *txn, void *arg, char **error_r)
{
	struct import_ids_args *a = arg;
	enum store_err err = store_mailbox_owned(txn->db, a->account_id, a->mailbox_id);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st;
	int rc;
	if (a->raise_only) {
		/* UIDNEXT may always grow (UIDs only ascend) */
		st = store_prepare(txn->db,
			"UPDATE mailboxes SET uidnext = ?2 WHERE id = ?1 AND uidnext < ?2");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, a->mailbox_id);
		db_bind_int64(st, 2, a->uidnext);
		rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
		if (db_changes(txn->db) > 0 && store_txn_touch_mailbox(txn, a->mailbox_id) == 0)
			return STORE_ETEMP;
		return STORE_OK;
	}
	st = store_prepare(txn->db,
		"SELECT count(*) FROM messages WHERE mailbox_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, a->mailbox_id);
	rc = db_step(st);
	int64_t n = rc == DB_ROW ? db_column_int64(st, 0) : -1;
	db_reset(st);
	if (rc != DB_ROW)
		return store_db_err(rc);
	if (n > 0) {
		*error_r = xstrdup("the mailbox is not empty: its UIDVALIDITY stays");
		return STORE_EPERM;
	}
	/* The old UIDs die with the old UIDVALIDITY: their expunge log would
	 * be read as the new one's (QRESYNC VANISHED). */
	st = store_prepare(txn->db, "DELETE FROM expunged WHERE mailbox_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, a->mailbox_id);
	rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	st = store_prepare(txn->db,
		"UPDATE mailboxes SET uidvalidity = ?2, uidnext = 1 WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, a->mailbox_id);
	db_bind_int64(st, 2, a->uidvalidity);
	rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	/* Mailboxes created later get values above every imported one, so a
	 * deleted and recreated mailbox never repeats a UIDVALIDITY. */
	st = store_prepare(txn->db,
		"UPDATE meta SET value = ?1 WHERE key = 'uidvalidity'"
		" AND CAST(value AS INTEGER) < ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, a->uidvalidity);
	rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	if (store_txn_touch_mailbox(txn, a->mailbox_id) == 0)
		return STORE_ETEMP;
	return STORE_OK;
}

static enum store_err run_ids(struct store *s, struct import_ids_args *a, char **error_r)
{
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = fn_import_ids;
	op.u.func.arg = a;
	enum store_err err = store_run(s, &op);
	if (err != STORE_OK && error_r != NULL)
		*error_r = op.error ? xstrdup(op.error) : xstrdup(store_strerror(err));
	store_op_clear(&op);
	return err;
}

enum store_err store_mailbox_import_ids(struct store *s, int64_t account_id, int64_t mailbox_id,
					uint32_t uidvalidity, char **error_r)
{
	if (uidvalidity == 0)
		return STORE_EINVAL;
	struct import_ids_args a = {.account_id = account_id, .mailbox_id = mailbox_id,
				    .uidvalidity = uidvalidity};
	return run_ids(s, &a, error_r);
}

enum store_err store_mailbox_raise_uidnext(struct store *s, int64_t account_id,
					   int64_t mailbox_id, uint32_t uidnext, char **error_r)
{
	struct import_ids_args a = {.account_id = account_id, .mailbox_id = mailbox_id,
				    .uidnext = uidnext, .raise_only = true};
	return run_ids(s, &a, error_r);
}
