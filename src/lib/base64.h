/* base64: RFC 4648 encoding and strict decoding. */
#ifndef ROOST_BASE64_H
#define ROOST_BASE64_H
#include <stddef.h>

/* Value of one base64 alphabet character (RFC 4648 table 1), or -1. */
int base64_value(unsigned char c);
/* Returns a malloc'd NUL-terminated string. */
char *base64_encode(const void *data, size_t len);
/* Strict: rejects bad characters and bad padding. Returns malloc'd bytes
 * (NUL-terminated, *len_r excludes it) or NULL. */
char *base64_decode(const char *s, size_t len, size_t *len_r);
#endif
