/*
 * imap-view: this session's picture of the selected mailbox. Sequence
 * number N is msgs[N-1]; UIDs ascend. The view changes only when the
 * session tells the client (EXISTS, EXPUNGE, FETCH FLAGS; see imap-sync.c),
 * so sequence numbers stay consistent for the client (RFC 9051 7.5.1).
 * Expunges seen in the store but not yet announced wait in `pending`.
 * `modseq` is the store MODSEQ up to which changes are reflected; CONDSTORE
 * and QRESYNC (RFC 7162) build on it and on the per-message modseq.
 */
#ifndef ROOST_IMAP_VIEW_H
#define ROOST_IMAP_VIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_session;
struct store_mailbox;
struct buf;
struct imap_seqset;

struct imap_view_msg {
	uint32_t uid;
	uint32_t flags;		/* STORE_FLAG_* */
	char *keywords;		/* space separated, or NULL */
	uint64_t modseq;
	bool recent;		/* \Recent for this session (rev1, RFC 3501 2.3.2) */
};

struct imap_view {
	int64_t mailbox_id;
	char *name;		/* store form */
	bool readonly;		/* EXAMINE */
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_view_msg *msgs;
	size_t count, cap;
	uint32_t *pending;	/* expunged in the store, not yet announced (sorted) */
	size_t npending, pending_cap;
	/* A MODSEQ below every expunge in `pending` (the view's modseq when
	 * the first of them was noted: each was expunged after that). While
	 * expunges are held back, mod-sequences reported to the client as a
	 * resync point stop here (RFC 7162 3.2.4; imap-condstore.h). */
	uint64_t pending_floor;
	struct store_watch *watch;
	struct store_watch *mbwatch;	/* mailbox list: deleted or renamed away (imap-sync.c) */
	/* SEARCHRES (RFC 5182): the saved result "$" as ascending UIDs.
	 * A new view starts empty, so SELECT resets it (RFC 5182 section 2.1). */
	uint32_t *saved;
	size_t nsaved;
	uint64_t id;		/* unique per view: async results find their view */
	/* The keywords the client was told of in FLAGS (RFC 3501 7.2.6),
	 * space separated ("" for none); at most IMAP_VIEW_KEYWORDS_MAX. */
	char *known_keywords;
	size_t known_len;
};

/* Longest FLAGS keyword list a view keeps (bytes): the keywords of one
 * mailbox are few in practice; past this, more are not announced. */
#define IMAP_VIEW_KEYWORDS_MAX 65536

/* Load the mailbox's messages and start watching it. */
int imap_view_open(struct imap_session *s, const struct store_mailbox *mb, bool readonly,
		   struct imap_view **view_r);
void imap_view_free(struct imap_view **view);
/* Sequence number of a UID, 0 when not in the view. */
uint32_t imap_view_seq(const struct imap_view *v, uint32_t uid);
/* Largest UID in the view (0 if empty): the value of '*' in UID sets. */
uint32_t imap_view_max_uid(const struct imap_view *v);
/* Was this UID expunged in the store (announced later)? */
bool imap_view_is_pending(const struct imap_view *v, uint32_t uid);
/* Note an expunge to announce at the next allowed moment. */
void imap_view_add_pending(struct imap_view *v, uint32_t uid);
/* Messages selected by a sequence set (seq or UID form, '*' resolved),
 * as ascending UIDs (malloc'd). Pending expunges are included: the client
 * still sees them. -1 when a sequence number is out of range. */
int imap_view_uids(const struct imap_view *v, const char *set, bool uid, uint32_t **uids_r,
		   size_t *n_r);
/* Remove every message with a pending expunge from the view in one pass
 * (a merge of the two sorted lists: expunging 50,000 of 100,000 messages
 * must not be quadratic) and clear `pending`. When seqs_r is not NULL it
 * receives the removed messages' former sequence numbers, and uids_r
 * their UIDs, both ascending (malloc'd; *n_r of them). */
void imap_view_remove_pending(struct imap_view *v, uint32_t **seqs_r, uint32_t **uids_r,
			      size_t *n_r);
/* Replace the saved search result (RFC 5182) with these UIDs (any order). */
void imap_view_save_result(struct imap_view *v, const uint32_t *uids, size_t n);
/* The saved result as a UID set, for "$" in SEARCH (RFC 5182 section 2.1):
 * set_r is filled with the saved UIDs (empty when nothing was saved). */
void imap_view_saved_set(const struct imap_view *v, struct imap_seqset *set_r);
/* Mark the messages with UIDs in (lo, hi] recent, the others not. */
void imap_view_set_recent(struct imap_view *v, uint32_t lo, uint32_t hi);
/* Messages with \Recent for this session. */
size_t imap_view_recent_count(const struct imap_view *v);
/* RFC 3501 7.2.6: a FETCH must not show a keyword that no FLAGS
 * response has announced. Send "* FLAGS" and "* OK [PERMANENTFLAGS]" with
 * the grown list if `keywords` (space separated, may be NULL) holds one
 * the client was not told of. Call before writing the FETCH. */
void imap_view_announce_keywords(struct imap_session *s, const char *keywords);
/* Append a message's flags as FETCH FLAGS shows them to this session:
 * the stored flags, plus \Recent for a rev1 session (without parentheses). */
void imap_view_format_flags(const struct imap_session *s, struct buf *b,
			    const struct imap_view_msg *m);
#endif
