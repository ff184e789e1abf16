/*
 * imap-messagelimit: MESSAGELIMIT (RFC 9738). The server advertises
 * MESSAGELIMIT=<n> (section 3) and no command works on more than n
 * messages (imap.message_limit; 0 turns the extension off):
 *  - FETCH, STORE, MOVE, UID EXPUNGE and SEARCH (and the UID forms) that
 *    name more process the n with the highest UIDs, highest first, and end
 *    OK [MESSAGELIMIT n uid], uid the lowest one processed: the client
 *    goes on with the UIDs below it (section 3.1);
 *  - COPY and a MULTIAPPEND are atomic, so more than n is NO [MESSAGELIMIT
 *    n ...] and nothing is done; so is a FETCH PARTIAL range wider than n,
 *    and SORT or THREAD over more than n messages (sections 3.1, 3.3);
 *  - EXPUNGE, CLOSE and STATUS are never limited;
 *  - UIDAFTER and UIDBEFORE search keys (section 3.2, imap-search.c) let
 *    a client page through a mailbox by UID.
 * SAVELIMIT (for a server that limits only COPY and APPEND) is not
 * advertised: RFC 9738 3 sends one of the two, never both.
 */
#ifndef ROOST_IMAP_MESSAGELIMIT_H
#define ROOST_IMAP_MESSAGELIMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_cmd;
struct imap_session;

/* The session's limit, 0 when there is none. */
uint32_t imap_messagelimit(const struct imap_session *s);
/* Cut an ascending UID list to the limit's highest UIDs (kept in place,
 * ascending). Returns the lowest UID kept when it cut, else 0. */
uint32_t imap_messagelimit_cut(const struct imap_session *s, uint32_t *uids, size_t *n);
/* Finish a command that was cut with OK [MESSAGELIMIT n lowest] text.
 * `other_code` is a response code the tagged OK carries too ("MODIFIED
 * 3,5") or NULL: then MESSAGELIMIT goes in an untagged NO first, as one
 * response text holds one code (RFC 9738 3.1). */
void imap_messagelimit_ok(struct imap_cmd *cmd, uint32_t lowest, const char *other_code,
			  const char *text);
/* NO [MESSAGELIMIT n] for a command refused whole; `lowest` (0: left out)
 * is the lowest UID a cut would have kept, telling where to split. */
void imap_messagelimit_no(struct imap_cmd *cmd, uint32_t lowest, const char *text);
#endif
