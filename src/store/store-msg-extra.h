/*
 * store-msg-extra: per-message data for the newer IMAP FETCH items and
 * SEARCH keys, kept apart from store.h:
 *   EMAILID and THREADID (RFC 8474): numbers assigned at store time from
 *     one counter; COPY and MOVE keep them. Threads group an account's
 *     messages by Message-ID, In-Reply-To and References.
 *   SAVEDATE (RFC 8514): messages.savedate, set when a message is saved
 *     into its mailbox (APPEND, delivery, COPY, MOVE).
 *   PREVIEW (RFC 8970): computed once per content (mime-index.h).
 * Reads follow store.h's rules: one snapshot per call, on the calling
 * thread's read connection.
 */
#ifndef ROOST_STORE_MSG_EXTRA_H
#define ROOST_STORE_MSG_EXTRA_H
#include "store/store.h"

struct store_msg_extra {
	int64_t emailid, threadid;	/* 0 = none assigned */
	int64_t savedate;		/* unix time */
	char *preview;			/* UTF-8, or NULL when none was computed */
};
void store_msg_extra_clear(struct store_msg_extra *x);
/* STORE_ENOTFOUND when the message is gone (or the mailbox is not
 * account_id's). */
enum store_err store_msg_extra_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint32_t uid, struct store_msg_extra *x_r);
#endif
