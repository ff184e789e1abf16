/*
 * store-op-copy: COPY and MOVE (RFC 9051 6.4.7, 6.4.8). Copies share the
 * content row (only a new message row is written); the destination
 * account's quota is charged in full, as every IMAP quota does. The POP3
 * state goes with the message (UIDL, hidden, first retrieval), so a POP3
 * maildrop of several folders (pop3.mailboxes = all) sees a moved message
 * as the one it already knew.
 */
#include "store/store-ops.h"
#include "lib/alloc.h"

enum store_err store_op_copy(struct store_txn *txn, struct store_op *op)
{
	struct store_copy *c = &op->u.copy;
	/* both mailboxes must be the session's account's (store.h) */
	int64_t src_account = c->account_id, dst_account = c->account_id;
	enum store_err err = store_mailbox_owned(txn->db, c->account_id, c->src_mailbox_id);
	if (err == STORE_OK)
		err = store_mailbox_owned(txn->db, c->account_id, c->dst_mailbox_id);
	if (err != STORE_OK)
		return err;
	struct store_quota q;
	err = store_quota_load(txn, dst_account, &q);
	if (err != STORE_OK)
		return err;
	size_t cap_src = 0, cap_dst = 0;
	uint64_t dst_modseq = 0;
	int64_t now = store_now();
	for (size_t i = 0; i < c->nuids; i++) {
		struct db_stmt *st = store_prepare(txn->db,
			"SELECT flags, keywords, internaldate, size, content_id, prefix, pop3_uidl,"
			" crlf_size, emailid, threadid, search_prefix, pop3_hidden, pop3_retrieved"
			" FROM messages"
			" WHERE mailbox_id = ?1 AND uid = ?2");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, c->src_mailbox_id);
		db_bind_int64(st, 2, c->uids[i]);
		int rc = db_step(st);
		if (rc != DB_ROW) {
			db_reset(st);
			if (rc == DB_DONE)
				continue;
			return store_db_err(rc);
		}
		int64_t size = db_column_int64(st, 3);
		bool same_account = src_account == dst_account;
		/* A move within one account does not change its usage. */
		if (!(c->move && same_account)) {
			if (store_quota_exceeded(&q, size, 1)) {
				db_reset(st);
				return STORE_ENOQUOTA;
			}
			q.used_bytes += size;
			q.used_messages++;
		}
		uint32_t uid, uidvalidity;
		if ((err = store_uid_next(txn, c->dst_mailbox_id, &uid, &uidvalidity)) != STORE_OK) {
			db_reset(st);
			return err;
		}
		if (dst_modseq == 0)
			dst_modseq = store_txn_touch_mailbox(txn, c->dst_mailbox_id);
		struct db_stmt *ins = store_prepare(txn->db,
			"INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internaldate,"
			" savedate, size, content_id, prefix, pop3_uidl, crlf_size, emailid, threadid,"
			" search_prefix, pop3_hidden, pop3_retrieved)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
			" ?16, ?17)");
		if (ins == NULL) {
			db_reset(st);
			return STORE_ETEMP;
		}
		db_bind_int64(ins, 1, c->dst_mailbox_id);
		db_bind_int64(ins, 2, uid);
		db_bind_int64(ins, 3, (int64_t)dst_modseq);
		db_bind_column(ins, 4, st, 0);
		db_bind_column(ins, 5, st, 1);
		db_bind_column(ins, 6, st, 2);
		db_bind_int64(ins, 7, now);
		db_bind_int64(ins, 8, size);
		db_bind_column(ins, 9, st, 4);
		db_bind_column(ins, 10, st, 5);
		db_bind_column(ins, 11, st, 6);
		db_bind_column(ins, 12, st, 7);
		/* RFC 8474 5.1: a copy keeps its EMAILID (and THREADID) */
		db_bind_column(ins, 13, st, 8);
		db_bind_column(ins, 14, st, 9);
		db_bind_column(ins, 15, st, 10);
		db_bind_column(ins, 16, st, 11);
		db_bind_column(ins, 17, st, 12);
		int64_t content_id = db_column_int64(st, 4);
		rc = db_step(ins);
		db_reset(ins);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
		/* The copy shares the content: unless its count goes up with
		 * it, the first expunge of either would free it under the other. */
		st = store_prepare(txn->db, "UPDATE contents SET refs = refs + 1 WHERE id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, content_id);
		rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_step_err(rc);
		if (db_changes(txn->db) != 1)
			return STORE_ECORRUPT; /* the source named a content that is not there */
		if ((err = store_quota_add(txn, dst_account, size, 1)) != STORE_OK)
			return err;
		c->src_uids = xgrow(c->src_uids, &cap_src, c->ncopied + 1, sizeof(uint32_t));
		c->dst_uids = xgrow(c->dst_uids, &cap_dst, c->ncopied + 1, sizeof(uint32_t));
		c->src_uids[c->ncopied] = c->uids[i];
		c->dst_uids[c->ncopied] = uid;
		c->ncopied++;
		c->dst_uidvalidity = uidvalidity;
	}
	if (c->move && c->ncopied > 0) {
		uint64_t modseq = store_txn_touch_mailbox(txn, c->src_mailbox_id);
		for (size_t i = 0; i < c->ncopied; i++) {
			err = store_message_remove(txn, c->src_mailbox_id, src_account, c->src_uids[i], modseq);
			if (err != STORE_OK)
				return err;
		}
	}
	if (c->dst_uidvalidity == 0) {
		struct db_stmt *st = store_prepare(txn->db, "SELECT uidvalidity FROM mailboxes WHERE id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, c->dst_mailbox_id);
		int rc = db_step(st);
		if (rc == DB_ROW)
			c->dst_uidvalidity = (uint32_t)db_column_int64(st, 0);
		db_reset(st);
		if (rc != DB_ROW)
			return rc == DB_DONE ? STORE_ENOTFOUND : store_step_err(rc);
	}
	return STORE_OK;
}
