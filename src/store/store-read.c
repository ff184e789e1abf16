/*
 * store-read: mailbox and message reads, on the calling thread's own read
 * connection. Each call reads one consistent snapshot (one statement or an
 * explicit read transaction).
 */
#include "store/store-internal.h"
#include "store/store-content.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <stdint.h>
#include <string.h>
#include <strings.h>

enum store_err store_read_err(int rc)
{
	switch (rc) {
	case DB_OK:
	case DB_ROW:
	case DB_DONE: return STORE_OK;
	case DB_CORRUPT: return STORE_ECORRUPT;
	default: return STORE_ETEMP;
	}
}

enum store_err store_row_err(int rc)
{
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_ENOTFOUND : store_read_err(rc);
}

enum store_err store_mailbox_owned(struct db *db, int64_t account_id, int64_t mailbox_id)
{
	struct db_stmt *st = store_prepare(db, "SELECT 1 FROM mailboxes WHERE id = ?1 AND account_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, account_id);
	int rc = db_step(st);
	db_reset(st);
	return store_row_err(rc);
}

static char *col_text(struct db_stmt *st, int i)
{
	if (db_column_type(st, i) == DB_TYPE_NULL)
		return NULL;
	return xstrdup(db_column_text(st, i));
}

#define MAILBOX_COLUMNS \
	"SELECT m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.highestmodseq," \
	" m.special_use," \
	" EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id" \
	"  AND s.name = m.name), m.nmessages, m.nunseen, m.ndeleted, m.nbytes" \
	" FROM mailboxes m "

static void mailbox_from_row(struct db_stmt *st, struct store_mailbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->id = db_column_int64(st, 0);
	mb->account_id = db_column_int64(st, 1);
	mb->name = col_text(st, 2);
	mb->uidvalidity = (uint32_t)db_column_int64(st, 3);
	mb->uidnext = (uint32_t)db_column_int64(st, 4);
	mb->highestmodseq = (uint64_t)db_column_int64(st, 5);
	mb->special_use = col_text(st, 6);
	mb->subscribed = db_column_int(st, 7) != 0;
	mb->messages = (uint32_t)db_column_int64(st, 8);
	mb->unseen = (uint32_t)db_column_int64(st, 9);
	mb->deleted = (uint32_t)db_column_int64(st, 10);
	mb->bytes = db_column_int64(st, 11);
}

void store_mailbox_clear(struct store_mailbox *mb)
{
	xfree(&mb->name);
	xfree(&mb->special_use);
}

void store_mailbox_list_free(struct store_mailbox *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_mailbox_clear(&list[i]);
	free(list);
}

enum store_err store_mailbox_list(struct store *s, int64_t account_id, struct store_mailbox **list_r,
				  size_t *n_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		MAILBOX_COLUMNS "WHERE m.account_id = ?1 ORDER BY m.name = 'INBOX' DESC, m.name");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	struct store_mailbox *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		mailbox_from_row(st, &list[n++]);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		store_mailbox_list_free(list, n);
		return store_read_err(rc);
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

enum store_err store_subscription_list(struct store *s, int64_t account_id, char ***names_r,
				       size_t *n_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT name FROM subscriptions WHERE account_id = ?1 ORDER BY name");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 0);
		names = xgrow(names, &cap, n + 1, sizeof(*names));
		names[n++] = xstrdup(name != NULL ? name : "");
	}
	db_reset(st);
	if (rc != DB_DONE) {
		store_subscription_list_free(names, n);
		return store_read_err(rc);
	}
	*names_r = names;
	*n_r = n;
	return STORE_OK;
}

void store_subscription_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

enum store_err store_mailbox_get(struct store *s, int64_t account_id, const char *name,
				 struct store_mailbox *mb_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		MAILBOX_COLUMNS "WHERE m.account_id = ?1 AND m.name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, strcasecmp(name, "INBOX") == 0 ? "INBOX" : name, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW)
		mailbox_from_row(st, mb_r);
	db_reset(st);
	return store_row_err(rc);
}

enum store_err store_mailbox_get_by_id(struct store *s, int64_t account_id, int64_t mailbox_id,
				       struct store_mailbox *mb_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		MAILBOX_COLUMNS "WHERE m.id = ?1 AND m.account_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, account_id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		mailbox_from_row(st, mb_r);
	db_reset(st);
	return store_row_err(rc);
}

void store_msg_list_free(struct store_msg *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].keywords);
		free(list[i].pop3_uidl);
	}
	free(list);
}

#define MSG_COLUMNS \
	"SELECT uid, modseq, flags, keywords, internaldate, size, pop3_uidl, pop3_hidden," \
	" pop3_retrieved, crlf_size FROM messages "

