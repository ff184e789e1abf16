/*
 * imap-search-text: how SEARCH compares its strings (RFC 9051 6.4.4:
 * "case-insensitive substring"). The text of headers and bodies is made by
 * mail/search-text.h, shared with the full-text index; this file holds the
 * search strings (needles) and the matching of the header fields the
 * store keeps decoded per content (SUBJECT, FROM, ...): ASCII strings
 * match ASCII case-insensitively, others compare Unicode case folds.
 */
#ifndef ROOST_IMAP_SEARCH_TEXT_H
#define ROOST_IMAP_SEARCH_TEXT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_search_needle {
	char *text;
	size_t len;
	bool ascii;
	char *folded;		/* search_text_fold() of text, always set */
	size_t flen;
};

void imap_search_needle_init(struct imap_search_needle *n, const char *s, size_t len);
void imap_search_needle_clear(struct imap_search_needle *n);
/* Is the needle a case-insensitive substring of a plain UTF-8 string (a
 * header field from the store)? NULL: no. */
bool imap_search_str_contains(const char *s, const struct imap_search_needle *n);

/* The decoded values of every `field` in the header block, one per line;
 * NULL when the field is absent. */
char *imap_search_header_field(const char *hdr, size_t len, const char *field);
/* The UTC offset in seconds written in the Date: field (0 when none). */
int64_t imap_search_date_zone(const char *hdr, size_t len);
#endif
