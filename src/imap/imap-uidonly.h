/*
 * imap-uidonly: UIDONLY (RFC 9586). After ENABLE UIDONLY the session
 * speaks of messages by UID only:
 *  - a command that would take message sequence numbers (FETCH, STORE,
 *    COPY, MOVE, SEARCH, SORT, THREAD, REPLACE without UID) and a search
 *    key that is a sequence set are BAD [UIDREQUIRED] (RFC 9586 3);
 *  - untagged FETCH becomes "* uid UIDFETCH (...)" (RFC 9586 3.3);
 *  - EXPUNGE responses become VANISHED (RFC 9586 3.2, imap-sync.c);
 *  - SELECT sends no [UNSEEN n] (a sequence number) (cmd-select.c).
 * The places that print FETCH responses call imap_uidonly_fetch_start.
 */
#ifndef ROOST_IMAP_UIDONLY_H
#define ROOST_IMAP_UIDONLY_H
#include <stdbool.h>
#include <stdint.h>
#include "lib/buf.h"

struct imap_cmd;
struct imap_session;

/* "* seq FETCH (" or, with UIDONLY on, "* uid UIDFETCH (". */
void imap_uidonly_fetch_start(const struct imap_session *s, struct buf *b, uint32_t seq,
			      uint32_t uid);
/* Before a command runs: BAD [UIDREQUIRED] (and true) for one that takes
 * sequence numbers while UIDONLY is on. */
bool imap_uidonly_refuse(struct imap_cmd *cmd);
#endif
