/*
 * store-pop3: the read behind pop3.expire_days (RFC 2449 section 6.7,
 * EXPIRE): which messages POP3 downloaded long enough ago. Removing them
 * goes through the ordinary STORE_OP_POP3_COMMIT, so quota, the expunge
 * log and the change feed stay the store's own business.
 */
#include "store/store-pop3.h"
#include "store/store-private.h"
#include "lib/alloc.h"

enum store_err store_pop3_expired(struct store *s, int64_t before, size_t max,
				  struct store_pop3_expired **list_r, size_t *n_r)
{
	struct store_pop3_expired *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT b.account_id, m.mailbox_id, m.uid FROM messages m"
		" JOIN mailboxes b ON b.id = m.mailbox_id"
		" WHERE b.name = 'INBOX' AND m.pop3_retrieved > 0 AND m.pop3_retrieved < ?1"
		" AND m.pop3_hidden = 0 ORDER BY m.mailbox_id, m.uid LIMIT ?2");

	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, before);
	db_bind_int64(st, 2, (int64_t)max);
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		list[n].account_id = db_column_int64(st, 0);
		list[n].mailbox_id = db_column_int64(st, 1);
		list[n].uid = (uint32_t)db_column_int64(st, 2);
		n++;
	}
	db_reset(st);
	if (rc != DB_DONE) {
		xfree(&list);
		return store_read_err(rc);
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}
