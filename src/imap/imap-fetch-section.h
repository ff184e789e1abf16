/*
 * imap-fetch-section: BODY[section] extraction (RFC 9051 6.4.5) from the
 * message bytes and the precomputed part map (mail/mime-index.h). The
 * stored message is prefix (trace headers) + content; part offsets are into
 * the content, so they are shifted by prefix_len, except that the top-level
 * header starts at 0 and so includes the prefix.
 */
#ifndef ROOST_IMAP_FETCH_SECTION_H
#define ROOST_IMAP_FETCH_SECTION_H
#include <stdbool.h>
#include <stddef.h>
#include "imap/imap-parser.h"

struct buf;

#define IMAP_MAX_SECTION_FIELDS 100	/* names in HEADER.FIELDS (...) */
#define IMAP_MAX_SECTION_DEPTH 32	/* numbers in "1.2.3..." */

enum imap_section_kind {
	SECTION_ALL,		/* [] or [1.2] */
	SECTION_HEADER,
	SECTION_FIELDS,
	SECTION_FIELDS_NOT,
	SECTION_TEXT,
	SECTION_MIME,
};

struct imap_section {
	char *part;		/* "1.2" or "" for the whole message */
	enum imap_section_kind kind;
	char **fields;
	size_t nfields;
};

/* Parse the text between '[' and ']'. -1 on bad syntax. */
int imap_section_parse(const char *text, struct imap_section *sec_r);
void imap_section_clear(struct imap_section *sec);
/* Extract: *out_r points into data or is malloc'd (*owned_r true).
 * -1 when the part does not exist (the reply is then an empty string). */
int imap_section_extract(const struct imap_section *sec, const char *data, size_t len,
			 size_t prefix_len, const char *parts, const char **out_r,
			 size_t *outlen_r, char **owned_r);

/* BINARY[part] (RFC 3516): the part's body with its Content-Transfer-
 * Encoding (base64, quoted-printable) undone; the identity encodings and
 * composite parts come back as they are; "" is the whole message. The
 * result is always malloc'd in *out_r. */
enum imap_binary_result {
	IMAP_BINARY_OK = 0,
	IMAP_BINARY_NOPART = -1,	/* no such part */
	IMAP_BINARY_UNKNOWN_CTE = -2,	/* NO [UNKNOWN-CTE] */
};
int imap_section_binary(const char *section_part, const char *data, size_t len, size_t prefix_len,
			const char *parts, char **out_r, size_t *outlen_r);

/* The replacement for NUL in a literal that is not literal8. */
#define IMAP_NUL_REPLACEMENT 0x80
/* Append "{len}\r\n" and the bytes for BODY[...] and RFC822*: a literal
 * that is not literal8 must never hold NUL (RFC 3501 4.3, RFC 9051 4.3),
 * yet a message stored with "binary" parts may. Each NUL goes out as
 * IMAP_NUL_REPLACEMENT, so the length, RFC822.SIZE and partial offsets
 * stay what they were (Dovecot does the same; Cyrus refuses such mail on
 * arrival instead, which cannot help with what is already stored). The
 * bytes themselves are BINARY[...]'s, as literal8 (RFC 3516). */
void imap_section_put_literal(struct buf *b, const char *data, size_t len);
#endif
