/*
 * mime-index: everything IMAP needs from a message, computed once at store
 * time with GMime, so FETCH ENVELOPE/BODYSTRUCTURE and header SEARCH never
 * re-read the message. Never fails on malformed input: what does not parse
 * falls back (a body that is not MIME is text/plain; RFC 3501 7.4.2).
 * Cost is linear in the message size; nesting depth and part count are capped.
 */
#ifndef ROOST_MIME_INDEX_H
#define ROOST_MIME_INDEX_H
#include <stddef.h>
#include <stdint.h>

#define MIME_MAX_DEPTH 64	/* deeper parts are treated as opaque leaves */
#define MIME_MAX_PARTS 10000	/* parts beyond this are not indexed */

struct mime_index {
	/* IMAP response strings, ready to send (UTF-8 allowed in quoted strings
	 * only where the RFCs allow; other 8-bit becomes a literal). */
	char *envelope;		/* ENVELOPE list: (date subject from ...) */
	char *body;		/* BODY (non-extensible structure) */
	char *bodystructure;	/* BODYSTRUCTURE (with extension data) */
	/* Part map, one line per part in depth-first order:
	 *   "<section> <hdr_start> <body_start> <end> <cte> <type/subtype>\n"
	 * section: "" is written as "0" for the whole message; otherwise
	 * "1", "1.2", ... as IMAP numbers them. Offsets are byte offsets into
	 * the content. For message/rfc822 parts, the encapsulated message's
	 * parts follow with sections "N.1"... and its header starts at the
	 * part's body_start. cte is the lowercase Content-Transfer-Encoding
	 * ("7bit" if absent).
	 * Also: a message that is not multipart (top level or encapsulated)
	 * has a part 1 with the same offsets as the message itself (RFC 3501
	 * 6.4.5), and each message/rfc822 part N is followed by a line "N.0"
	 * for the encapsulated message (hdr_start = N's body_start, body_start
	 * = its own body), so N.HEADER and N.TEXT need no re-parsing. "0"
	 * gives HEADER/TEXT of the whole message the same way. */
	char *parts;
	/* Header fields for SEARCH and SORT: decoded (RFC 2047) to UTF-8,
	 * unfolded; NULL when absent. */
	char *subject, *from, *to, *cc, *bcc, *message_id, *in_reply_to, *references;
	int64_t date;		/* Date: as unix time, 0 when missing or unparseable */
	size_t header_len;	/* bytes of the top header, blank line included */
	/* PREVIEW (RFC 8970): up to MIME_PREVIEW_MAX characters of the first
	 * text part, decoded to UTF-8, HTML reduced to text, white space
	 * collapsed; NULL when the message has no text part (mime-preview.c). */
	char *preview;
};
#define MIME_PREVIEW_MAX 256	/* characters, RFC 8970 3.1 */

/* Call once per process before any other GMime use (idempotent). */
void mime_index_global_init(void);
void mime_index_build(const char *data, size_t len, struct mime_index *idx_r);
void mime_index_clear(struct mime_index *idx);
#endif
