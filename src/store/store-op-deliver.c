/*
 * store-op-deliver: store one message into one or more mailboxes. The
 * content row is written once (or found by its hash) and referenced by one
 * message row per target; each target has its own savepoint, so with
 * per_target one full mailbox does not fail the others.
 */
#include "store/store-ops.h"
#include "store/store-content.h"
#include "store/store-fts.h"
#include "store/store-quota-warn.h"
#include "lib/alloc.h"
#include <string.h>
#include <strings.h>

static enum store_err content_find_or_add(struct store_txn *txn, const struct store_deliver *d,
					  const struct store_deliver_priv *p, int64_t *id_r)
{
	struct db_stmt *st = store_prepare(txn->db, "SELECT id FROM contents WHERE hash = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_blob(st, 1, p->hash, sizeof(p->hash), true);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*id_r = db_column_int64(st, 0);
		db_reset(st);
		return STORE_OK;
	}
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);

	/* store.content = dir:PATH: the bytes go to a file, the row names it */
	char *location = NULL;
	if (store_content_in_files(txn->s)) {
		enum store_err err = store_content_put(txn, p->hash, d->data, d->len, &location);
		if (err != STORE_OK)
			return err;
	}
	st = store_prepare(txn->db,
		"INSERT INTO contents (hash, size, crlf_size, refs, data, location)"
		" VALUES (?1, ?2, ?4, 0, ?3, ?5) RETURNING id");
	if (st == NULL) {
		free(location);
		return STORE_ETEMP;
	}
	db_bind_blob(st, 1, p->hash, sizeof(p->hash), true);
	db_bind_int64(st, 2, (int64_t)d->len);
	db_bind_blob(st, 3, location != NULL ? "" : d->data, location != NULL ? 0 : d->len, true);
	db_bind_int64(st, 4, p->crlf_size);
	db_bind_text(st, 5, location, -1, false);
	enum store_err err = store_insert_id(st, id_r);
	free(location);
	if (err != STORE_OK)
		return err;

	const struct mime_index *ix = &p->index;
	st = store_prepare(txn->db,
		"INSERT INTO content_index (content_id, envelope, body, bodystructure, parts,"
		" subject, from_addr, to_addr, cc_addr, bcc_addr, message_id, in_reply_to,"
		" references_hdr, date, header_len, preview)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
	if (st == NULL)
		return STORE_ETEMP;
	const char *texts[] = {ix->envelope, ix->body, ix->bodystructure, ix->parts,
			       ix->subject, ix->from, ix->to, ix->cc, ix->bcc,
			       ix->message_id, ix->in_reply_to, ix->references};
	db_bind_int64(st, 1, *id_r);
	for (int i = 0; i < 12; i++)
		db_bind_text(st, 2 + i, texts[i], -1, true);
	db_bind_int64(st, 14, ix->date);
	db_bind_int64(st, 15, (int64_t)ix->header_len);
	db_bind_text(st, 16, ix->preview, -1, true);
	/* (no answer needed: an error fails the op's next statement) */
	rc = db_step_deferred(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	return p->has_text ? store_fts_write(txn, *id_r, &p->text) : STORE_OK;
}

static enum store_err inbox_of(struct store_txn *txn, int64_t account_id, int64_t *id_r)
{
	struct db_stmt *st = store_prepare(txn->db,
		"SELECT id FROM mailboxes WHERE account_id = ?1 AND name = 'INBOX'");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*id_r = db_column_int64(st, 0);
	db_reset(st);
	return store_row_err(rc);
}

/* A Sieve fileinto target by name: the mailbox, created with :create
 * (RFC 5490 3.2), or 0 = INBOX when it does not exist (RFC 5228 4.1:
 * the message must not be lost). */
static enum store_err named_mailbox(struct store_txn *txn, struct store_target *t, int64_t *id_r)
{
	*id_r = 0;
	if (strcasecmp(t->mailbox_name, "INBOX") == 0)
		return STORE_OK;
	struct db_stmt *st = store_prepare(txn->db,
		"SELECT id FROM mailboxes WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, t->account_id);
	db_bind_text(st, 2, t->mailbox_name, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*id_r = db_column_int64(st, 0);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	if (rc != DB_DONE)
		return store_db_err(rc);
	if (t->create_mailbox && store_mailbox_name_valid(t->mailbox_name)) {
		struct store_op mk;
		store_op_init(&mk, STORE_OP_MAILBOX_CREATE);
		mk.u.mailbox.account_id = t->account_id;
		mk.u.mailbox.name = t->mailbox_name;
		enum store_err err = store_op_mailbox_create(txn, &mk);
		if (err == STORE_OK)
			*id_r = mk.u.mailbox.mailbox_id;
		store_op_clear(&mk);
		if (err == STORE_OK || err == STORE_ETEMP || err == STORE_ENOSPACE ||
		    err == STORE_ECORRUPT)
			return err;
	}
	t->fell_back = true;
	return STORE_OK;
}

static enum store_err deliver_target(struct store_txn *txn, const struct store_deliver *d,
				     const struct store_deliver_priv *p, struct store_target *t,
				     int64_t content_id)
{
	int64_t mailbox_id = t->mailbox_id;
	enum store_err err;
	t->fell_back = false;
	if (mailbox_id == 0 && t->mailbox_name != NULL &&
	    (err = named_mailbox(txn, t, &mailbox_id)) != STORE_OK)
		return err;
	if (mailbox_id == 0 && (err = inbox_of(txn, t->account_id, &mailbox_id)) != STORE_OK)
		return err;
	/* the target's mailbox must be its account's (store.h); one found
	 * by name above was looked up among the account's own */
	int64_t account_id = t->account_id;
	if (t->mailbox_id != 0 &&
	    (err = store_mailbox_owned(txn->db, account_id, mailbox_id)) != STORE_OK)
		return err;
	size_t prefix_len = t->prefix ? strlen(t->prefix) : 0;
	int64_t size = (int64_t)(prefix_len + d->len);

	struct store_quota q;
	if ((err = store_quota_load(txn, account_id, &q)) != STORE_OK)
		return err;
	if (!p->quota_exempt && store_quota_exceeded(&q, size, 1))
		return STORE_ENOQUOTA;

	uint32_t uid, uidvalidity;
	uint64_t modseq = 0;
	if (t->import_uid != 0)
		err = store_uid_take(txn, mailbox_id, t->import_uid, &uidvalidity);
	else
		err = store_uid_next_touch(txn, mailbox_id, &uid, &uidvalidity, &modseq);
	if (err != STORE_OK)
		return err;
	if (t->import_uid != 0) {
		uid = t->import_uid;
		modseq = store_txn_touch_mailbox(txn, mailbox_id);
	}
	if (modseq == 0)
		return STORE_ETEMP;
	int64_t emailid, threadid;
	if ((err = store_objectid_assign(txn, account_id, &p->index, &emailid, &threadid)) != STORE_OK)
		return err;
	char *keywords = store_keywords_normalize(t->keywords);
	int64_t now = store_now();
	struct db_stmt *st = store_prepare(txn->db,
		"INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internaldate,"
		" savedate, size, content_id, prefix, pop3_uidl, crlf_size, emailid, threadid,"
		" search_prefix)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
	if (st == NULL) {
		free(keywords);
		return STORE_ETEMP;
	}
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, uid);
	db_bind_int64(st, 3, (int64_t)modseq);
	db_bind_int64(st, 4, t->flags & STORE_FLAGS_ALL);
	db_bind_text(st, 5, keywords, -1, true);
	db_bind_int64(st, 6, d->internaldate ? d->internaldate : now);
	db_bind_int64(st, 7, now);
	db_bind_int64(st, 8, size);
	db_bind_int64(st, 9, content_id);
	if (prefix_len > 0)
		db_bind_blob(st, 10, t->prefix, (int)prefix_len, true);
	db_bind_text(st, 11, d->pop3_uidl, -1, true);
	/* the prefix is CRLF lines, so only the content can differ */
	db_bind_int64(st, 12, (int64_t)prefix_len + p->crlf_size);
	db_bind_int64(st, 13, emailid);
	db_bind_int64(st, 14, threadid);
	/* the prefix's folded text for SEARCH (store-fts.h) */
	size_t ti = (size_t)(t - d->targets);
	if (ti < p->nprefix_texts)
		db_bind_text(st, 15, p->prefix_texts[ti], -1, true);
	/* These two need no answer (PostgreSQL sends them without waiting);
	 * an error of theirs fails store_quota_add's UPDATE below, which
	 * waits for it, so it is this target's. */
	int rc = db_step_deferred(st);
	db_reset(st);
	free(keywords);
	if (rc != DB_DONE)
		return store_db_err(rc);

	st = store_prepare(txn->db, "UPDATE contents SET refs = refs + 1 WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, content_id);
	rc = db_step_deferred(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	if ((err = store_quota_add(txn, account_id, size, 1)) != STORE_OK)
		return err;
	if (d->quota_warn && (err = store_quota_warn(txn, account_id, &q, size)) != STORE_OK)
		return err;
	t->out_mailbox_id = mailbox_id;
	t->uid = uid;
	t->uidvalidity = uidvalidity;
	t->modseq = modseq;
	return STORE_OK;
}

enum store_err store_op_deliver(struct store_txn *txn, struct store_op *op)
{
	struct store_deliver *d = &op->u.deliver;
	const struct store_deliver_priv *p = op->priv;
	if (d->ntargets == 0)
		return STORE_EINVAL;
	for (size_t i = 0; i < d->ntargets; i++) {
		d->targets[i].err = STORE_ETEMP;
		d->targets[i].uid = 0;
	}
	int64_t content_id = 0;
	enum store_err err = content_find_or_add(txn, d, p, &content_id);
	if (err != STORE_OK) {
		for (size_t i = 0; i < d->ntargets; i++)
			d->targets[i].err = err;
		return err;
	}
	size_t ok = 0;
	enum store_err first_err = STORE_OK;
	for (size_t i = 0; i < d->ntargets; i++) {
		/* a target and those joined to it succeed or fail together */
		size_t last = i;
		while (last + 1 < d->ntargets && d->targets[last + 1].joined)
			last++;
		size_t changed_mark = txn->nchanged;
		/* (its error may be one of content_find_or_add's deferred
		 * statements: the op fails, as it would there) */
		enum store_err serr = store_step_sql_deferred(txn->db, "SAVEPOINT target");
		if (serr != STORE_OK) {
			for (size_t k = 0; k < d->ntargets; k++) {
				d->targets[k].err = serr;
				d->targets[k].uid = 0;
			}
			return serr;
		}
		enum store_err gerr = STORE_OK;
		for (size_t k = i; k <= last && gerr == STORE_OK; k++)
			gerr = d->targets[k].err = deliver_target(txn, d, p, &d->targets[k], content_id);
		if (gerr == STORE_OK) {
			/* (an error here fails the op's RELEASE, which waits) */
			store_step_sql_deferred(txn->db, "RELEASE target");
			ok += last - i + 1;
			i = last;
			continue;
		}
		store_step_sql(txn->db, "ROLLBACK TO target");
		store_step_sql(txn->db, "RELEASE target");
		store_txn_undone(txn);
		txn->nchanged = changed_mark;
		for (size_t k = i; k <= last; k++) {
			d->targets[k].err = gerr;
			d->targets[k].uid = 0;
		}
		i = last;
		if (first_err == STORE_OK)
			first_err = gerr;
		/* The database rolled back the whole transaction (DB_FULL
		 * and friends): the next target would commit on its own. */
		if (!d->per_target || !db_in_transaction(txn->db))
			break;
	}
	if (ok == 0 || (!d->per_target && first_err != STORE_OK)) {
		/* The op's savepoint is rolled back: nothing of it is stored. */
		for (size_t i = 0; i < d->ntargets; i++) {
			if (d->targets[i].err == STORE_OK)
				d->targets[i].err = first_err;
			d->targets[i].uid = 0;
		}
		return first_err;
	}
	return STORE_OK;
}
