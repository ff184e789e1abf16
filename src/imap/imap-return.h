/*
 * imap-return: the RETURN options of SEARCH and SORT, parsed once for
 * both commands, and the parts of the ESEARCH reply they share.
 *   search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT"     (RFC 4731 3.1)
 *                     / "SAVE"                              (RFC 5182 2.4)
 *                     / "UPDATE" / "CONTEXT"                (RFC 5267 4.1, 4.2)
 *                     / "PARTIAL" SP partial-range          (RFC 9394 3.1)
 *   partial-range     = nz-number ":" nz-number             (first..)
 *                     / "-" nz-number ":" "-" nz-number     (..last)
 */
#ifndef ROOST_IMAP_RETURN_H
#define ROOST_IMAP_RETURN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap/imap-parser.h"
#include "lib/buf.h"

struct imap_view;

enum imap_return_opt {
	IMAP_RETURN_MIN = 1,
	IMAP_RETURN_MAX = 2,
	IMAP_RETURN_ALL = 4,
	IMAP_RETURN_COUNT = 8,
	IMAP_RETURN_SAVE = 16,
	IMAP_RETURN_UPDATE = 32,	/* RFC 5267 4.2: keep the result updated */
	IMAP_RETURN_CONTEXT = 64,	/* RFC 5267 4.1: a hint, nothing to do */
	IMAP_RETURN_PARTIAL = 128,	/* RFC 9394 3.1 */
};
/* the options that ask for result data (the others only change what
 * happens around it) */
#define IMAP_RETURN_RESULT_OPTS                                                           \
	(IMAP_RETURN_MIN | IMAP_RETURN_MAX | IMAP_RETURN_ALL | IMAP_RETURN_COUNT |         \
	 IMAP_RETURN_PARTIAL)
/* RETURN lists longer than this are BAD: there are 8 options, each once */
#define IMAP_RETURN_MAX_ITEMS 16

struct imap_return {
	unsigned opts;		/* enum imap_return_opt bits */
	/* PARTIAL: 1-based positions lo <= hi in the result, counted from
	 * its end when `from_end` (RFC 9394 3.1: "-1:-100" is the last 100) */
	bool from_end;
	uint32_t lo, hi;
};

/* The RETURN list `list` (the parenthesized argument after RETURN).
 * "RETURN ()" means ALL (RFC 4731 3.1). -1 with a static text for BAD. */
int imap_return_parse(const struct imap_arg *list, struct imap_return *ret_r,
		      const char **error_r);
/* One partial-range atom ("1:100", "-1:-100") into ret_r's from_end, lo
 * and hi (opts untouched). -1 when it is not one. */
int imap_return_parse_range(const struct imap_arg *a, struct imap_return *ret_r);
/* The 0-based slice [*first_r, *first_r + *n_r) of an n-long result that
 * PARTIAL selects; *n_r is 0 when the range lies past the result (or
 * without PARTIAL). */
void imap_return_partial_slice(const struct imap_return *ret, size_t n, size_t *first_r,
			       size_t *n_r);
/* " PARTIAL (range set)" for the slice nums[0..n) (RFC 9394 3.1:
 * partial-results is NIL when no message falls in the range). `ordered`
 * keeps the given order (ESORT) instead of writing a compact set. */
void imap_return_put_partial(struct buf *b, const struct imap_return *ret, const uint32_t *nums,
			     size_t n, bool ordered);
/* A sequence set in the given order (ESORT ALL, RFC 5267 3.1): "a:b"
 * only for ascending runs of consecutive numbers. */
void imap_return_put_ordered_set(struct buf *b, const uint32_t *nums, size_t n);
/* The highest MODSEQ of the messages a reply returns (RFC 7162 3.1.5):
 * all of uids[0..n) (result order) with ALL, COUNT or no ESEARCH, else
 * only the MIN, MAX and PARTIAL ones. */
uint64_t imap_return_modseq(const struct imap_view *v, const struct imap_return *r,
			    const uint32_t *uids, size_t n);
#endif
