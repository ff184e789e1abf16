/*
 * store-queue: the reads of the outbound queue (store-queue.h); the writes
 * are in store-op-queue.c.
 */
#include "store/store-internal.h"
#include "store/store-queue.h"
#include "lib/alloc.h"
#include <string.h>

static char *col_text(struct db_stmt *st, int i)
{
	const char *t = db_column_text(st, i);
	return t != NULL ? xstrdup((const char *)t) : NULL;
}

void store_queue_msg_clear(struct store_queue_msg *m)
{
	free(m->return_path);
	free(m->envid);
	free(m->message_id);
	for (size_t i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i].address);
		free(m->rcpts[i].domain);
		free(m->rcpts[i].orcpt);
		free(m->rcpts[i].last_reply);
	}
	free(m->rcpts);
	memset(m, 0, sizeof(*m));
}

void store_queue_msg_list_free(struct store_queue_msg *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_queue_msg_clear(&list[i]);
	free(list);
}

#define MSG_COLUMNS                                                            \
	"SELECT id, account_id, return_path, envid, ret_full, created, state,"  \
	" delay_notified, size, message_id, requiretls FROM queue_messages "

static void msg_from_row(struct db_stmt *st, struct store_queue_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = db_column_int64(st, 0);
	m->account_id = db_column_int64(st, 1);
	m->return_path = col_text(st, 2);
	if (m->return_path == NULL)
		m->return_path = xstrdup("");
	m->envid = col_text(st, 3);
	m->ret_full = db_column_int(st, 4) != 0;
	m->created = db_column_int64(st, 5);
	m->state = (enum store_queue_state)db_column_int(st, 6);
	m->delay_notified = db_column_int(st, 7) != 0;
	m->size = db_column_int64(st, 8);
	m->message_id = col_text(st, 9);
	/* the column holds the TLS mode: STORE_QUEUE_TLS_* */
	m->requiretls = db_column_int(st, 10) == STORE_QUEUE_TLS_REQUIRED;
	m->tls_optional = db_column_int(st, 10) == STORE_QUEUE_TLS_OPTIONAL;
}

/* The recipients of m (all, or only those pending and due at `due`). */
static enum store_err load_rcpts(struct db *db, struct store_queue_msg *m, int64_t due)
{
	struct db_stmt *st = store_prepare(db,
		"SELECT id, address, domain, orcpt, notify, status, attempts, next_attempt,"
		" last_reply FROM queue_rcpts WHERE queue_id = ?1"
		" AND (?2 = 0 OR (status = 0 AND next_attempt <= ?2)) ORDER BY id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, m->id);
	db_bind_int64(st, 2, due);
	size_t cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		m->rcpts = xgrow(m->rcpts, &cap, m->nrcpts + 1, sizeof(*m->rcpts));
		struct store_queue_entry *e = &m->rcpts[m->nrcpts++];
		e->rcpt_id = db_column_int64(st, 0);
		e->address = col_text(st, 1);
		e->domain = col_text(st, 2);
		e->orcpt = col_text(st, 3);
		e->notify = (unsigned)db_column_int(st, 4);
		e->status = (enum store_queue_status)db_column_int(st, 5);
		e->attempts = db_column_int(st, 6);
		e->next_attempt = db_column_int64(st, 7);
		e->last_reply = col_text(st, 8);
		if (e->address == NULL)
			e->address = xstrdup("");
		if (e->domain == NULL)
			e->domain = xstrdup("");
	}
	db_reset(st);
	return store_read_err(rc);
}

/* Messages selected by `sql` (?1 bound to arg1, ?2 to arg2, ?3 to arg3),
 * each with its recipients (due ones only when due != 0), in one read
 * snapshot. */
static enum store_err load_msgs(struct store *s, const char *sql, int64_t arg1, int64_t arg2,
				int64_t arg3, int64_t due, struct store_queue_msg **list_r,
				size_t *n_r)
{
	struct db *db = store_reader(s);
	if (store_step_sql(db, "BEGIN") != STORE_OK)
		return STORE_ETEMP;
	struct db_stmt *st = store_prepare(db, sql);
	if (st == NULL) {
		store_step_sql(db, "ROLLBACK");
		return STORE_ETEMP;
	}
	db_bind_int64(st, 1, arg1);
	db_bind_int64(st, 2, arg2);
	db_bind_int64(st, 3, arg3);
	struct store_queue_msg *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		msg_from_row(st, &list[n++]);
	}
	db_reset(st);
	enum store_err err = store_read_err(rc);
	for (size_t i = 0; err == STORE_OK && i < n; i++)
		err = load_rcpts(db, &list[i], due);
	store_step_sql(db, "ROLLBACK");
	if (err != STORE_OK) {
		store_queue_msg_list_free(list, n);
		return err;
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

enum store_err store_queue_due(struct store *s, int64_t now, int64_t after_id, size_t limit,
			       struct store_queue_msg **list_r, size_t *n_r)
{
	return load_msgs(s,
		MSG_COLUMNS "WHERE state != 1 AND id IN (SELECT queue_id FROM queue_rcpts"
		" WHERE status = 0 AND next_attempt <= ?1 AND queue_id > ?3"
		" ORDER BY next_attempt LIMIT ?2) ORDER BY id",
		now, (int64_t)limit, after_id, now, list_r, n_r);
}

enum store_err store_queue_next_due(struct store *s, int64_t *when_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT min(r.next_attempt) FROM queue_rcpts r JOIN queue_messages m"
		" ON m.id = r.queue_id WHERE r.status = 0 AND m.state != 1");
	if (st == NULL)
		return STORE_ETEMP;
	int rc = db_step(st);
	enum store_err err = store_row_err(rc);
	if (rc == DB_ROW) {
		if (db_column_type(st, 0) == DB_TYPE_NULL)
			err = STORE_ENOTFOUND;
		else
			*when_r = db_column_int64(st, 0);
	}
	db_reset(st);
	return err;
}

enum store_err store_queue_list(struct store *s, struct store_queue_msg **list_r, size_t *n_r)
{
	return load_msgs(s, MSG_COLUMNS "WHERE ?1 = ?2 AND ?3 = 0 ORDER BY id", 0, 0, 0, 0, list_r,
			 n_r);
}

enum store_err store_queue_get(struct store *s, int64_t id, struct store_queue_msg *m_r)
{
	struct store_queue_msg *list;
	size_t n;
	enum store_err err = load_msgs(s, MSG_COLUMNS "WHERE id = ?1 AND ?2 = ?3", id, 0, 0, 0,
				       &list, &n);
	if (err != STORE_OK)
		return err;
	if (n == 0) {
		free(list);
		return STORE_ENOTFOUND;
	}
	*m_r = list[0];
	free(list);
	return STORE_OK;
}

enum store_err store_queue_data(struct store *s, int64_t id, char **data_r, size_t *len_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT data FROM queue_messages WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		size_t len = (size_t)db_column_bytes(st, 0);
		const void *p = db_column_blob(st, 0);
		char *data = xmalloc(len + 1);
		if (len > 0)
			memcpy(data, p, len);
		data[len] = '\0';
		*data_r = data;
		*len_r = len;
	}
	db_reset(st);
	return store_row_err(rc);
}

enum store_err store_queue_count(struct store *s, int64_t *messages_r, int64_t *pending_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT (SELECT count(*) FROM queue_messages),"
		" (SELECT count(*) FROM queue_rcpts WHERE status = 0)");
	if (st == NULL)
		return STORE_ETEMP;
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*messages_r = db_column_int64(st, 0);
		*pending_r = db_column_int64(st, 1);
	}
	db_reset(st);
	return store_row_err(rc);
}
