/*
 * mime-decode: header text to UTF-8 (RFC 2047 encoded-words, charsets,
 * raw 8-bit), the one decoder behind the store's search fields, SORT keys
 * and the SEARCH text of mail/search-text.h. Linear in the input and
 * capped per field, so a hostile header costs no more than its size.
 */
#ifndef ROOST_MAIL_MIME_DECODE_H
#define ROOST_MAIL_MIME_DECODE_H
#include <stddef.h>

/* Encoded-words decoded per header field; text after the last one that is
 * decoded is kept raw (still searchable as the bytes it was sent as). */
#define MIME_DECODE_MAX_WORDS 5000
/* Bytes of UTF-8 one field decodes to; the rest is cut off on a character
 * boundary. */
#define MIME_DECODE_MAX_OUTPUT ((size_t)1 << 20)

/* Header text decoded to UTF-8; caller frees. *words_r (may be NULL): the
 * encoded-words decoded (for tests of the caps). */
char *mime_decode_header_text_n(const char *s, size_t n, size_t *words_r);
#endif
