/*
 * membudget: one daemon-wide budget for the memory clients make us hold
 * for them in bulk: SMTP/LMTP DATA and BDAT message buffers, IMAP
 * APPEND/REPLACE literals, and big messages being sent (IMAP FETCH,
 * POP3 RETR/TOP). Each of those is bounded on its own
 * (message.max_size); the budget bounds their sum, so many concurrent
 * transfers get a temporary refusal instead of growing the daemon.
 *
 * The counter is atomic: any thread may take and give. Every successful
 * membudget_take(n) must be matched by membudget_give(n) on every path
 * (the transfer ends, is refused, or the connection goes away).
 */
#ifndef ROOST_LIB_MEMBUDGET_H
#define ROOST_LIB_MEMBUDGET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The automatic limit (server.memory_budget = auto or 0): a quarter of
 * physical memory, at most MEMBUDGET_AUTO_MAX, at least
 * MEMBUDGET_AUTO_MIN (enough for a few messages of the default
 * message.max_size even on a tiny machine). */
#define MEMBUDGET_AUTO_MAX ((size_t)2 << 30)	/* 2 GiB */
#define MEMBUDGET_AUTO_MIN ((size_t)256 << 20)	/* 256 MiB */

/* The limit for a configured value: bytes > 0 as given; 0 (or "auto")
 * derived from RAM as above; -1 ("unlimited") SIZE_MAX. */
size_t membudget_limit_for(int64_t configured);
/* Set the limit (before any take; without it the budget is unlimited). */
void membudget_init(size_t limit);
/* Draw n bytes: false (nothing taken) when the total would exceed the
 * limit. n == 0 always succeeds. */
bool membudget_take(size_t n);
/* Return n bytes drawn earlier. */
void membudget_give(size_t n);
size_t membudget_used(void);
size_t membudget_limit(void);
#endif
