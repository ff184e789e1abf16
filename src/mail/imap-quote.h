/*
 * imap-quote: write a byte string as an IMAP string (RFC 3501 4.3,
 * RFC 9051 4.3): a quoted string when it is short 7-bit text, otherwise a
 * literal "{n}\r\n" followed by the bytes. Shared by the message indexer
 * (ENVELOPE, BODYSTRUCTURE) and the IMAP responses.
 */
#ifndef ROOST_IMAP_QUOTE_H
#define ROOST_IMAP_QUOTE_H
#include <stddef.h>
#include "lib/buf.h"

/* Longer strings are sent as literals even when they could be quoted, so
 * that no client meets a multi-kilobyte response line. */
#define IMAP_QUOTE_MAX_QUOTED 4096

/* Append s[0..n) as a quoted string ("\" and DQUOTE escaped) when every byte
 * is a 7-bit CHAR other than CR/LF and n <= IMAP_QUOTE_MAX_QUOTED; else as a
 * literal. NUL bytes cannot travel in either form (CHAR8 excludes %x00) and
 * are dropped. */
void imap_quote_string(struct buf *out, const char *s, size_t n);
/* The same, or NIL when s is NULL (an nstring). */
void imap_quote_nstring(struct buf *out, const char *s, size_t n);
#endif
