/*
 * store-op-pop3: what a POP3 QUIT commits (RFC 1939 6, UPDATE state):
 * the DELE'd messages are expunged for every client, or with
 * pop3.delete = hide only hidden from POP3; the RETR'd ones get their
 * first-retrieval time (for pop3.expire_days) and, if configured, \Seen.
 */
#include "store/store-ops.h"
#include "lib/alloc.h"

static enum store_err set_hidden(struct store_txn *txn, int64_t mailbox_id, uint32_t uid)
{
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE messages SET pop3_hidden = 1 WHERE mailbox_id = ?1 AND uid = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, uid);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

static enum store_err set_retrieved(struct store_txn *txn, int64_t mailbox_id, uint32_t uid, int64_t now)
{
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE messages SET pop3_retrieved = ?3"
		" WHERE mailbox_id = ?1 AND uid = ?2 AND pop3_retrieved = 0");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, uid);
	db_bind_int64(st, 3, now);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

enum store_err store_op_pop3_commit(struct store_txn *txn, struct store_op *op)
{
	struct store_pop3_commit *p = &op->u.pop3;
	enum store_err err = store_mailbox_owned(txn->db, p->account_id, p->mailbox_id);
	int64_t now = store_now();
	for (size_t i = 0; i < p->nretr && err == STORE_OK; i++)
		err = set_retrieved(txn, p->mailbox_id, p->retr_uids[i], now);
	if (err == STORE_OK && p->mark_seen && p->nretr > 0) {
		struct store_op f;
		store_op_init(&f, STORE_OP_FLAGS);
		f.u.flags.account_id = p->account_id;
		f.u.flags.mailbox_id = p->mailbox_id;
		f.u.flags.uids = p->retr_uids;
		f.u.flags.nuids = p->nretr;
		f.u.flags.mode = STORE_FLAGS_ADD;
		f.u.flags.flags = STORE_FLAG_SEEN;
		err = store_op_flags(txn, &f);
		store_op_clear(&f);
	}
	if (err != STORE_OK || p->ndelete == 0)
		return err;
	if (p->hide) {
		for (size_t i = 0; i < p->ndelete && err == STORE_OK; i++)
			err = set_hidden(txn, p->mailbox_id, p->delete_uids[i]);
		return err;
	}
	struct store_op x;
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.account_id = p->account_id;
	x.u.expunge.mailbox_id = p->mailbox_id;
	x.u.expunge.uids = p->delete_uids;
	x.u.expunge.nuids = p->ndelete;
	err = store_op_expunge(txn, &x);
	store_op_clear(&x);
	return err;
}
