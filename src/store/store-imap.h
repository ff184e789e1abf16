/*
 * store-imap: reads that only the IMAP server needs, kept apart from the
 * general store API (store.h). Same rules: one snapshot per call, on the
 * calling thread's read connection.
 */
#ifndef ROOST_STORE_IMAP_H
#define ROOST_STORE_IMAP_H
#include "store/store.h"

/* Cheap: just the counters of a mailbox, no message counts. */
enum store_err store_imap_mailbox_modseq(struct store *s, int64_t mailbox_id,
					 uint64_t *highestmodseq_r, uint32_t *uidnext_r);
/* Messages with lo <= uid <= hi, UID ascending. */
enum store_err store_imap_messages_range(struct store *s, int64_t mailbox_id, uint32_t lo,
					 uint32_t hi, struct store_msg **msgs_r, size_t *n_r);
#endif
