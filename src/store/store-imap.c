/* store-imap: see store-imap.h. */
#include "store/store-imap.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include <string.h>

enum store_err store_imap_mailbox_modseq(struct store *s, int64_t mailbox_id,
					 uint64_t *highestmodseq_r, uint32_t *uidnext_r)
{
	sqlite3_stmt *st = store_prepare(store_reader(s),
		"SELECT highestmodseq, uidnext FROM mailboxes WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	sqlite3_bind_int64(st, 1, mailbox_id);
	int rc = sqlite3_step(st);
	enum store_err err = rc == SQLITE_ROW ? STORE_OK
			     : rc == SQLITE_DONE ? STORE_ENOTFOUND : store_sqlite_err(rc);
	if (rc == SQLITE_ROW) {
		*highestmodseq_r = (uint64_t)sqlite3_column_int64(st, 0);
		*uidnext_r = (uint32_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return err;
}

enum store_err store_imap_messages_range(struct store *s, int64_t mailbox_id, uint32_t lo,
					 uint32_t hi, struct store_msg **msgs_r, size_t *n_r)
{
	sqlite3_stmt *st = store_prepare(store_reader(s),
		"SELECT uid, modseq, flags, keywords, internaldate, size FROM messages"
		" WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
	if (st == NULL)
		return STORE_ETEMP;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	struct store_msg *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		struct store_msg *m = &list[n++];
		memset(m, 0, sizeof(*m));
		m->uid = (uint32_t)sqlite3_column_int64(st, 0);
		m->modseq = (uint64_t)sqlite3_column_int64(st, 1);
		m->flags = (uint32_t)sqlite3_column_int64(st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			m->keywords = xstrdup((const char *)sqlite3_column_text(st, 3));
		m->internaldate = sqlite3_column_int64(st, 4);
		m->size = sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_msg_list_free(list, n);
		return store_sqlite_err(rc);
	}
	*msgs_r = list;
	*n_r = n;
	return STORE_OK;
}
