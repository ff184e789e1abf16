/*
 * store-op-queue: the writes of the outbound queue (store-queue.h), each
 * a STORE_OP_FUNC so it joins the writer's group commit beside the
 * deliveries of the same moment: adding a message with its recipients,
 * recording the results of an attempt (with the DSN they cause, in the
 * same transaction), and the admin actions.
 */
#include "store/store-internal.h"
#include "store/store-queue.h"
#include "lib/alloc.h"
#include "mail/header-field.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A copy of everything an add needs, owned by the op. */
struct queue_add_args {
	int64_t account_id;
	char *return_path, *envid;
	bool ret_full;
	int tls_mode;		/* STORE_QUEUE_TLS_* */
	struct store_queue_rcpt *rcpts;
	size_t n_rcpts;
	char *data;
	size_t len;
	char *message_id;
	int64_t queue_id;	/* out */
};

/* Longest Message-ID kept for `queue list`; header lines searched. */
#define QUEUE_MESSAGE_ID_MAX 998

/* The Message-ID field's value (RFC 5322 3.6.4), unfolded, or NULL: only
 * for display and tests, so a simple scan of the header is enough. */
static char *find_message_id(const char *data, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t eol = i;
		while (eol < len && data[eol] != '\n')
			eol++;
		size_t l = eol - i;
		if (l > 0 && data[i + l - 1] == '\r')
			l--;
		if (l == 0)
			return NULL; /* end of the header */
		if (l > 11 && strncasecmp(data + i, "Message-ID:", 11) == 0) {
			const char *v = data + i + 11;
			size_t vl = l - 11;
			while (vl > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			if (vl == 0 && eol + 1 < len && (data[eol + 1] == ' ' || data[eol + 1] == '\t')) {
				/* folded onto the next line */
				size_t j = eol + 1, e = j;
				while (e < len && data[e] != '\n')
					e++;
				v = data + j;
				vl = e - j;
				while (vl > 0 && (*v == ' ' || *v == '\t')) {
					v++;
					vl--;
				}
				if (vl > 0 && v[vl - 1] == '\r')
					vl--;
			}
			while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			return vl > 0 && vl <= QUEUE_MESSAGE_ID_MAX ? xstrndup(v, vl) : NULL;
		}
		i = eol + 1;
	}
	return NULL;
}

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at != NULL ? at + 1 : "";
}

/* RFC 8689 5: one "TLS-Required: No" field (the only value defined,
 * case-insensitive) asks that the recipient's TLS policy be ignored. More
 * than one field is not a clear request: ignored. */
static bool tls_required_no(const char *data, size_t len)
{
	unsigned count = 0;
	char *v = header_field_get(data, len, "TLS-Required", &count);
	bool no = false;
	if (v != NULL && count == 1) {
		char *p = v, *end = v + strlen(v);
		while (*p == ' ' || *p == '\t')
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		no = end - p == 2 && strncasecmp(p, "no", 2) == 0;
	}
	free(v);
	return no;
}

static struct queue_add_args *add_args_new(int64_t account_id, const char *return_path,
					   const char *envid, unsigned flags,
					   const struct store_queue_rcpt *rcpts, size_t n,
					   const char *data, size_t len)
{
	struct queue_add_args *a = xcalloc(1, sizeof(*a));
	a->account_id = account_id;
	a->return_path = xstrdup(return_path != NULL ? return_path : "");
	a->envid = envid != NULL ? xstrdup(envid) : NULL;
	a->ret_full = (flags & STORE_QUEUE_RET_FULL) != 0;
	a->tls_mode = (flags & STORE_QUEUE_REQUIRETLS) != 0 ? STORE_QUEUE_TLS_REQUIRED :
		tls_required_no(data, len) ? STORE_QUEUE_TLS_OPTIONAL : STORE_QUEUE_TLS_DEFAULT;
	a->rcpts = xcalloc(n > 0 ? n : 1, sizeof(*a->rcpts));
	for (size_t i = 0; i < n; i++) {
		a->rcpts[i].address = xstrdup(rcpts[i].address);
		a->rcpts[i].orcpt = rcpts[i].orcpt != NULL ? xstrdup(rcpts[i].orcpt) : NULL;
		a->rcpts[i].notify = rcpts[i].notify;
	}
	a->n_rcpts = n;
	a->data = xmemdup(data, len);
	a->len = len;
	a->message_id = find_message_id(data, len);
	return a;
}