static void msg_from_row(struct db_stmt *st, struct store_msg *m)
{
	m->uid = (uint32_t)db_column_int64(st, 0);
	m->modseq = (uint64_t)db_column_int64(st, 1);
	m->flags = (uint32_t)db_column_int64(st, 2);
	m->keywords = col_text(st, 3);
	m->internaldate = db_column_int64(st, 4);
	m->size = db_column_int64(st, 5);
	m->pop3_uidl = col_text(st, 6);
	m->pop3_hidden = db_column_int(st, 7) != 0;
	m->pop3_retrieved = db_column_int64(st, 8);
	m->crlf_size = db_column_int64(st, 9);
}

static enum store_err collect_msgs(struct db_stmt *st, struct store_msg **msgs_r, size_t *n_r)
{
	struct store_msg *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		msg_from_row(st, &list[n++]);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		store_msg_list_free(list, n);
		return store_read_err(rc);
	}
	*msgs_r = list;
	*n_r = n;
	return STORE_OK;
}

/* The list queries filter by account in SQL too ("mailbox_id = (SELECT
 * id ... account_id = ?)"), so even a race with a delete cannot show a
 * row of another account; store_mailbox_owned() first tells "not yours"
 * (STORE_ENOTFOUND) from "empty". */
enum store_err store_mailbox_messages(struct store *s, int64_t account_id, int64_t mailbox_id,
				      struct store_msg **msgs_r, size_t *n_r)
{
	struct db *db = store_reader(s);
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(db, MSG_COLUMNS "WHERE mailbox_id ="
		" (SELECT id FROM mailboxes WHERE id = ?1 AND account_id = ?2) ORDER BY uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, account_id);
	return collect_msgs(st, msgs_r, n_r);
}

enum store_err store_mailbox_changes(struct store *s, int64_t account_id, int64_t mailbox_id,
				     uint64_t modseq, struct store_msg **changed_r,
				     size_t *nchanged_r, uint32_t **vanished_r, size_t *nvanished_r)
{
	struct db *db = store_reader(s);
	/* Both queries must see the same snapshot. */
	if (store_step_sql(db, "BEGIN") != STORE_OK)
		return STORE_ETEMP;
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	struct db_stmt *st = err != STORE_OK ? NULL : store_prepare(db,
		MSG_COLUMNS "WHERE mailbox_id = (SELECT id FROM mailboxes WHERE id = ?1"
		" AND account_id = ?3) AND modseq > ?2 ORDER BY uid");
	if (err == STORE_OK && st == NULL)
		err = STORE_ETEMP;
	if (st != NULL) {
		db_bind_int64(st, 1, mailbox_id);
		db_bind_int64(st, 2, (int64_t)modseq);
		db_bind_int64(st, 3, account_id);
		err = collect_msgs(st, changed_r, nchanged_r);
	}
	if (err == STORE_OK) {
		st = store_prepare(db,
			"SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid");
		uint32_t *v = NULL;
		size_t n = 0, cap = 0;
		if (st == NULL) {
			err = STORE_ETEMP;
		} else {
			db_bind_int64(st, 1, mailbox_id);
			db_bind_int64(st, 2, (int64_t)modseq);
			int rc;
			while ((rc = db_step(st)) == DB_ROW) {
				v = xgrow(v, &cap, n + 1, sizeof(*v));
				v[n++] = (uint32_t)db_column_int64(st, 0);
			}
			db_reset(st);
			if (rc != DB_DONE) {
				free(v);
				err = store_read_err(rc);
			}
		}
		if (err == STORE_OK) {
			*vanished_r = v;
			*nvanished_r = n;
		} else {
			store_msg_list_free(*changed_r, *nchanged_r);
		}
	}
	store_step_sql(db, "COMMIT");
	return err;
}

enum store_err store_message_row(struct store *s, const char *sql, int64_t account_id,
				 int64_t mailbox_id, uint32_t uid, struct db_stmt **st_r)
{
	struct db_stmt *st = store_prepare(store_reader(s), sql);
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, uid);
	db_bind_int64(st, 3, account_id);
	int rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		return store_row_err(rc);
	}
	*st_r = st;
	return STORE_OK;
}

char *store_join_columns(struct db_stmt *st, int a, int b, size_t *len_r, size_t *a_len_r)
{
	size_t alen = (size_t)db_column_bytes(st, a);
	const void *adata = db_column_blob(st, a);
	size_t blen = (size_t)db_column_bytes(st, b);
	const void *bdata = db_column_blob(st, b);
	char *data = xmalloc(alen + blen + 1);
	if (alen)
		memcpy(data, adata, alen);
	if (blen)
		memcpy(data + alen, bdata, blen);
	data[alen + blen] = '\0';
	*len_r = alen + blen;
	if (a_len_r != NULL)
		*a_len_r = alen;
	return data;
}

