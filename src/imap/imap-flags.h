/*
 * imap-flags: flag lists (RFC 9051 section 2.3.2): system flags map to
 * STORE_FLAG_* bits, keywords are kept as space-separated atoms.
 */
#ifndef ROOST_IMAP_FLAGS_H
#define ROOST_IMAP_FLAGS_H
#include <stdbool.h>
#include <stdint.h>
#include "imap/imap-parser.h"

struct buf;

#define IMAP_SYSTEM_FLAGS "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

/* Parse a flag list (or a single flag atom). \Recent is ignored (RFC 3501
 * 2.3.2: it cannot be set by clients). *keywords_r is malloc'd or NULL.
 * -1 with an error text on a bad flag. */
int imap_flags_parse(const struct imap_arg *arg, uint32_t *flags_r, char **keywords_r,
		     const char **error_r);
/* Append "\Seen \Flagged kw" (no parentheses). */
void imap_flags_format(struct buf *b, uint32_t flags, const char *keywords);
/* Is `kw` a valid keyword atom? */
bool imap_keyword_valid(const char *kw);
#endif
