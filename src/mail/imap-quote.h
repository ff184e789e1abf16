/*
 * imap-quote: write a byte string as an IMAP string (RFC 3501 4.3,
 * RFC 9051 4.3): a quoted string when it is short 7-bit text, otherwise a
 * literal "{n}\r\n" followed by the bytes. Shared by the message indexer
 * (ENVELOPE, BODYSTRUCTURE) and the IMAP responses. The indexer's strings
 * are computed once at store time for every client, so they keep 7-bit
 * quoting (a literal is valid for everyone); the _utf8 variant is for
 * responses built per session.
 */
#ifndef ROOST_IMAP_QUOTE_H
#define ROOST_IMAP_QUOTE_H
#include <stdbool.h>
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
/* For a client that enabled UTF8=ACCEPT (RFC 6855 3: uQUOTED-CHAR adds
 * UTF8-2/3/4) or IMAP4rev2 (RFC 9051 9, QUOTED-CHAR): like
 * imap_quote_string, but well-formed UTF-8 (RFC 3629) may be quoted too.
 * Other 8-bit bytes still go as a literal. Never for a client that did not
 * enable either: RFC 6855 3 forbids UTF-8 in its quoted strings. */
void imap_quote_string_utf8(struct buf *out, const char *s, size_t n);
/* True when s[0..n) is well-formed UTF-8 (RFC 3629 4: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
bool imap_quote_utf8_valid(const char *s, size_t n);
#endif
