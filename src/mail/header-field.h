/*
 * header-field: reading single fields of a message's top header without
 * parsing the whole message: the submission sender check (From:) and the
 * Sent-copy identity (Message-ID + From address) that submission and IMAP
 * APPEND must compute the same way.
 */
#ifndef ROOST_HEADER_FIELD_H
#define ROOST_HEADER_FIELD_H
#include <stddef.h>

/* Header bytes scanned; a field past this is not seen. */
#define HEADER_FIELD_SCAN_MAX (256 * 1024)
/* Longest Message-ID kept (RFC 5322 lines are 998 octets at most). */
#define HEADER_FIELD_MSGID_MAX 998

/* The unfolded value of the first `name` field (case-insensitive, without
 * the colon) of the header in data[0..len), malloc'd, or NULL; *count_r
 * (may be NULL) = how many such fields there are. */
char *header_field_get(const char *data, size_t len, const char *name, unsigned *count_r);
/* The message's identity for Sent deduplication: its Message-ID (trimmed)
 * and the address of its first From: mailbox (lowercased). 0, or -1 when
 * either is missing (such a message is never deduplicated). */
int header_field_sent_identity(const char *data, size_t len, char **message_id_r,
			       char **from_r);
#endif