static void add_args_free(struct queue_add_args *a)
{
	if (a == NULL)
		return;
	free(a->return_path);
	free(a->envid);
	for (size_t i = 0; i < a->n_rcpts; i++) {
		free((char *)a->rcpts[i].address);
		free((char *)a->rcpts[i].orcpt);
	}
	free(a->rcpts);
	free(a->data);
	free(a->message_id);
	free(a);
}

/* Insert one message and its recipients inside the open transaction. */
static enum store_err queue_insert(struct store_txn *txn, struct queue_add_args *a)
{
	struct db *db = store_txn_db(txn);
	txn->queue_changed = true; /* for the node that sends (store-feed-nodes.c) */
	if (a->n_rcpts == 0)
		return STORE_EINVAL;
	if (a->n_rcpts > STORE_QUEUE_MAX_RCPTS)
		return STORE_ELIMIT;
	int64_t now = store_now();
	struct db_stmt *st = store_prepare(db,
		"INSERT INTO queue_messages (account_id, return_path, envid, ret_full, created,"
		" size, message_id, data, requiretls) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" RETURNING id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, a->account_id);
	db_bind_text(st, 2, a->return_path, -1, true);
	db_bind_text(st, 3, a->envid, -1, true);
	db_bind_int(st, 4, a->ret_full);
	db_bind_int64(st, 5, now);
	db_bind_int64(st, 6, (int64_t)a->len);
	db_bind_text(st, 7, a->message_id, -1, true);
	db_bind_blob(st, 8, a->data, a->len, true);
	db_bind_int(st, 9, a->tls_mode);
	enum store_err err = store_insert_id(st, &a->queue_id);
	if (err != STORE_OK)
		return err;
	st = store_prepare(db,
		"INSERT INTO queue_rcpts (queue_id, address, domain, orcpt, notify, next_attempt,"
		" updated) VALUES (?1, ?2, lower(?3), ?4, ?5, ?6, ?6)");
	if (st == NULL)
		return STORE_ETEMP;
	for (size_t i = 0; i < a->n_rcpts; i++) {
		db_bind_int64(st, 1, a->queue_id);
		db_bind_text(st, 2, a->rcpts[i].address, -1, true);
		db_bind_text(st, 3, domain_of(a->rcpts[i].address), -1, true);
		db_bind_text(st, 4, a->rcpts[i].orcpt, -1, true);
		db_bind_int(st, 5, (int)a->rcpts[i].notify);
		db_bind_int64(st, 6, now);
		int rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
	}
	return STORE_OK;
}

static enum store_err add_fn(struct store_txn *txn, void *arg, char **error_r)
{
	return queue_insert(txn, arg);
}

static void notify(struct store *s)
{
	if (s->queue_notify != NULL)
		s->queue_notify(s->queue_notify_ctx);
}

void store_queue_set_notify(struct store *s, void (*fn)(void *ctx), void *ctx)
{
	s->queue_notify = fn;
	s->queue_notify_ctx = ctx;
}

/* An async op with its arguments and the caller's callback. */
struct queue_async {
	struct store_op op;
	struct store *s;
	void *args;
	void (*free_args)(void *args);
	int64_t (*result_id)(void *args);
	store_queue_done_cb *done;
	void *ctx;
};

static void async_done(struct store_op *op, void *ctx)
{
	struct queue_async *q = ctx;
	enum store_err err = op->err;
	int64_t id = err == STORE_OK ? q->result_id(q->args) : 0;
	if (err == STORE_OK)
		notify(q->s);
	if (q->done != NULL)
		q->done(q->ctx, err, id);
	store_op_clear(&q->op);
	q->free_args(q->args);
	free(q);
}

static void async_run(struct store *s, enum store_err (*fn)(struct store_txn *, void *, char **),
		      void *args, void (*free_args)(void *), int64_t (*result_id)(void *),
		      store_queue_done_cb *done, void *ctx)
{
	struct queue_async *q = xcalloc(1, sizeof(*q));
	store_op_init(&q->op, STORE_OP_FUNC);
	q->op.u.func.fn = fn;
	q->op.u.func.arg = args;
	q->s = s;
	q->args = args;
	q->free_args = free_args;
	q->result_id = result_id;
	q->done = done;
	q->ctx = ctx;
	if (s->writer_running) {
		store_submit(s, &q->op, async_done, q);
		return;
	}
	store_run(s, &q->op);
	async_done(&q->op, q);
}

