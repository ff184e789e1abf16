/*
 * store-recent: the \Recent claims of IMAP4rev1 (RFC 3501 2.3.2). A
 * message is recent for exactly one session: the first to be told of it,
 * by SELECT or by an untagged EXISTS. Each mailbox has a mark, the highest
 * UID some session has claimed; a claim takes everything above it up to
 * the UID the session is about to announce.
 *
 * The claim must be atomic and immediate: a session writes EXISTS and
 * RECENT in the same breath, so it cannot wait for a commit, and two
 * sessions told at once must not both win. So the marks live in memory in
 * the store, under one mutex, and a claim is a compare-and-raise there.
 * mailboxes.recent_uid keeps the mark across restarts; it is raised by a
 * write op after the claim (write-behind, never lowered), so after a crash
 * a message claimed in the last instant may be recent once more, never
 * lost. One daemon owns a data directory, so one process holding the marks
 * is enough; a shared backend would need the claim in its database.
 * IMAP4rev2 (RFC 9051) dropped \Recent; rev2 sessions never claim.
 * EXAMINE never claims either (RFC 3501 6.3.2): a read-only session sees
 * the unclaimed messages as recent and leaves them so for the next one.
 */
#ifndef ROOST_STORE_RECENT_H
#define ROOST_STORE_RECENT_H
#include "store/store.h"

/* Marks held in memory before entries that are on disk already are
 * dropped (they are read again on next use). */
#define STORE_RECENT_MAX_ENTRIES 65536

/* Claim every message of the mailbox with a UID up to `upto_uid` that no
 * session has claimed. *old_r is the mark before: UIDs in
 * (*old_r, upto_uid] are now the caller's (none when upto_uid <= *old_r).
 * Any thread; does not wait for the writer. */
enum store_err store_recent_claim(struct store *s, int64_t account_id, int64_t mailbox_id,
				  uint32_t upto_uid, uint32_t *old_r);
/* The mark and the number of messages above it that nobody has claimed
 * (STATUS RECENT, EXAMINE). Either output may be NULL. */
enum store_err store_recent_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				uint32_t *recent_uid_r, uint32_t *count_r);

/* store.c: the table's life with the store's. */
void store_recent_init(struct store *s);
void store_recent_free(struct store *s);
#endif