enum store_err store_join_content(struct store *s, struct db_stmt *st, int a, int b, int loc,
				  int64_t size, size_t max, char **data_r, size_t *len_r,
				  size_t *a_len_r)
{
	if (db_column_type(st, loc) == DB_TYPE_NULL) {
		*data_r = store_join_columns(st, a, b, len_r, a_len_r);
		return STORE_OK;
	}
	size_t alen = (size_t)db_column_bytes(st, a);
	size_t want = size < 0 ? 0 : (size_t)size;
	if (want > max)
		want = max;
	char *data = xmalloc(alen + want + 1);
	if (alen)
		memcpy(data, db_column_blob(st, a), alen);
	size_t got = 0;
	enum store_err err = store_content_read(s, db_column_text(st, loc), size, want,
						data + alen, &got);
	if (err != STORE_OK) {
		free(data);
		return err;
	}
	data[alen + got] = '\0';
	*data_r = data;
	*len_r = alen + got;
	if (a_len_r != NULL)
		*a_len_r = alen;
	return STORE_OK;
}

enum store_err store_message_content(struct store *s, int64_t account_id, int64_t mailbox_id,
				     uint32_t uid, char **data_r, size_t *len_r,
				     size_t *prefix_len_r)
{
	struct db_stmt *st;
	enum store_err err = store_message_row(s,
		"SELECT m.prefix, c.data, c.id, c.location, c.size FROM messages m"
		" JOIN mailboxes b ON b.id = m.mailbox_id AND b.account_id = ?3"
		" LEFT JOIN contents c ON c.id = m.content_id"
		" WHERE m.mailbox_id = ?1 AND m.uid = ?2", account_id, mailbox_id, uid, &st);
	if (err != STORE_OK)
		return err;
	if (db_column_type(st, 2) == DB_TYPE_NULL) {
		/* the message row names content that is not there */
		log_error("store: message uid %u of mailbox %lld has no content (run roost check)",
			  uid, (long long)mailbox_id);
		db_reset(st);
		return STORE_ECORRUPT;
	}
	err = store_join_content(s, st, 0, 1, 3, db_column_int64(st, 4), SIZE_MAX, data_r, len_r,
				 prefix_len_r);
	db_reset(st);
	return err;
}

void store_msg_index_clear(struct store_msg_index *idx)
{
	char **fields[] = {&idx->envelope, &idx->body, &idx->bodystructure, &idx->parts,
			   &idx->subject, &idx->from, &idx->to, &idx->cc, &idx->bcc,
			   &idx->message_id, &idx->in_reply_to, &idx->references};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		xfree(fields[i]);
}

enum store_err store_message_index(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint32_t uid, struct store_msg_index *idx_r)
{
	struct db_stmt *st;
	enum store_err err = store_message_row(s,
		"SELECT i.envelope, i.body, i.bodystructure, i.parts, i.subject, i.from_addr,"
		" i.to_addr, i.cc_addr, i.bcc_addr, i.message_id, i.in_reply_to, i.references_hdr,"
		" i.date, length(m.prefix)"
		" FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id AND b.account_id = ?3"
		" JOIN content_index i ON i.content_id = m.content_id"
		" WHERE m.mailbox_id = ?1 AND m.uid = ?2", account_id, mailbox_id, uid, &st);
	if (err != STORE_OK)
		return err;
	memset(idx_r, 0, sizeof(*idx_r));
	char **fields[] = {&idx_r->envelope, &idx_r->body, &idx_r->bodystructure, &idx_r->parts,
			   &idx_r->subject, &idx_r->from, &idx_r->to, &idx_r->cc, &idx_r->bcc,
			   &idx_r->message_id, &idx_r->in_reply_to, &idx_r->references};
	for (int i = 0; i < 12; i++)
		*fields[i] = col_text(st, i);
	idx_r->date = db_column_int64(st, 12);
	idx_r->prefix_len = (size_t)db_column_int64(st, 13);
	db_reset(st);
	return STORE_OK;
}

enum store_err store_quota_recount(struct store *s, int64_t account_id, int64_t *bytes_r,
				   int64_t *messages_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT coalesce(sum(msg.size), 0), count(msg.id) FROM messages msg"
		" JOIN mailboxes mb ON mb.id = msg.mailbox_id WHERE mb.account_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*bytes_r = db_column_int64(st, 0);
		*messages_r = db_column_int64(st, 1);
	}
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_read_err(rc);
}
