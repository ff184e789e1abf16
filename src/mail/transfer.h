/*
 * transfer: undoing a Content-Transfer-Encoding (RFC 2045 6) and the
 * tolerant base64 all of mail decoding shares. Mail in the wild is often
 * slightly broken and readers want our best reading, so these never fail
 * on bad input: characters outside the alphabet are skipped, a malformed
 * "=" in quoted-printable is kept as is. (Strict base64 for SASL is
 * lib/base64.h.)
 */
#ifndef ROOST_TRANSFER_H
#define ROOST_TRANSFER_H
#include <stdbool.h>
#include <stddef.h>
#include "lib/buf.h"

/* RFC 2045 6.8, tolerant: non-alphabet bytes (line breaks, spaces) are
 * ignored; decoding stops at the first '='. Appends to out. */
void transfer_base64_decode(const char *in, size_t len, struct buf *out);
/* RFC 2045 6.7: "=XX", soft line breaks, trailing whitespace. */
void transfer_qp_decode(const char *in, size_t len, struct buf *out);
/* Value of a hex digit, or -1. */
int transfer_hex_value(unsigned char c);
/* Decode by encoding name (case-insensitive): base64, quoted-printable,
 * or the identity encodings 7bit, 8bit, binary (and "" = 7bit). Returns
 * a malloc'd, NUL-terminated result, or NULL for an unknown encoding. */
char *transfer_decode(const char *cte, const char *in, size_t len, size_t *len_r);
#endif
