/*
 * mailbox-name: mailbox names as clients send them and as the store keeps
 * them. The store keeps UTF-8 with '/' as hierarchy separator and "INBOX"
 * spelled in capitals. IMAP4rev1 clients use modified UTF-7 (RFC 3501
 * section 5.1.3); IMAP4rev2 clients use UTF-8 (RFC 9051 section 5.1).
 */
#ifndef ROOST_MAILBOX_NAME_H
#define ROOST_MAILBOX_NAME_H
#include <stdbool.h>
#include <stddef.h>

#define MAILBOX_NAME_MAX_WIRE 4096	/* bytes of a name as sent by a client */

/* Modified UTF-7 -> UTF-8 (malloc'd). -1 on malformed input (bad base64,
 * non-minimal or unterminated shifts, encoded printable ASCII, bad UTF-16). */
int mailbox_name_mutf7_decode(const char *in, char **out_r);
/* UTF-8 -> modified UTF-7 (malloc'd). -1 when `in` is not valid UTF-8. */
int mailbox_name_mutf7_encode(const char *in, char **out_r);
/* Is `s` (len bytes) well-formed UTF-8 without NUL? */
bool mailbox_name_utf8_valid(const char *s, size_t len);
/* Canonical store form: "INBOX" (any case) as first component becomes
 * "INBOX"; a trailing '/' is dropped. Returns a malloc'd string. */
char *mailbox_name_normalize(const char *name);
#endif
