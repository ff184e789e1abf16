/*
 * store-pop3-all: the reads and writes behind pop3.mailboxes (inbox | all).
 *
 * store_pop3_maildrop() reads the rows a POP3 maildrop is made of, from
 * INBOX or from every mailbox of the account but Trash, Junk and Sent, in
 * one read snapshot. store_pop3_apply_op() is the one write a POP3 session
 * makes, for rows in any of those mailboxes: UIDLs given at first sight
 * (so a UIDL no longer depends on where the message is), and at QUIT the
 * DELE'd and RETR'd rows, mailbox by mailbox through the same code as
 * STORE_OP_POP3_COMMIT (quota, expunge log and change feed included).
 * store_pop3_expired() is the read behind pop3.expire_days (RFC 2449
 * section 6.7), over the same mailboxes a maildrop shows.
 * Plain SQL that PostgreSQL also accepts.
 */
#include "store/store-pop3.h"
#include "store/store-ops.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The roles an `all` maildrop leaves out, by special-use (RFC 6154) and,
 * for an account that marks none of them, by the usual names. */
static const char *const skip_uses[] = {"\\Trash", "\\Junk", "\\Sent"};
static const char *const skip_names[] = {"Trash", "Junk", "Spam", "Sent"};

/* Does a special_use value (attributes separated by spaces) hold one of
 * skip_uses? */
static bool special_skipped(const char *use)
{
	while (use != NULL && *use != '\0') {
		size_t len = strcspn(use, " ");
		for (size_t i = 0; i < sizeof(skip_uses) / sizeof(skip_uses[0]); i++)
			if (len == strlen(skip_uses[i]) && strncasecmp(use, skip_uses[i], len) == 0)
				return true;
		use += len;
		use += strspn(use, " ");
	}
	return false;
}

static bool name_skipped(const char *name)
{
	for (size_t i = 0; i < sizeof(skip_names) / sizeof(skip_names[0]); i++)
		if (strcasecmp(name, skip_names[i]) == 0)
			return true;
	return false;
}

struct mb_row {
	int64_t id;
	bool special, named;	/* skipped by special-use / by name */
};

/* The account's mailboxes and which of them the maildrop shows. */
static enum store_err read_mailboxes(struct db *db, int64_t account_id, bool all, int64_t *inbox_id_r,
				     int64_t **ids_r, size_t *nids_r)
{
	struct db_stmt *st = store_prepare(db,
		"SELECT id, name, special_use FROM mailboxes WHERE account_id = ?1 ORDER BY id");
	struct mb_row *mbs = NULL;
	size_t n = 0, cap = 0;
	bool any_special = false;
	int rc;

	if (st == NULL)
		return STORE_ETEMP;
	*inbox_id_r = 0;
	db_bind_int64(st, 1, account_id);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 1);
		const char *use = db_column_text(st, 2);
		mbs = xgrow(mbs, &cap, n + 1, sizeof(*mbs));
		mbs[n].id = db_column_int64(st, 0);
		mbs[n].special = special_skipped(use);
		mbs[n].named = name != NULL && name_skipped(name);
		any_special |= mbs[n].special;
		if (name != NULL && strcmp(name, "INBOX") == 0)
			*inbox_id_r = mbs[n].id;
		n++;
	}
	db_reset(st);
	if (rc != DB_DONE) {
		xfree(&mbs);
		return store_read_err(rc);
	}
	if (*inbox_id_r == 0) {
		xfree(&mbs);
		return STORE_ENOTFOUND; /* no account, or one without INBOX */
	}
	int64_t *ids = xcalloc(n, sizeof(*ids));
	size_t nids = 0;
	for (size_t i = 0; i < n; i++) {
		bool show = all ? !(any_special ? mbs[i].special : mbs[i].named)
				: mbs[i].id == *inbox_id_r;
		if (show)
			ids[nids++] = mbs[i].id;
	}
	xfree(&mbs);
	*ids_r = ids;
	*nids_r = nids;
	return STORE_OK;
}

