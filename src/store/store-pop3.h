/*
 * store-pop3: storage queries that only the POP3 server needs, kept beside
 * the rest of the SQL in src/store/. Part of the store API (a companion to
 * store.h for one client module).
 */
#ifndef ROOST_STORE_POP3_H
#define ROOST_STORE_POP3_H
#include "store/store.h"

/* One message due for pop3.expire_days. */
struct store_pop3_expired {
	int64_t account_id, mailbox_id;
	uint32_t uid;
};

/* INBOX messages first retrieved by POP3 before `before` (unix time) and
 * not hidden from POP3 yet, ordered by mailbox then UID; at most `max`.
 * The caller removes them with STORE_OP_POP3_COMMIT. */
enum store_err store_pop3_expired(struct store *s, int64_t before, size_t max,
				  struct store_pop3_expired **list_r, size_t *n_r);
#endif
