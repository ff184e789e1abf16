/*
 * imap-uidbatches: the arguments of UIDBATCHES (RFC 10022 3):
 *   "UIDBATCHES" SP nz-number [SP nz-number ":" nz-number]
 * a batch size, then optionally which batches (1 = the newest). Pure
 * syntax, no session: cmd-uidbatches.c applies the size and span limits
 * (NO [TOOFEW], NO [TOOMANY]) and cuts the batches; the unit test and the
 * fuzz target drive this directly.
 */
#ifndef ROOST_IMAP_UIDBATCHES_H
#define ROOST_IMAP_UIDBATCHES_H
#include "imap/imap-parser.h"
#include <stdbool.h>
#include <stdint.h>

/* Characters of one number: "4294967295" has 10. Longer is refused even
 * with leading zeros, which are otherwise accepted as elsewhere in the
 * IMAP parser (imap_parse_number). */
#define IMAP_UIDBATCHES_MAX_DIGITS 10

struct imap_uidbatches_args {
	uint32_t size;		/* batch size, 1..2^32-1 */
	bool ranged;		/* a batch range was given */
	uint32_t first, last;	/* batches asked for, 1 <= first <= last;
				 * 1 and UINT32_MAX (all) when not ranged */
};

/* Parse the command's `count` arguments. -1 with a static text for BAD:
 * not one or two arguments, a size that is not a nz-number, a range that
 * is not "first:last" of nz-numbers with first <= last. */
int imap_uidbatches_parse(const struct imap_arg *args, size_t count,
			  struct imap_uidbatches_args *r, const char **error_r);
#endif