static bool id_in(const int64_t *ids, size_t n, int64_t id)
{
	/* ids are ascending (ORDER BY id) */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] == id)
			return true;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

enum store_err store_pop3_maildrop(struct store *s, int64_t account_id, bool all,
				   int64_t *inbox_id_r, struct store_pop3_row **rows_r, size_t *n_r)
{
	struct db *db = store_reader(s);
	struct store_pop3_row *rows = NULL;
	size_t n = 0, cap = 0, nids = 0;
	int64_t *ids = NULL;
	int rc = DB_DONE;

	/* the mailboxes and their messages from one snapshot */
	if (store_step_sql(db, "BEGIN") != STORE_OK)
		return STORE_ETEMP;
	enum store_err err = read_mailboxes(db, account_id, all, inbox_id_r, &ids, &nids);
	struct db_stmt *st = NULL;
	if (err == STORE_OK) {
		/* INBOX alone keeps the UID order POP3 always had here */
		st = all ? store_prepare(db,
			"SELECT m.mailbox_id, m.uid, b.uidvalidity, m.size, m.crlf_size, m.emailid,"
			" m.pop3_uidl FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
			" WHERE b.account_id = ?1 AND m.pop3_hidden = 0"
			" ORDER BY m.internaldate, m.mailbox_id, m.uid")
			 : store_prepare(db,
			"SELECT m.mailbox_id, m.uid, b.uidvalidity, m.size, m.crlf_size, m.emailid,"
			" m.pop3_uidl FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
			" WHERE b.account_id = ?1 AND b.id = ?2 AND m.pop3_hidden = 0 ORDER BY m.uid");
		if (st == NULL)
			err = STORE_ETEMP;
	}
	if (st != NULL) {
		db_bind_int64(st, 1, account_id);
		if (!all)
			db_bind_int64(st, 2, *inbox_id_r);
		while ((rc = db_step(st)) == DB_ROW) {
			int64_t mailbox_id = db_column_int64(st, 0);
			if (!id_in(ids, nids, mailbox_id))
				continue;
			rows = xgrow(rows, &cap, n + 1, sizeof(*rows));
			struct store_pop3_row *r = &rows[n++];
			const char *uidl = db_column_text(st, 6);
			r->mailbox_id = mailbox_id;
			r->uid = (uint32_t)db_column_int64(st, 1);
			r->uidvalidity = (uint32_t)db_column_int64(st, 2);
			r->size = db_column_int64(st, 3);
			r->crlf_size = db_column_int64(st, 4);
			r->emailid = db_column_int64(st, 5);
			r->uidl = uidl != NULL && *uidl != '\0' ? xstrdup(uidl) : NULL;
		}
		db_reset(st);
		err = store_read_err(rc);
	}
	store_step_sql(db, "COMMIT");
	xfree(&ids);
	if (err != STORE_OK) {
		store_pop3_rows_free(rows, n);
		return err;
	}
	*rows_r = rows;
	*n_r = n;
	return STORE_OK;
}

void store_pop3_rows_free(struct store_pop3_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].uidl);
	free(rows);
}

static int item_cmp(const void *a, const void *b)
{
	const struct store_pop3_item *x = a, *y = b;
	if (x->mailbox_id != y->mailbox_id)
		return x->mailbox_id < y->mailbox_id ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static enum store_err assign_uidl(struct store_txn *txn, const struct store_pop3_item *it)
{
	/* only where none is stored: a concurrent session's, or an imported
	 * one, stays */
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE messages SET pop3_uidl = ?3"
		" WHERE mailbox_id = ?1 AND uid = ?2 AND pop3_uidl IS NULL");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, it->mailbox_id);
	db_bind_int64(st, 2, it->uid);
	db_bind_text(st, 3, it->assign_uidl, -1, true);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

