/*
 * store-msg-extra: the reads of store-msg-extra.h and, for the writer,
 * the OBJECTID assignment (RFC 8474) done when a message is stored.
 *
 * Threads: the table threads(account_id, message_id, threadid) maps every
 * Message-ID an account has seen, as a message's own or as one of its
 * parents (In-Reply-To, References), to a thread. A new message joins the
 * thread of the first of its own and its parents' ids already mapped, else
 * starts one; then its ids are mapped too, so a reply that arrives before
 * its parent still ends up in one thread with it. A message's THREADID
 * never changes (RFC 8474 5.2: it is immutable like the message).
 */
#include "store/store-ops.h"
#include "store/store-msg-extra.h"
#include "lib/alloc.h"
#include <string.h>

/* Message-IDs considered per message: its own, In-Reply-To and the last
 * References (the nearest ancestors; long chains need no more). */
#define OBJECTID_MAX_REFS 32
#define OBJECTID_MAX_MSGID 998	/* a header line's length (RFC 5322 2.1.1) */

void store_msg_extra_clear(struct store_msg_extra *x)
{
	xfree(&x->preview);
	x->emailid = x->threadid = x->savedate = 0;
}

enum store_err store_msg_extra_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint32_t uid, struct store_msg_extra *x_r)
{
	struct db_stmt *st;
	enum store_err err = store_message_row(s,
		"SELECT m.emailid, m.threadid, m.savedate, i.preview FROM messages m"
		" JOIN mailboxes b ON b.id = m.mailbox_id AND b.account_id = ?3"
		" LEFT JOIN content_index i ON i.content_id = m.content_id"
		" WHERE m.mailbox_id = ?1 AND m.uid = ?2", account_id, mailbox_id, uid, &st);
	if (err != STORE_OK)
		return err;
	memset(x_r, 0, sizeof(*x_r));
	x_r->emailid = db_column_int64(st, 0);
	x_r->threadid = db_column_int64(st, 1);
	x_r->savedate = db_column_int64(st, 2);
	if (db_column_type(st, 3) != DB_TYPE_NULL)
		x_r->preview = xstrdup(db_column_text(st, 3));
	db_reset(st);
	return STORE_OK;
}

/*
 * The next number of the OBJECTID counter (meta 'objectid'). Numbers are
 * taken from the counter STORE_OBJECTID_BLOCK at a time, one UPDATE for
 * that many messages instead of two per message: they need only be
 * unique (RFC 8474), so the ones a batch leaves unused are a harmless
 * gap. The block lives in the batch's transaction (txn_reset forgets it)
 * and is forgotten when a savepoint rolls back (store_txn_undone): the
 * UPDATE that took it may be undone with it, and numbers beyond the
 * counter would be handed out again by the next batch.
 */
static enum store_err next_objectid(struct store_txn *txn, int64_t *id_r)
{
	if (txn->objectid_next > 0 && txn->objectid_next < txn->objectid_end) {
		*id_r = txn->objectid_next++;
		return STORE_OK;
	}
	struct db_stmt *st = store_prepare(txn->db,
		"UPDATE meta SET value = CAST(value AS INTEGER) + ?1 WHERE key = 'objectid'"
		" RETURNING CAST(value AS INTEGER)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, STORE_OBJECTID_BLOCK);
	int rc = db_step(st);
	int64_t top = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? STORE_ECORRUPT : store_db_err(rc);
	*id_r = top - STORE_OBJECTID_BLOCK + 1;
	txn->objectid_next = *id_r + 1;
	txn->objectid_end = top + 1;
	return STORE_OK;
}

/* Append the "<...>" ids of a header value to ids (at most max in all;
 * with keep_last, later ids push out earlier ones). */
static void collect_ids(const char *v, char **ids, size_t *n, size_t max, bool keep_last)
{
	while (v != NULL && (v = strchr(v, '<')) != NULL) {
		const char *end = strchr(v, '>');
		if (end == NULL)
			return;
		size_t len = (size_t)(end - v + 1);
		if (len > 2 && len <= OBJECTID_MAX_MSGID && memchr(v, ' ', len) == NULL) {
			if (*n == max) {
				if (!keep_last)
					return;
				free(ids[0]);
				memmove(ids, ids + 1, (max - 1) * sizeof(*ids));
				(*n)--;
			}
			ids[(*n)++] = xstrndup(v, len);
		}
		v = end + 1;
	}
}

static enum store_err thread_lookup(struct store_txn *txn, int64_t account_id, const char *id,
				    int64_t *threadid_r)
{
	struct db_stmt *st = store_prepare(txn->db,
		"SELECT threadid FROM threads WHERE account_id = ?1 AND message_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, id, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*threadid_r = db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

static enum store_err thread_map(struct store_txn *txn, int64_t account_id, const char *id,
				 int64_t threadid)
{
	struct db_stmt *st = store_prepare(txn->db,
		"INSERT OR IGNORE INTO threads (account_id, message_id, threadid) VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, id, -1, true);
	db_bind_int64(st, 3, threadid);
	/* no answer needed: an error fails the op's next statement */
	int rc = db_step_deferred(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

enum store_err store_objectid_assign(struct store_txn *txn, int64_t account_id,
				     const struct mime_index *ix, int64_t *emailid_r,
				     int64_t *threadid_r)
{
	enum store_err err = next_objectid(txn, emailid_r);
	if (err != STORE_OK)
		return err;
	/* own id first (a duplicate or an awaited parent), then the parents,
	 * nearest first */
	char *own[1], *irt[OBJECTID_MAX_REFS], *refs[OBJECTID_MAX_REFS];
	char *ids[1 + 2 * OBJECTID_MAX_REFS];
	size_t nown = 0, nirt = 0, nrefs = 0, n = 0;
	collect_ids(ix ? ix->message_id : NULL, own, &nown, 1, false);
	collect_ids(ix ? ix->in_reply_to : NULL, irt, &nirt, OBJECTID_MAX_REFS, false);
	collect_ids(ix ? ix->references : NULL, refs, &nrefs, OBJECTID_MAX_REFS, true);
	for (size_t i = 0; i < nown; i++)
		ids[n++] = own[i];
	for (size_t i = 0; i < nirt; i++)
		ids[n++] = irt[i];
	for (size_t i = nrefs; i > 0; i--)
		ids[n++] = refs[i - 1];
	int64_t threadid = 0;
	for (size_t i = 0; i < n && threadid == 0 && err == STORE_OK; i++)
		err = thread_lookup(txn, account_id, ids[i], &threadid);
	if (err == STORE_OK && threadid == 0)
		err = next_objectid(txn, &threadid);
	for (size_t i = 0; i < n && err == STORE_OK; i++)
		err = thread_map(txn, account_id, ids[i], threadid);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	*threadid_r = threadid;
	return err;
}
