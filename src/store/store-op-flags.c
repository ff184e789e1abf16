/*
 * store-op-flags: STORE (RFC 9051 6.4.6) with CONDSTORE's UNCHANGEDSINCE
 * (RFC 7162 3.1.3). Each message whose flags really change gets the op's
 * new MODSEQ; unchanged messages keep theirs.
 */
#include "store/store-ops.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <string.h>
#include <strings.h>

static bool kw_has(const char *list, const char *k, size_t n)
{
	const char *p = list;
	while (p != NULL && *p) {
		const char *e = strchr(p, ' ');
		size_t m = e ? (size_t)(e - p) : strlen(p);
		if (m == n && strncasecmp(p, k, n) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* Apply mode to a keyword list; returns the new normalised list (or NULL). */
static char *kw_apply(const char *cur, const char *change, enum store_flags_mode mode)
{
	if (mode == STORE_FLAGS_REPLACE)
		return store_keywords_normalize(change);
	struct buf b;
	buf_init(&b, STORE_MAX_KEYWORDS * (STORE_MAX_KEYWORD_LEN + 1) * 2 + 2);
	const char *p = cur;
	while (p != NULL && *p) {
		const char *e = strchr(p, ' ');
		size_t m = e ? (size_t)(e - p) : strlen(p);
		if (mode != STORE_FLAGS_REMOVE || !kw_has(change, p, m)) {
			if (b.len)
				buf_putc(&b, ' ');
			buf_append(&b, p, m);
		}
		p = e ? e + 1 : NULL;
	}
	if (mode == STORE_FLAGS_ADD && change != NULL) {
		if (b.len)
			buf_putc(&b, ' ');
		buf_puts(&b, change);
	}
	char *out = store_keywords_normalize(b.data ? b.data : "");
	buf_free(&b);
	return out;
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

enum store_err store_op_flags(struct store_txn *txn, struct store_op *op)
{
	struct store_flags *f = &op->u.flags;
	size_t cap_changed = 0, cap_mod = 0, cap_ms = 0;
	uint64_t modseq = 0;
	/* only the session's own mailbox (store.h): checked here, in SQL */
	enum store_err err = store_mailbox_owned(txn->db, f->account_id, f->mailbox_id);
	if (err != STORE_OK)
		return err;
	for (size_t i = 0; i < f->nuids; i++) {
		struct db_stmt *st = store_prepare(txn->db,
			"SELECT flags, keywords, modseq FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, f->mailbox_id);
		db_bind_int64(st, 2, f->uids[i]);
		int rc = db_step(st);
		if (rc != DB_ROW) {
			db_reset(st);
			if (rc == DB_DONE)
				continue; /* expunged meanwhile: skipped */
			return store_db_err(rc);
		}
		uint32_t old_flags = (uint32_t)db_column_int64(st, 0);
		char *old_kw = db_column_type(st, 1) == DB_TYPE_NULL ? NULL :
			xstrdup(db_column_text(st, 1));
		uint64_t old_modseq = (uint64_t)db_column_int64(st, 2);
		db_reset(st);

		if (f->unchangedsince != 0 && old_modseq > f->unchangedsince) {
			f->modified = xgrow(f->modified, &cap_mod, f->nmodified + 1, sizeof(uint32_t));
			f->modified[f->nmodified++] = f->uids[i];
			free(old_kw);
			continue;
		}
		uint32_t new_flags = old_flags;
		switch (f->mode) {
		case STORE_FLAGS_REPLACE: new_flags = f->flags; break;
		case STORE_FLAGS_ADD: new_flags |= f->flags; break;
		case STORE_FLAGS_REMOVE: new_flags &= ~f->flags; break;
		}
		new_flags &= STORE_FLAGS_ALL;
		char *new_kw = (f->keywords == NULL && f->mode != STORE_FLAGS_REPLACE) ?
			(old_kw ? xstrdup(old_kw) : NULL) : kw_apply(old_kw, f->keywords, f->mode);
		bool changed = new_flags != old_flags || !str_eq(new_kw, old_kw);
		free(old_kw);
		if (!changed) {
			free(new_kw);
			continue;
		}
		if (modseq == 0 && (modseq = store_txn_touch_mailbox(txn, f->mailbox_id)) == 0) {
			free(new_kw);
			return STORE_ETEMP;
		}
		st = store_prepare(txn->db,
			"UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5"
			" WHERE mailbox_id = ?1 AND uid = ?2");
		if (st == NULL) {
			free(new_kw);
			return STORE_ETEMP;
		}
		db_bind_int64(st, 1, f->mailbox_id);
		db_bind_int64(st, 2, f->uids[i]);
		db_bind_int64(st, 3, new_flags);
		db_bind_text(st, 4, new_kw, -1, false);
		db_bind_int64(st, 5, (int64_t)modseq);
		rc = db_step(st);
		db_reset(st);
		free(new_kw);
		if (rc != DB_DONE)
			return store_db_err(rc);
		f->changed = xgrow(f->changed, &cap_changed, f->nchanged + 1, sizeof(uint32_t));
		f->changed_modseq = xgrow(f->changed_modseq, &cap_ms, f->nchanged + 1, sizeof(uint64_t));
		f->changed[f->nchanged] = f->uids[i];
		f->changed_modseq[f->nchanged] = modseq;
		f->nchanged++;
	}
	return STORE_OK;
}

enum store_err store_op_expunge(struct store_txn *txn, struct store_op *op)
{
	struct store_expunge *x = &op->u.expunge;
	int64_t account_id = x->account_id;
	enum store_err err = store_mailbox_owned(txn->db, account_id, x->mailbox_id);
	if (err != STORE_OK)
		return err;
	/* Collect the victims first; deleting while stepping is not allowed. */
	uint32_t *victims = NULL;
	size_t nvictims = 0, cap = 0;
	struct db_stmt *st = store_prepare(txn->db,
		"SELECT uid, flags FROM messages WHERE mailbox_id = ?1 ORDER BY uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, x->mailbox_id);
	size_t j = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		uint32_t uid = (uint32_t)db_column_int64(st, 0);
		uint32_t flags = (uint32_t)db_column_int64(st, 1);
		if (x->only_deleted && !(flags & STORE_FLAG_DELETED))
			continue;
		if (x->uids != NULL) {
			while (j < x->nuids && x->uids[j] < uid)
				j++;
			if (j >= x->nuids || x->uids[j] != uid)
				continue;
		}
		victims = xgrow(victims, &cap, nvictims + 1, sizeof(*victims));
		victims[nvictims++] = uid;
	}
	db_reset(st);
	if (rc != DB_DONE) {
		free(victims);
		return store_db_err(rc);
	}
	if (nvictims == 0) {
		free(victims);
		return STORE_OK;
	}
	uint64_t modseq = store_txn_touch_mailbox(txn, x->mailbox_id);
	for (size_t i = 0; i < nvictims; i++) {
		err = store_message_remove(txn, x->mailbox_id, account_id, victims[i], modseq);
		if (err != STORE_OK) {
			free(victims);
			return err;
		}
	}
	x->expunged = victims;
	x->nexpunged = nvictims;
	x->modseq = modseq;
	return STORE_OK;
}