/* items[0..n): one mailbox's items, ascending by UID. */
static enum store_err apply_mailbox(struct store_txn *txn, struct store_pop3_apply *a,
				    const struct store_pop3_item *items, size_t n)
{
	enum store_err err = store_mailbox_owned(txn->db, a->account_id, items[0].mailbox_id);
	if (err == STORE_ENOTFOUND)
		return STORE_OK; /* deleted (IMAP DELETE) during the session: nothing to do */
	if (err != STORE_OK)
		return err;
	uint32_t *del = xcalloc(n, sizeof(uint32_t)), *retr = xcalloc(n, sizeof(uint32_t));
	size_t ndel = 0, nretr = 0;
	for (size_t i = 0; i < n && err == STORE_OK; i++) {
		if (items[i].assign_uidl != NULL)
			err = assign_uidl(txn, &items[i]);
		if (items[i].deleted)
			del[ndel++] = items[i].uid;
		if (items[i].retrieved)
			retr[nretr++] = items[i].uid;
	}
	if (err == STORE_OK && (ndel > 0 || nretr > 0)) {
		struct store_op sub;
		store_op_init(&sub, STORE_OP_POP3_COMMIT);
		sub.u.pop3.account_id = a->account_id;
		sub.u.pop3.mailbox_id = items[0].mailbox_id;
		sub.u.pop3.delete_uids = del;
		sub.u.pop3.ndelete = ndel;
		sub.u.pop3.retr_uids = retr;
		sub.u.pop3.nretr = nretr;
		sub.u.pop3.hide = a->hide;
		sub.u.pop3.mark_seen = a->mark_seen;
		err = store_op_pop3_commit(txn, &sub);
		store_op_clear(&sub);
	}
	free(del);
	free(retr);
	return err;
}

static enum store_err fn_pop3_apply(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_pop3_apply *a = arg;
	enum store_err err = STORE_OK;
	size_t start = 0;

	if (a->nitems == 0)
		return STORE_OK;
	qsort(a->items, a->nitems, sizeof(*a->items), item_cmp);
	for (size_t i = 1; i <= a->nitems && err == STORE_OK; i++) {
		if (i == a->nitems || a->items[i].mailbox_id != a->items[start].mailbox_id) {
			err = apply_mailbox(txn, a, a->items + start, i - start);
			start = i;
		}
	}
	if (err != STORE_OK && *error_r == NULL)
		*error_r = xasprintf("pop3: %s", store_strerror(err));
	return err;
}

void store_pop3_apply_op(struct store_op *op, struct store_pop3_apply *a)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = fn_pop3_apply;
	op->u.func.arg = a;
}

struct pop3_mailboxes_args {
	const char *address;	/* normalised */
	const char *mode;	/* NULL = default */
};

static enum store_err fn_set_mailboxes(struct store_txn *txn, void *arg, char **error_r)
{
	const struct pop3_mailboxes_args *a = arg;
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE accounts SET pop3_mailboxes = ?2 WHERE address = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->address, -1, true);
	if (a->mode != NULL)
		db_bind_text(st, 2, a->mode, -1, true);
	else
		db_bind_null(st, 2);
	int rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	if (db_changes(txn->db) == 0) {
		*error_r = xasprintf("no such account %s", a->address);
		return STORE_ENOTFOUND;
	}
	return STORE_OK;
}

enum store_err store_account_pop3_mailboxes(struct store *s, const char *address, const char *mode,
					    char **error_r)
{
	const char *why;

	if (mode != NULL && strcmp(mode, "inbox") != 0 && strcmp(mode, "all") != 0) {
		*error_r = xasprintf("pop3 mailboxes must be inbox, all or default, not '%.32s'", mode);
		return STORE_EINVAL;
	}
	char *addr = address_normalize(address, &why);
	if (addr == NULL) {
		*error_r = xasprintf("invalid address '%s': %s", address, why);
		return STORE_EINVAL;
	}
	struct pop3_mailboxes_args a = {.address = addr, .mode = mode};
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = fn_set_mailboxes;
	op.u.func.arg = &a;
	enum store_err err = store_run(s, &op);
	if (err != STORE_OK)
		*error_r = op.error != NULL ? xstrdup(op.error) : xstrdup(store_strerror(err));
	store_op_clear(&op);
	free(addr);
	return err;
}

