/*
 * imap-search-text: what SEARCH compares strings against, and how.
 *
 * RFC 9051 6.4.4: string keys match "case-insensitive substring" of the
 * field or text. We compare decoded UTF-8: header fields with RFC 2047
 * words decoded, bodies with their Content-Transfer-Encoding undone
 * (base64, quoted-printable) and converted from their charset, HTML with
 * its tags and entities removed. ASCII search strings match ASCII
 * case-insensitively on the raw text; others compare Unicode case folds
 * (NFKC, then GLib's casefold), so "ÉTÉ" finds "été".
 */
#ifndef ROOST_IMAP_SEARCH_TEXT_H
#define ROOST_IMAP_SEARCH_TEXT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decoded text kept for one message: the raw bytes are never bigger than
 * the message, so this is bounded by message.max_size (times the small
 * expansion of charset conversion). */
struct imap_search_hay {
	char *text;		/* UTF-8, owned */
	size_t len;
	char *folded;		/* lazily made case fold, owned */
	size_t flen;
};

struct imap_search_needle {
	char *text;
	size_t len;
	bool ascii;
	char *folded;		/* case fold when !ascii */
	size_t flen;
};

void imap_search_needle_init(struct imap_search_needle *n, const char *s, size_t len);
void imap_search_needle_clear(struct imap_search_needle *n);

/* Take ownership of text (malloc'd, NUL-terminated). */
void imap_search_hay_set(struct imap_search_hay *h, char *text, size_t len);
void imap_search_hay_clear(struct imap_search_hay *h);
/* Is needle a case-insensitive substring of hay? (empty needle: yes) */
bool imap_search_hay_contains(struct imap_search_hay *h, const struct imap_search_needle *n);
/* The same for a plain UTF-8 string (header fields from the store). */
bool imap_search_str_contains(const char *s, const struct imap_search_needle *n);

/* A header block (several fields, folded, raw) as decoded text, one field
 * per line "Name: value". */
char *imap_search_header_text(const char *hdr, size_t len, size_t *len_r);
/* The decoded values of every `field` in the header block, one per line;
 * NULL when the field is absent. */
char *imap_search_header_field(const char *hdr, size_t len, const char *field);
/* The UTC offset in seconds written in the Date: field (0 when none). */
int64_t imap_search_date_zone(const char *hdr, size_t len);
/* The decoded text of the message's body: every text leaf part decoded
 * and converted, and the headers of attached messages. `parts` is the
 * part map (mime-index.h), offsets relative to data + prefix_len. */
char *imap_search_body_text(const char *data, size_t len, size_t prefix_len, const char *parts,
			    size_t *len_r);
#endif
