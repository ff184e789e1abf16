/*
 * imap-sort: SORT criteria (RFC 5256 section 3, DISPLAYFROM/DISPLAYTO from
 * RFC 5957) and the per-message keys SORT and THREAD compare. cmd-sort.c
 * is the command around it; imap-thread.c builds threads from the same
 * message keys.
 *
 * Keys come from the store's fields decoded at store time (store-sort.h):
 * one query per command, no message content is read. Strings compare with
 * i18n;ascii-casemap (RFC 4790 9.2, base_subject_cmp()). Messages that tie
 * on every criterion stay in sequence order (RFC 5256 section 3: REVERSE
 * does not reverse that implicit last key).
 */
#ifndef ROOST_IMAP_SORT_H
#define ROOST_IMAP_SORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap/imap-parser.h"

struct imap_session;
struct imap_cmd;
struct imap_search;
struct imap_search_snap;
struct store;

/* Criteria in one SORT (REVERSE not counted); more is BAD. */
#define IMAP_SORT_MAX_CRITERIA 16

enum imap_sort_key {
	IMAP_SORT_ARRIVAL, IMAP_SORT_CC, IMAP_SORT_DATE, IMAP_SORT_FROM, IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT, IMAP_SORT_TO, IMAP_SORT_DISPLAYFROM, IMAP_SORT_DISPLAYTO,
};

struct imap_sort_program {
	struct {
		enum imap_sort_key key;
		bool reverse;
	} crit[IMAP_SORT_MAX_CRITERIA];
	size_t n;
};

/* Parse the parenthesized sort-criteria list. -1 with a static text for
 * BAD (empty list, unknown key, REVERSE without a key, too many). */
int imap_sort_parse(const struct imap_arg *list, struct imap_sort_program *p_r,
		    const char **error_r);

/* What imap_sort_load_uids() fills beyond the numbers. */
enum imap_sort_need {
	IMAP_SORT_NEED_SUBJECT = 1 << 0,	/* subject, reply */
	IMAP_SORT_NEED_FROM = 1 << 1,		/* from, dfrom */
	IMAP_SORT_NEED_TO = 1 << 2,		/* to, dto */
	IMAP_SORT_NEED_CC = 1 << 3,		/* cc */
	IMAP_SORT_NEED_IDS = 1 << 4,		/* message_id, in_reply_to, references */
};

/* One message as SORT and THREAD see it. Strings are malloc'd or NULL
 * (NULL compares as ""). */
struct imap_sort_msg {
	uint32_t idx;		/* view index: sequence number - 1 */
	uint32_t uid;
	int64_t arrival;	/* INTERNALDATE */
	int64_t size;
	int64_t date;		/* sent date: Date: field, else INTERNALDATE (RFC 5256 2.2) */
	char *subject;		/* base subject (RFC 5256 2.1) */
	bool reply;		/* the subject was a reply/forward */
	char *from, *to, *cc;	/* addr-mailbox of the first address (RFC 5256 3) */
	char *dfrom, *dto;	/* display name, else addr-spec (RFC 5957) */
	char *message_id, *in_reply_to, *references;	/* raw field values */
};

/* The needs of a program (for imap_sort_load_uids). */
unsigned imap_sort_program_needs(const struct imap_sort_program *p);
/* Keys of the messages with ascending UIDs uids[0..n) (idx = position,
 * which keeps sequence order), one store query. Any thread. -1 when the
 * store cannot be read. */
int imap_sort_load_uids(struct store *st, int64_t account_id, int64_t mailbox_id,
			const uint32_t *uids, size_t n,
			unsigned need, struct imap_sort_msg **msgs_r);
void imap_sort_msgs_free(struct imap_sort_msg **msgs, size_t n);
/* Order msgs by the program (ties: sequence order). */
/* One comparison of that order, ties by UID (which is sequence order):
 * <0, 0 (the same message), >0. For live sorted results (imap-context.c). */
int imap_sort_cmp(const struct imap_sort_program *p, const struct imap_sort_msg *a,
		  const struct imap_sort_msg *b);
void imap_sort_order(const struct imap_sort_program *p, struct imap_sort_msg *msgs, size_t n);

/* The common tail of SORT and THREAD: "charset 1*(SP search-key)" in
 * args[0..n) (RFC 5256 section 4: the charset is mandatory), parsed on
 * the loop. On failure the command is finished (BAD for syntax, NO
 * [BADCHARSET ...] for a charset other than UTF-8 or US-ASCII), the saved
 * result is emptied when `save` (RFC 5182 2.1), and -1 returned. */
int imap_sort_search_parse(struct imap_cmd *cmd, const struct imap_arg *args, size_t n, bool save,
			   struct imap_search **search_r);
/* On a worker: run the search over the snapshot and load the keys of the
 * matches (UID order). -1 when the store cannot be read. */
int imap_sort_search_run(const struct imap_search_snap *snap, const struct imap_search *search,
			 unsigned need, struct imap_sort_msg **msgs_r, size_t *n_r);

/* Exposed for tests: the first address of an address-list field (decoded
 * header text): its addr-mailbox and its RFC 5957 display key, malloc'd
 * ("" when there is no address). */
void imap_sort_first_address(const char *field, char **mailbox_r, char **display_r);
#endif
