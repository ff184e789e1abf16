/*
 * store-quota-admin: what IMAP QUOTA (RFC 9208) needs beyond the account
 * row: SETQUOTA by a quota administrator as a write op through the writer
 * (the admin CLI's store_account_quota() blocks, so it cannot run on the
 * event loop), and the octets an EXPUNGE would free (DELETED-STORAGE).
 */
#ifndef ROOST_STORE_QUOTA_ADMIN_H
#define ROOST_STORE_QUOTA_ADMIN_H
#include "store/store.h"

struct store_quota_set {
	int64_t account_id;	/* the account whose limits change */
	int64_t bytes;		/* -1 unlimited, -3 leave unchanged (store.h) */
	int64_t messages;
};

/* Make `op` a write op that sets the account's limits. STORE_ENOTFOUND
 * when the account is gone. `q` stays valid until completion. */
void store_quota_set_init(struct store_op *op, struct store_quota_set *q);

/* Octets of the mailbox's messages flagged \Deleted (STATUS
 * DELETED-STORAGE, RFC 9208 4.2): one pass over the mailbox's messages. */
enum store_err store_quota_deleted_bytes(struct store *s, int64_t account_id, int64_t mailbox_id,
					 int64_t *bytes_r);
#endif