enum store_err store_account_pop3_mailboxes_get(struct store *s, int64_t account_id, char **mode_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT pop3_mailboxes FROM accounts WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	const char *mode = rc == DB_ROW ? db_column_text(st, 0) : NULL;
	*mode_r = mode != NULL ? xstrdup(mode) : NULL;
	db_reset(st);
	return store_row_err(rc);
}

/* One account with downloads old enough to expire, and its pop3.mailboxes. */
struct expire_account {
	int64_t id;
	bool all;
};

/* The expired rows of one mailbox, appended to *list. */
static int expire_rows(struct db *db, int64_t account_id, int64_t mailbox_id, int64_t before,
		       size_t max, struct store_pop3_expired **list, size_t *n, size_t *cap)
{
	struct db_stmt *st = store_prepare(db,
		"SELECT uid FROM messages WHERE mailbox_id = ?1 AND pop3_retrieved > 0"
		" AND pop3_retrieved < ?2 AND pop3_hidden = 0 ORDER BY uid LIMIT ?3");
	int rc;

	if (st == NULL)
		return DB_ERROR;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, before);
	db_bind_int64(st, 3, (int64_t)(max - *n));
	while ((rc = db_step(st)) == DB_ROW) {
		*list = xgrow(*list, cap, *n + 1, sizeof(**list));
		(*list)[*n].account_id = account_id;
		(*list)[*n].mailbox_id = mailbox_id;
		(*list)[*n].uid = (uint32_t)db_column_int64(st, 0);
		(*n)++;
	}
	db_reset(st);
	return rc;
}

enum store_err store_pop3_expired(struct store *s, int64_t before, bool default_all, size_t max,
				  struct store_pop3_expired **list_r, size_t *n_r)
{
	struct db *db = store_reader(s);
	struct store_pop3_expired *list = NULL;
	struct expire_account *accts = NULL;
	size_t n = 0, cap = 0, nacct = 0, acap = 0;
	enum store_err err = STORE_OK;
	int rc;

	if (store_step_sql(db, "BEGIN") != STORE_OK)
		return STORE_ETEMP;
	/* which accounts have any; a mailbox POP3 does not show (a Trash the
	 * message was moved to, a folder under `inbox`) keeps its copies */
	struct db_stmt *st = store_prepare(db,
		"SELECT DISTINCT b.account_id, a.pop3_mailboxes FROM messages m"
		" JOIN mailboxes b ON b.id = m.mailbox_id JOIN accounts a ON a.id = b.account_id"
		" WHERE m.pop3_retrieved > 0 AND m.pop3_retrieved < ?1 AND m.pop3_hidden = 0"
		" ORDER BY b.account_id");
	if (st == NULL) {
		err = STORE_ETEMP;
	} else {
		db_bind_int64(st, 1, before);
		while ((rc = db_step(st)) == DB_ROW) {
			const char *mode = db_column_text(st, 1);
			accts = xgrow(accts, &acap, nacct + 1, sizeof(*accts));
			accts[nacct].id = db_column_int64(st, 0);
			accts[nacct].all = mode != NULL ? strcasecmp(mode, "all") == 0 : default_all;
			nacct++;
		}
		db_reset(st);
		err = store_read_err(rc);
	}
	for (size_t a = 0; a < nacct && err == STORE_OK && n < max; a++) {
		int64_t inbox_id, *ids = NULL;
		size_t nids = 0;
		err = read_mailboxes(db, accts[a].id, accts[a].all, &inbox_id, &ids, &nids);
		if (err == STORE_ENOTFOUND) {
			err = STORE_OK;	/* an account without INBOX shows POP3 nothing */
			continue;
		}
		for (size_t i = 0; i < nids && err == STORE_OK && n < max; i++)
			err = store_read_err(expire_rows(db, accts[a].id, ids[i], before, max, &list,
							 &n, &cap));
		xfree(&ids);
	}
	store_step_sql(db, "COMMIT");
	xfree(&accts);
	if (err != STORE_OK) {
		xfree(&list);
		return err;
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}