static void add_free(void *a)
{
	add_args_free(a);
}

static int64_t add_id(void *a)
{
	return ((struct queue_add_args *)a)->queue_id;
}

void store_queue_add(struct store *s, int64_t account_id, const char *return_path,
		     const char *envid, unsigned flags, const struct store_queue_rcpt *rcpts,
		     size_t n_rcpts, const char *data, size_t len, store_queue_done_cb *done,
		     void *ctx)
{
	struct queue_add_args *a = add_args_new(account_id, return_path, envid, flags, rcpts,
						n_rcpts, data, len);
	async_run(s, add_fn, a, add_free, add_id, done, ctx);
}

enum store_err store_queue_add_wait(struct store *s, int64_t account_id, const char *return_path,
				    const char *envid, unsigned flags,
				    const struct store_queue_rcpt *rcpts, size_t n_rcpts,
				    const char *data, size_t len, int64_t *queue_id_r)
{
	struct queue_add_args *a = add_args_new(account_id, return_path, envid, flags, rcpts,
						n_rcpts, data, len);
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = add_fn;
	op.u.func.arg = a;
	enum store_err err = store_run(s, &op);
	if (err == STORE_OK) {
		if (queue_id_r != NULL)
			*queue_id_r = a->queue_id;
		notify(s);
	}
	store_op_clear(&op);
	add_args_free(a);
	return err;
}

/* ---- results of an attempt ---- */

struct queue_update_args {
	int64_t queue_id;
	struct store_queue_result *results;
	size_t n_results;
	bool set_delay_notified;
	struct queue_add_args *dsn;
};

static void update_free(void *arg)
{
	struct queue_update_args *u = arg;
	for (size_t i = 0; i < u->n_results; i++)
		free((char *)u->results[i].reply);
	free(u->results);
	add_args_free(u->dsn);
	free(u);
}

static int64_t update_id(void *arg)
{
	struct queue_update_args *u = arg;
	return u->dsn != NULL ? u->dsn->queue_id : 0;
}

