/*
 * imap-thread: the THREAD algorithms of RFC 5256 section 3,
 * ORDEREDSUBJECT and REFERENCES, over the message keys of imap-sort.h,
 * and the "* THREAD" response data (RFC 5256 section 4). cmd-thread.c is
 * the command around it.
 *
 * The whole tree is built in flat arrays (no recursion anywhere), so a
 * reference chain as long as the mailbox cannot exhaust the stack.
 */
#ifndef ROOST_IMAP_THREAD_H
#define ROOST_IMAP_THREAD_H
#include <stdbool.h>
#include <stddef.h>
#include "imap/imap-sort.h"

struct buf;

/* Message-IDs taken from one message's References field; the last ones
 * are kept (the nearest ancestors matter most). */
#define IMAP_THREAD_MAX_REFS 256
/* Bytes of a Message-ID (longer ones are not IDs). */
#define IMAP_THREAD_MAX_ID 998

enum imap_thread_alg { IMAP_THREAD_ORDEREDSUBJECT, IMAP_THREAD_REFERENCES };

/* Algorithm by name (case-insensitive); -1 when unknown. */
int imap_thread_alg_parse(const char *name, enum imap_thread_alg *alg_r);
/* What imap_sort_load_uids() must fill for the algorithm. */
unsigned imap_thread_needs(enum imap_thread_alg alg);
/* Thread msgs[0..n) (loaded in sequence order) and append the thread
 * lists, "(1 2 (3)(4))(5)...", to b: UIDs when `uid`, else sequence
 * numbers. msgs is reordered. */
void imap_thread_format(enum imap_thread_alg alg, struct imap_sort_msg *msgs, size_t n, bool uid,
			struct buf *b);
#endif
