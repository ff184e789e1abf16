/*
 * store-sort: the reads SORT and THREAD (RFC 5256) need: per message the
 * row fields and the header fields decoded at store time (mime-index.h),
 * in one snapshot and one query. Two shapes: the numeric keys only
 * (ARRIVAL, DATE, SIZE: no text is read, so a big mailbox sorts fast) or
 * with the header fields.
 */
#ifndef ROOST_STORE_SORT_H
#define ROOST_STORE_SORT_H
#include "store/store.h"
#include <stdbool.h>

struct store_sort_row {
	uint32_t uid;
	int64_t internaldate;	/* unix time */
	int64_t size;		/* RFC822.SIZE */
	int64_t date;		/* Date: field as unix time, 0 when missing */
	/* With headers only (else NULL); NULL also when the field is absent.
	 * Valid only during the callback. */
	const char *subject, *from, *to, *cc, *message_id, *in_reply_to, *references;
};

/* fn returns 0 to go on, -1 to stop early. */
typedef int store_sort_fn(void *ctx, const struct store_sort_row *row);

/* Call fn for each message with lo <= uid <= hi, UID ascending.
 * STORE_ENOTFOUND when the mailbox is not account_id's. */
enum store_err store_sort_rows(struct store *s, int64_t account_id, int64_t mailbox_id,
			       uint32_t lo, uint32_t hi, bool headers, store_sort_fn *fn, void *ctx);
#endif
