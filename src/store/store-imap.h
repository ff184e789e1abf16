/*
 * store-imap: reads that only the IMAP server needs, kept apart from the
 * general store API (store.h). Same rules: one snapshot per call, on the
 * calling thread's read connection; each takes the session's account
 * beside the mailbox id (STORE_ENOTFOUND for another account's mailbox).
 */
#ifndef ROOST_STORE_IMAP_H
#define ROOST_STORE_IMAP_H
#include "store/store.h"

/* Cheap: just the counters of a mailbox, no message counts. */
enum store_err store_imap_mailbox_modseq(struct store *s, int64_t account_id, int64_t mailbox_id,
					 uint64_t *highestmodseq_r, uint32_t *uidnext_r);
/* Messages with lo <= uid <= hi, UID ascending. */
enum store_err store_imap_messages_range(struct store *s, int64_t account_id, int64_t mailbox_id,
					 uint32_t lo, uint32_t hi, struct store_msg **msgs_r,
					 size_t *n_r);
/* What SELECT keeps per message (imap-view.h): keywords is NULL when the
 * message has none, and valid only during the callback. */
struct store_imap_view_row {
	uint32_t uid;
	uint32_t flags;
	uint64_t modseq;
	const char *keywords;
};
typedef void store_imap_view_fn(void *ctx, const struct store_imap_view_row *row);
/* Call fn for every message of the mailbox, UID ascending, in one query
 * that reads only those four columns (SELECT of a 100,000-message
 * mailbox: no allocation per message here). */
enum store_err store_imap_view_rows(struct store *s, int64_t account_id, int64_t mailbox_id,
				    store_imap_view_fn *fn, void *ctx);
/* One message as SEARCH sees it without reading its content: the message
 * row and the header fields decoded at store time (mime-index.h). The
 * strings are NULL when the field is absent and valid only during the
 * callback. */
struct store_imap_search_row {
	uint32_t uid;
	int64_t internaldate;	/* unix time */
	int64_t size;		/* RFC822.SIZE */
	int64_t date;		/* Date: field, 0 when missing */
	const char *subject, *from, *to, *cc, *bcc, *message_id, *in_reply_to, *references;
	int64_t savedate;	/* SAVEDATE (RFC 8514), unix time */
	int64_t emailid, threadid;	/* OBJECTID (RFC 8474), store-msg-extra.h */
};
/* fn returns 0 to go on, -1 to stop early. */
typedef int store_imap_search_fn(void *ctx, const struct store_imap_search_row *row);
/* Call fn for each message with lo <= uid <= hi, UID ascending, all in one
 * snapshot and one query (SEARCH never reads content for these). fn may
 * call the other store reads. */
enum store_err store_imap_search_rows(struct store *s, int64_t account_id, int64_t mailbox_id,
				      uint32_t lo, uint32_t hi, store_imap_search_fn *fn, void *ctx);
/* The message's whole header block: the stored prefix (trace fields) and
 * the top header of the content, blank line included (caller frees). */
enum store_err store_imap_message_header(struct store *s, int64_t account_id, int64_t mailbox_id,
					 uint32_t uid, char **data_r, size_t *len_r);
/* The message's bytes (prefix + content) and its part map (mime-index.h;
 * offsets relative to the content, i.e. after prefix_len). Both malloc'd. */
enum store_err store_imap_message_text(struct store *s, int64_t account_id, int64_t mailbox_id,
				       uint32_t uid, char **data_r, size_t *len_r,
				       size_t *prefix_len_r, char **parts_r);
/* QRESYNC (RFC 7162 3.2.5, 3.2.6): UIDs with lo <= uid <= hi expunged
 * after `modseq`, ascending (malloc'd), from the expunge log. */
enum store_err store_imap_vanished(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint64_t modseq, uint32_t lo, uint32_t hi, uint32_t **uids_r,
				   size_t *n_r);
#endif
