/*
 * imap-objectid: how OBJECTID values (RFC 8474) look on the wire. The
 * store keeps numbers (store-msg-extra.h); a letter in front keeps them
 * from being taken for numbers (RFC 8474 7):
 *   MAILBOXID "F<mailbox id>-<uidvalidity>": the row survives RENAME, and a
 *            mailbox created again (even reusing the row id) gets a new
 *            UIDVALIDITY, so the id is never reused (RFC 8474 4)
 *   EMAILID  "M<n>", THREADID "T<n>" (cmd-fetch.c, SEARCH EMAILID/THREADID)
 */
#ifndef ROOST_IMAP_OBJECTID_H
#define ROOST_IMAP_OBJECTID_H
#include <stdint.h>

#define IMAP_OBJECTID_MAX 255	/* objectid = 1*255(ALPHA / DIGIT / "_" / "-") */

struct buf;

void imap_objectid_mailbox(struct buf *b, int64_t mailbox_id, uint32_t uidvalidity);
/* "M123" -> 123 (prefix 'M' or 'T'); -1 when it is not one of ours. */
int imap_objectid_parse(const char *s, char prefix, int64_t *n_r);
#endif
