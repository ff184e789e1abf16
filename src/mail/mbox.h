/*
 * mbox: messages out of an mbox file (mboxrd: a line "From ..." starts
 * each message; a body line ">...>From " lost one '>' when written, so
 * reading removes one; mboxo files read the same, except that their
 * unquoted ">From " lines come back one '>' short, which mboxo cannot
 * tell apart). Status (R seen), X-Status (A answered, F flagged, T draft,
 * D deleted) and X-Keywords header fields become flags and keywords and
 * are dropped from the message, as they are the mbox writer's, not the
 * message's. Pure: works on a buffer.
 */
#ifndef ROOST_MAIL_MBOX_H
#define ROOST_MAIL_MBOX_H
#include <stddef.h>
#include <stdint.h>

/* Longest header line examined for Status/X-Status/X-Keywords. */
#define MBOX_MAX_STATUS_LINE 4096

struct mbox_msg {
	char *data;	/* the message, unquoted (malloc'd) */
	size_t len;
	uint32_t flags;	/* store.h numbering: seen 1, answered 2, flagged 4, deleted 8, draft 16 */
	char *keywords;	/* space separated (malloc'd), or NULL */
	int64_t date;	/* from the From_ line (UTC), 0 when unreadable */
};
void mbox_msg_clear(struct mbox_msg *m);

/* The message at *off, which must start a "From " line (or be at the
 * end). 1: *m filled and *off at the next one; 2: the message is larger
 * than max bytes (the caller's limit, message.max_size): skipped, *off at
 * the next; 0: end of data; -1: *off is not at a From_ line (not an mbox). */
int mbox_next(const char *data, size_t len, size_t *off, size_t max, struct mbox_msg *m);
#endif