static enum store_err update_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct queue_update_args *u = arg;
	struct db *db = store_txn_db(txn);
	int64_t now = store_now();
	/* Only a pending recipient of this message changes: a result that
	 * arrives after an admin delete or a second scheduler pass is moot. */
	struct db_stmt *st = store_prepare(db,
		"UPDATE queue_rcpts SET status = ?1, next_attempt = ?2, last_reply = ?3,"
		" attempts = attempts + 1, updated = ?4"
		" WHERE id = ?5 AND queue_id = ?6 AND status = 0");
	if (st == NULL)
		return STORE_ETEMP;
	for (size_t i = 0; i < u->n_results; i++) {
		const struct store_queue_result *r = &u->results[i];
		db_bind_int(st, 1, (int)r->status);
		db_bind_int64(st, 2, r->next_attempt);
		db_bind_text(st, 3, r->reply, -1, true);
		db_bind_int64(st, 4, now);
		db_bind_int64(st, 5, r->rcpt_id);
		db_bind_int64(st, 6, u->queue_id);
		int rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
	}
	if (u->set_delay_notified) {
		st = store_prepare(db, "UPDATE queue_messages SET delay_notified = 1 WHERE id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, u->queue_id);
		int rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
	}
	enum store_err err;
	if (u->dsn != NULL && (err = queue_insert(txn, u->dsn)) != STORE_OK)
		return err;
	/* Nothing pending any more: the message has left the queue. */
	st = store_prepare(db,
		"SELECT 1 FROM queue_rcpts WHERE queue_id = ?1 AND status = 0 LIMIT 1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, u->queue_id);
	int rc = db_step(st);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	if (rc != DB_DONE)
		return store_db_err(rc);
	st = store_prepare(db, "DELETE FROM queue_rcpts WHERE queue_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, u->queue_id);
	rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	st = store_prepare(db, "DELETE FROM queue_messages WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, u->queue_id);
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

void store_queue_update(struct store *s, const struct store_queue_update *in,
			store_queue_done_cb *done, void *ctx)
{
	struct queue_update_args *u = xcalloc(1, sizeof(*u));
	u->queue_id = in->queue_id;
	u->n_results = in->n_results;
	u->results = xcalloc(in->n_results > 0 ? in->n_results : 1, sizeof(*u->results));
	for (size_t i = 0; i < in->n_results; i++) {
		u->results[i] = in->results[i];
		const char *r = in->results[i].reply;
		size_t rl = r != NULL ? strnlen(r, STORE_QUEUE_MAX_REPLY) : 0;
		u->results[i].reply = r != NULL ? xstrndup(r, rl) : NULL;
	}
	u->set_delay_notified = in->set_delay_notified;
	if (in->dsn != NULL) {
		const struct store_queue_new *d = in->dsn;
		unsigned flags = (d->ret_full ? STORE_QUEUE_RET_FULL : 0) |
				 (d->requiretls ? STORE_QUEUE_REQUIRETLS : 0);
		u->dsn = add_args_new(d->account_id, d->return_path, d->envid, flags, d->rcpts,
				      d->n_rcpts, d->data, d->len);
	}
	async_run(s, update_fn, u, update_free, update_id, done, ctx);
}

/* ---- admin ---- */

struct queue_admin_args {
	int64_t id;
	enum store_queue_action action;
	size_t changed;
};

static enum store_err admin_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct queue_admin_args *a = arg;
	struct db *db = store_txn_db(txn);
	txn->queue_changed = true;
	int64_t now = store_now();
	struct db_stmt *st;
	/* ?1 = id (0 = all), ?2 = now */
	switch (a->action) {
	case STORE_QUEUE_RETRY:
		st = store_prepare(db,
			"UPDATE queue_rcpts SET next_attempt = ?2 WHERE status = 0"
			" AND (?1 = 0 OR queue_id = ?1)");
		break;
	case STORE_QUEUE_HOLD:
		st = store_prepare(db,
			"UPDATE queue_messages SET state = 1 WHERE (?1 = 0 OR id = ?1) AND ?2 = ?2");
		break;
	case STORE_QUEUE_RELEASE:
		st = store_prepare(db,
			"UPDATE queue_messages SET state = 0 WHERE (?1 = 0 OR id = ?1) AND ?2 = ?2");
		break;
	case STORE_QUEUE_BOUNCE_NOW:
		st = store_prepare(db,
			"UPDATE queue_messages SET state = 2 WHERE (?1 = 0 OR id = ?1) AND ?2 = ?2");
		break;
	case STORE_QUEUE_DELETE:
		st = store_prepare(db,
			"DELETE FROM queue_rcpts WHERE (?1 = 0 OR queue_id = ?1) AND ?2 = ?2");
		break;
	default:
		return STORE_EINVAL;
	}
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, a->id);
	db_bind_int64(st, 2, now);
	int rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	a->changed = (size_t)db_changes(db);
	if (a->action == STORE_QUEUE_DELETE) {
		st = store_prepare(db, "DELETE FROM queue_messages WHERE ?1 = 0 OR id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, a->id);
		rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
		a->changed = (size_t)db_changes(db);
	} else if (a->action == STORE_QUEUE_RELEASE || a->action == STORE_QUEUE_BOUNCE_NOW) {
		/* due now, so the scheduler acts at once */
		st = store_prepare(db,
			"UPDATE queue_rcpts SET next_attempt = ?2 WHERE status = 0"
			" AND (?1 = 0 OR queue_id = ?1)");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, a->id);
		db_bind_int64(st, 2, now);
		rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
	} else if (a->action == STORE_QUEUE_RETRY) {
		/* count messages, not recipients */
		st = store_prepare(db,
			"SELECT count(*) FROM queue_messages WHERE ?1 = 0 OR id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, a->id);
		rc = db_step(st);
		if (rc == DB_ROW)
			a->changed = (size_t)db_column_int64(st, 0);
		db_reset(st);
		if (rc != DB_ROW)
			return store_step_err(rc);
	}
	if (a->id != 0 && a->changed == 0)
		return STORE_ENOTFOUND;
	return STORE_OK;
}

enum store_err store_queue_admin(struct store *s, int64_t id, enum store_queue_action action,
				 size_t *n_r)
{
	struct queue_admin_args a = {.id = id, .action = action};
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = admin_fn;
	op.u.func.arg = &a;
	enum store_err err = store_run(s, &op);
	store_op_clear(&op);
	if (err == STORE_OK) {
		*n_r = a.changed;
		notify(s);
	}
	return err;
}
