/*
 * store-op: what happens to an op before it reaches the writer (parsing
 * and hashing a message on the caller's thread, so the writer only writes)
 * and the dispatch to each op's implementation.
 */
#include "store/store-internal.h"
#include "store/store-ops.h"
#include "store/store-fts.h"
#include "lib/alloc.h"
#include "mail/crlf.h"
#include <openssl/evp.h>

void store_op_prepare(struct store *s, struct store_op *op)
{
	op->err = STORE_OK;
	xfree(&op->error);
	if (op->kind == STORE_OP_MULTI) {
		for (size_t i = 0; i < op->u.multi.nops; i++)
			store_op_prepare(s, op->u.multi.ops[i]);
		return;
	}
	if (op->kind != STORE_OP_DELIVER || op->priv != NULL)
		return;
	struct store_deliver_priv *p = xcalloc(1, sizeof(*p));
	unsigned int n = 0;
	EVP_Digest(op->u.deliver.data, op->u.deliver.len, p->hash, &n, EVP_sha256(), NULL);
	mime_index_build(op->u.deliver.data, op->u.deliver.len, &p->index);
	p->crlf_size = crlf_size(op->u.deliver.data, op->u.deliver.len);
	store_fts_prepare(s, &op->u.deliver, p);
	op->priv = p;
}

void store_op_release_priv(struct store_op *op)
{
	if (op->kind == STORE_OP_DELIVER && op->priv != NULL) {
		struct store_deliver_priv *p = op->priv;
		mime_index_clear(&p->index);
		store_fts_release(p);
		free(p);
	}
	op->priv = NULL;
}

enum store_err store_op_execute(struct store_txn *txn, struct store_op *op)
{
	switch (op->kind) {
	case STORE_OP_DELIVER: return store_op_deliver(txn, op);
	case STORE_OP_FLAGS: return store_op_flags(txn, op);
	case STORE_OP_EXPUNGE: return store_op_expunge(txn, op);
	case STORE_OP_COPY: return store_op_copy(txn, op);
	case STORE_OP_MAILBOX_CREATE: return store_op_mailbox_create(txn, op);
	case STORE_OP_MAILBOX_DELETE: return store_op_mailbox_delete(txn, op);
	case STORE_OP_MAILBOX_RENAME: return store_op_mailbox_rename(txn, op);
	case STORE_OP_MAILBOX_SUBSCRIBE: return store_op_mailbox_subscribe(txn, op);
	case STORE_OP_POP3_COMMIT: return store_op_pop3_commit(txn, op);
	case STORE_OP_FUNC: return op->u.func.fn(txn, op->u.func.arg, &op->error);
	case STORE_OP_MULTI: return store_op_multi(txn, op);
	}
	return STORE_EINVAL;
}

struct db *store_txn_db(struct store_txn *txn)
{
	return txn->db;
}

/* The MODSEQ this op already gave the mailbox, or 0. */
static uint64_t op_modseq(const struct store_txn *txn, int64_t mailbox_id)
{
	for (size_t i = txn->op_changed_start; i < txn->nchanged; i++)
		if (txn->changed[i].mailbox_id == mailbox_id && txn->changed[i].modseq != 0)
			return txn->changed[i].modseq;
	return 0;
}

static void note_changed(struct store_txn *txn, int64_t mailbox_id, int64_t account_id,
			 uint64_t modseq)
{
	txn->changed = xgrow(txn->changed, &txn->cap, txn->nchanged + 1, sizeof(*txn->changed));
	txn->changed[txn->nchanged++] = (struct store_changed){
		.mailbox_id = mailbox_id, .account_id = account_id, .modseq = modseq};
}

enum store_err store_uid_next_touch(struct store_txn *txn, int64_t mailbox_id, uint32_t *uid_r,
				    uint32_t *uidvalidity_r, uint64_t *modseq_r)
{
	if ((*modseq_r = op_modseq(txn, mailbox_id)) != 0)
		return store_uid_next(txn, mailbox_id, uid_r, uidvalidity_r);
	/* both counters of the row in one statement (one round trip) */
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1"
		" WHERE id = ?1 RETURNING uidnext - 1, uidvalidity, highestmodseq, account_id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	uint64_t modseq;
	int64_t account_id;
	/* (on ELIMIT the target's savepoint undoes the statement) */
	enum store_err err = store_uid_row(st, uid_r, uidvalidity_r, &modseq, &account_id);
	if (err != STORE_OK)
		return err;
	note_changed(txn, mailbox_id, account_id, modseq);
	*modseq_r = modseq;
	return STORE_OK;
}

uint64_t store_txn_touch_mailbox(struct store_txn *txn, int64_t mailbox_id)
{
	/* One new MODSEQ per mailbox per op. */
	uint64_t known = op_modseq(txn, mailbox_id);
	if (known != 0)
		return known;
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?1"
		" RETURNING highestmodseq, account_id");
	if (st == NULL)
		return 0;
	db_bind_int64(st, 1, mailbox_id);
	if (db_step(st) != DB_ROW) {
		db_reset(st);
		return 0;
	}
	uint64_t modseq = (uint64_t)db_column_int64(st, 0);
	int64_t account_id = db_column_int64(st, 1);
	db_reset(st);
	note_changed(txn, mailbox_id, account_id, modseq);
	return modseq;
}
