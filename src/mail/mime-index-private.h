/*
 * mime-index-private: the part tree and header helpers shared by the
 * mime-*.c files that implement mime-index.h. Nothing outside
 * src/mail/mime-*.c includes this.
 *
 *   mime-scan.c       raw bytes -> part tree (own boundary scanner, exact
 *                     byte offsets, linear time)
 *   mime-header.c     header values: unfolding, Content-Type and parameter
 *                     lexing (RFC 2045, RFC 2183)
 *   mime-envelope.c   ENVELOPE (RFC 3501 7.4.2, RFC 9051 7.5.2)
 *   mime-structure.c  BODY, BODYSTRUCTURE and the parts map
 *   mime-decode.c     RFC 2047 and charsets to UTF-8 (GMime charset tables)
 *   mime-index.c      mime_index_build(): glue and the SEARCH fields
 */
#ifndef ROOST_MIME_INDEX_PRIVATE_H
#define ROOST_MIME_INDEX_PRIVATE_H
#include "mail/mime-index.h"
#include "lib/buf.h"
#include <stdbool.h>

#define MIME_MAX_TOKEN 127	/* longer type/subtype/encoding: invalid */
#define MIME_MAX_BOUNDARY 256	/* RFC 2046 5.1.1 says 70; be lenient */
#define MIME_MAX_PARAMS 256	/* parameters written per header */
#define MIME_MAX_ADDRESSES 10000 /* addresses per ENVELOPE address list */

/* The header fields the index reads; only the first occurrence counts. */
enum mime_field {
	MF_DATE, MF_SUBJECT, MF_FROM, MF_SENDER, MF_REPLY_TO, MF_TO, MF_CC,
	MF_BCC, MF_IN_REPLY_TO, MF_MESSAGE_ID, MF_REFERENCES,
	MF_CONTENT_TYPE, MF_CONTENT_TRANSFER_ENCODING, MF_CONTENT_ID,
	MF_CONTENT_DESCRIPTION, MF_CONTENT_DISPOSITION, MF_CONTENT_LANGUAGE,
	MF_CONTENT_LOCATION, MF_CONTENT_MD5,
	MF_COUNT
};

/* Raw, still folded field value: data[start..end). Absent when start == 0
 * (a value always starts after a colon, so never at offset 0). */
struct mime_span {
	size_t start, end;
};

enum mime_kind { MIME_LEAF, MIME_MULTIPART, MIME_MESSAGE };
/* Where a part's Content-Type parameters come from when written. */
enum mime_params { PARAMS_HEADER, PARAMS_US_ASCII, PARAMS_NONE };

struct mime_part {
	size_t hdr_start, body_start, end;
	size_t body_lf, end_lf;	/* LF count in data[0..body_start), [0..end) */
	struct mime_span field[MF_COUNT];
	enum mime_kind kind;
	enum mime_params params;
	char type[MIME_MAX_TOKEN + 1], subtype[MIME_MAX_TOKEN + 1]; /* lowercase */
	char cte[MIME_MAX_TOKEN + 1];	/* lowercase, "7bit" by default */
	int first_child, next;	/* multipart children, -1 for none */
	int message;		/* MIME_MESSAGE: the encapsulated message */
};

struct mime_tree {
	const char *data;
	size_t len;
	struct mime_part *parts;	/* parts[0] is the whole message */
	size_t nparts, cap;
};

/* mime-scan.c */
void mime_tree_build(struct mime_tree *t, const char *data, size_t len);
void mime_tree_free(struct mime_tree *t);

/* mime-header.c */
/* The field's value unfolded (every LF and a CR before it removed; RFC 5322
 * 2.2.3) and trimmed of surrounding white space, into out (reset first).
 * Returns false when the field is absent. */
bool mime_field_unfold(const char *data, const struct mime_span *sp, struct buf *out);

/* A cursor over an unfolded structured value. */
struct mime_lex {
	const char *p, *end;
};
/* Skip white space and (nested) comments. */
void mime_lex_skip_cfws(struct mime_lex *lx);
/* An RFC 2045 token; false (nothing consumed) when none is there. */
bool mime_lex_token(struct mime_lex *lx, const char **tok_r, size_t *len_r);
/* The next "; attribute=value" parameter; value unquoted into value_r.
 * false at the end of the value. */
bool mime_lex_param(struct mime_lex *lx, const char **name_r, size_t *name_len_r,
		    struct buf *value_r);
/* Copy a token lowercased into dst (size MIME_MAX_TOKEN + 1); false when it
 * is empty or too long. */
bool mime_token_lower(char *dst, const char *tok, size_t len);

/* mime-decode.c (mime-decode.h has the capped form and its limits) */
/* Header text decoded to UTF-8 (RFC 2047 words, charsets, raw 8-bit);
 * caller frees. */
char *mime_decode_header_text(const char *s, size_t n);

/* mime-envelope.c */
void mime_envelope_write(struct buf *out, const char *data, const struct mime_part *p);

/* mime-structure.c */
void mime_structure_write(struct buf *out, const struct mime_tree *t, int idx, bool extended);
void mime_parts_write(struct buf *out, const struct mime_tree *t);

/* mime-preview.c: the PREVIEW text (RFC 8970) of the first text part, or
 * NULL when there is none; caller frees. */
char *mime_preview_build(const struct mime_tree *t);
#endif
