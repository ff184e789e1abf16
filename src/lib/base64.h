/* base64: RFC 4648 encoding and strict decoding. */
#ifndef ROOST_BASE64_H
#define ROOST_BASE64_H
#include <stddef.h>

/* Returns a malloc'd NUL-terminated string. */
char *base64_encode(const void *data, size_t len);
/* Strict: rejects bad characters and bad padding. Returns malloc'd bytes
 * (NUL-terminated, *len_r excludes it) or NULL. */
char *base64_decode(const char *s, size_t len, size_t *len_r);
#endif
