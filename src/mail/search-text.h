/*
 * search-text: the text SEARCH compares strings against (RFC 9051 6.4.4:
 * "case-insensitive substring"), made one way for both the full-text
 * index built at store time (store-fts) and the path that reads message
 * files when there is no index. Because both use this one function, a
 * SEARCH answers the same with and without the index.
 *
 * A message's text has three parts, all UTF-8 and case folded (NFKC then
 * Unicode case fold, so "ÉTÉ" finds "été" and "STRASSE" finds "Straße"):
 *   prefix  the trace fields the store keeps per message (Return-Path,
 *           Delivered-To, Received), as header text;
 *   header  the content's top header, one field per line "name: value"
 *           with RFC 2047 words decoded and folding removed;
 *   body    every text leaf part with its Content-Transfer-Encoding undone
 *           and converted from its charset, HTML reduced to what a browser
 *           shows, and the headers of attached messages.
 */
#ifndef ROOST_MAIL_SEARCH_TEXT_H
#define ROOST_MAIL_SEARCH_TEXT_H
#include <stdbool.h>
#include <stddef.h>

/* Folded body text kept (and indexed) per message; the rest is not
 * searchable. Bounds the index row and the fallback's memory alike. */
#define SEARCH_TEXT_MAX_BODY ((size_t)16 << 20)
/* Folded header text kept per message (a header is at most a few MB). */
#define SEARCH_TEXT_MAX_HEADER ((size_t)4 << 20)

/* Case folding works on pieces of about this many bytes (at most _MAX),
 * cut where no character can compose across the cut: GLib's normaliser
 * is quadratic in its input, so pieces keep the fold linear. */
#define SEARCH_TEXT_FOLD_PIECE 1024
#define SEARCH_TEXT_FOLD_PIECE_MAX 4096

struct search_text {
	char *prefix, *header, *body;	/* folded, NUL-terminated, never NULL after build */
	size_t prefix_len, header_len, body_len;
};

/* Build the text of a message: `prefix` (may be NULL) and the content
 * with its part map (mime-index.h; offsets relative to content). */
void search_text_build(struct search_text *t, const char *prefix, size_t prefix_len,
		       const char *content, size_t len, const char *parts);
/* The two halves of search_text_build() for a zeroed `t`: a BODY search
 * builds only the body, a HEADER search only prefix and header. */
void search_text_build_header(struct search_text *t, const char *prefix, size_t prefix_len,
			      const char *content, size_t len);
void search_text_build_body(struct search_text *t, const char *content, size_t len,
			    const char *parts);
void search_text_clear(struct search_text *t);

/* The folded header text of a header block alone (the prefix). */
char *search_text_header_folded(const char *hdr, size_t len, size_t *len_r);
/* Unicode case fold (NFKC + casefold) of any bytes, as valid UTF-8. */
char *search_text_fold(const char *s, size_t len, size_t *len_r);

/* Is the (folded) needle in the (folded) hay? An empty needle: yes. */
bool search_text_find(const char *hay, size_t hlen, const char *needle, size_t nlen);
/* Does a folded header text have a field named `field` (folded) whose
 * value contains the needle? An empty needle matches any such field. */
bool search_text_header_find(const char *hdr, size_t hlen, const char *field, const char *needle,
			     size_t nlen);

/* Unfolded header text, not case folded: "Name: value\n" per field. */
char *search_text_header(const char *hdr, size_t len, size_t *len_r);
/* The values of every `field` (case-insensitive) of a raw header block,
 * one per line, RFC 2047 decoded when `decode`; NULL when absent. */
char *search_text_header_field(const char *hdr, size_t len, const char *field, bool decode);
/* Decoded body text, not case folded (see above). */
char *search_text_body(const char *content, size_t len, const char *parts, size_t *len_r);
#endif
