/*
 * store-recent: the \Recent high-water mark of IMAP4rev1 (RFC 3501 2.3.2).
 * A message is recent for exactly one session: the first to select its
 * mailbox after it arrived. Each mailbox keeps recent_uid, the highest UID
 * some session has already claimed; a SELECT claims everything above it.
 * IMAP4rev2 (RFC 9051) dropped \Recent; rev2 sessions never claim.
 */
#ifndef ROOST_STORE_RECENT_H
#define ROOST_STORE_RECENT_H
#include "store/store.h"

struct store_recent_claim {
	int64_t account_id;	/* the mailbox must be this account's */
	int64_t mailbox_id;
	/* out: UIDs in (old_recent_uid, new_recent_uid] are now this
	 * caller's recent messages (none when they are equal) */
	uint32_t old_recent_uid, new_recent_uid;
};

/* Make `op` a write op that claims every message of the mailbox not yet
 * claimed. `claim` must stay valid until the op completes. */
void store_recent_claim_init(struct store_op *op, struct store_recent_claim *claim);
/* The mark and the messages above it that nobody has claimed yet (STATUS
 * RECENT, EXAMINE). Either output may be NULL. */
enum store_err store_recent_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				uint32_t *recent_uid_r, uint32_t *count_r);
#endif
