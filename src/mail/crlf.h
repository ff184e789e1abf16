/*
 * crlf: a message's size in canonical form — every line ending CRLF, and
 * a final line without a line ending given one — which is what POP3 sends
 * (RFC 1939 3, 11) and what clients count. Computed once at store time so
 * POP3 STAT/LIST never read message bodies.
 */
#ifndef ROOST_CRLF_H
#define ROOST_CRLF_H
#include <stddef.h>
#include <stdint.h>

int64_t crlf_size(const char *data, size_t len);
#endif
