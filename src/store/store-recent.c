/* store-recent: see store-recent.h. The in-memory marks are an open
 * addressing table keyed by mailbox id (ids are never reused: the
 * mailboxes table is AUTOINCREMENT), guarded by one mutex; each entry
 * counts its write-behind ops still in flight, and only entries with none
 * may be dropped, so the mark read back from disk is never behind. */
#include "store/store-recent.h"
#include "store/store-private.h"
#include "store/store-internal.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

struct recent_entry {
	int64_t mailbox_id;	/* 0: free slot */
	int64_t account_id;
	uint32_t mark;
	uint32_t inflight;	/* write-behind ops not yet committed */
};

struct store_recent_table {
	pthread_mutex_t lock;
	struct recent_entry *slots;
	size_t cap, used;	/* cap: a power of two */
};

struct recent_persist {
	struct store_op op;
	struct store *s;
	int64_t account_id, mailbox_id;
	uint32_t mark;
};

void store_recent_init(struct store *s)
{
	struct store_recent_table *t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->cap = 64;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	s->recent = t;
}

void store_recent_free(struct store *s)
{
	struct store_recent_table *t = s->recent;
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
	s->recent = NULL;
}

static struct recent_entry *slot_of(struct store_recent_table *t, int64_t mailbox_id)
{
	size_t i = ((uint64_t)mailbox_id * 0x9e3779b97f4a7c15ull) & (t->cap - 1);
	while (t->slots[i].mailbox_id != 0 && t->slots[i].mailbox_id != mailbox_id)
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

/* Rebuild into `cap` slots, leaving out entries already on disk when
 * `evict`. Lock held. */
static void rebuild(struct store_recent_table *t, size_t cap, bool evict)
{
	struct recent_entry *old = t->slots;
	size_t oldcap = t->cap;
	t->slots = xcalloc(cap, sizeof(*t->slots));
	t->cap = cap;
	t->used = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].mailbox_id == 0 || (evict && old[i].inflight == 0))
			continue;
		*slot_of(t, old[i].mailbox_id) = old[i];
		t->used++;
	}
	free(old);
}

/* The entry of a mailbox, read from disk if not held: lock held. */
static enum store_err entry_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				struct recent_entry **e_r)
{
	struct store_recent_table *t = s->recent;
	struct recent_entry *e = slot_of(t, mailbox_id);
	if (e->mailbox_id == mailbox_id && e->account_id == account_id) {
		*e_r = e;
		return STORE_OK;
	}
	/* absent, or held for another account (a mailbox moved by an
	 * admin): ask the database, which checks the account */
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT recent_uid FROM mailboxes WHERE id = ?1 AND account_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, account_id);
	int rc = db_step(st);
	enum store_err err = store_row_err(rc);
	uint32_t mark = rc == DB_ROW ? (uint32_t)db_column_int64(st, 0) : 0;
	db_reset(st);
	if (err != STORE_OK)
		return err;
	if (e->mailbox_id == mailbox_id) {
		/* the same mailbox under its new owner: keep the higher mark */
		e->account_id = account_id;
		if (mark > e->mark)
			e->mark = mark;
		*e_r = e;
		return STORE_OK;
	}
	if ((t->used + 1) * 2 > t->cap) {
		if (t->used >= STORE_RECENT_MAX_ENTRIES)
			rebuild(t, t->cap, true);
		if ((t->used + 1) * 2 > t->cap)
			rebuild(t, t->cap * 2, false);
		e = slot_of(t, mailbox_id);
	}
	e->mailbox_id = mailbox_id;
	e->account_id = account_id;
	e->mark = mark;
	e->inflight = 0;
	t->used++;
	*e_r = e;
	return STORE_OK;
}

static enum store_err persist_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct recent_persist *p = arg;
	struct db_stmt *st = store_prepare(store_txn_db(txn),
		"UPDATE mailboxes SET recent_uid = ?3"
		" WHERE id = ?1 AND account_id = ?2 AND recent_uid < ?3");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, p->mailbox_id);
	db_bind_int64(st, 2, p->account_id);
	db_bind_int64(st, 3, p->mark);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

static void persist_finish(struct recent_persist *p)
{
	struct store_recent_table *t = p->s->recent;
	pthread_mutex_lock(&t->lock);
	struct recent_entry *e = slot_of(t, p->mailbox_id);
	if (e->mailbox_id == p->mailbox_id && e->inflight > 0)
		e->inflight--;
	pthread_mutex_unlock(&t->lock);
	store_op_clear(&p->op);
	free(p);
}

static void persist_done(struct store_op *op, void *ctx)
{
	/* A failed write costs only this: after a restart the claimed
	 * messages are recent once more. */
	persist_finish(ctx);
}

enum store_err store_recent_claim(struct store *s, int64_t account_id, int64_t mailbox_id,
				  uint32_t upto_uid, uint32_t *old_r)
{
	struct store_recent_table *t = s->recent;
	struct recent_entry *e;
	pthread_mutex_lock(&t->lock);
	enum store_err err = entry_get(s, account_id, mailbox_id, &e);
	if (err != STORE_OK) {
		pthread_mutex_unlock(&t->lock);
		return err;
	}
	*old_r = e->mark;
	if (upto_uid <= e->mark) {
		pthread_mutex_unlock(&t->lock);
		return STORE_OK;
	}
	e->mark = upto_uid;
	e->inflight++;
	pthread_mutex_unlock(&t->lock);

	struct recent_persist *p = xcalloc(1, sizeof(*p));
	p->s = s;
	p->account_id = account_id;
	p->mailbox_id = mailbox_id;
	p->mark = upto_uid;
	store_op_init(&p->op, STORE_OP_FUNC);
	p->op.u.func.fn = persist_fn;
	p->op.u.func.arg = p;
	if (s->writer_running) {
		store_submit(s, &p->op, persist_done, p);
	} else {
		(void)store_run(s, &p->op); /* the CLI, unit tests */
		persist_finish(p);
	}
	return STORE_OK;
}

enum store_err store_recent_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				uint32_t *recent_uid_r, uint32_t *count_r)
{
	struct store_recent_table *t = s->recent;
	struct recent_entry *e;
	pthread_mutex_lock(&t->lock);
	enum store_err err = entry_get(s, account_id, mailbox_id, &e);
	uint32_t mark = err == STORE_OK ? e->mark : 0;
	pthread_mutex_unlock(&t->lock);
	if (err != STORE_OK)
		return err;
	if (recent_uid_r != NULL)
		*recent_uid_r = mark;
	if (count_r == NULL)
		return STORE_OK;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND uid > ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, mark);
	int rc = db_step(st);
	err = store_row_err(rc);
	*count_r = rc == DB_ROW ? (uint32_t)db_column_int64(st, 0) : 0;
	db_reset(st);
	return err;
}
