/*
 * imap-context: live search results (RFC 5267 4.2, CONTEXT=SEARCH). A
 * SEARCH with RETURN (UPDATE) leaves a context behind, named by the
 * command's tag, for as long as the mailbox stays selected: when a message
 * arrives, changes flags or is expunged so that it enters or leaves the
 * result, the client is told with an untagged ESEARCH ADDTO or REMOVEFROM
 * (RFC 5267 4.3). CANCELUPDATE (4.4) ends contexts by tag.
 *
 * Updates are computed incrementally: at each sync the search runs again
 * only over the messages whose MODSEQ is newer than the context's, and an
 * expunged message leaves the result silently, as EXPUNGE/VANISHED already
 * told the client. A context whose keys read message content and that would
 * have more than IMAP_CONTEXT_SYNC_MAX messages to test in one sync is
 * ended with "* NO [NOUPDATE tag]" (RFC 5267 4.2 lets the server stop an
 * update) rather than read that many messages on the event loop.
 */
#ifndef ROOST_IMAP_CONTEXT_H
#define ROOST_IMAP_CONTEXT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_cmd;
struct imap_session;
struct imap_search;
struct imap_sort_msg;
struct imap_sort_program;
struct imap_view;

/* Live UPDATE contexts per session. The next one is refused with an
 * untagged NO [NOUPDATE "tag"] (RFC 5267 4.2); the SEARCH itself still
 * completes with its result. */
#define IMAP_CONTEXT_MAX 16
/* Messages re-tested in one sync for a context whose keys read message
 * content (headers not indexed, bodies); past it the context ends. */
#define IMAP_CONTEXT_SYNC_MAX 200
/* Messages in all sorted live results of a session (CONTEXT=SORT keeps
 * each member's sort keys in memory); a SORT past it gets NOUPDATE, a
 * result that grows past it ends with NOUPDATE. */
#define IMAP_CONTEXT_SORT_MAX 100000

/* "* NO [NOUPDATE tag] why" for the command's tag: no live result. */
void imap_context_decline(struct imap_cmd *cmd, const char *why);
/* After a SEARCH ... RETURN (UPDATE) answered: keep a context for the
 * command's tag over the result uids[0..n) (ascending). Takes *search
 * (sets it NULL) when the context is kept. Sends NOUPDATE when it is not:
 * at the limit, with a tag already in use, or for keys with message
 * sequence numbers (their meaning shifts with every expunge). */
void imap_context_add(struct imap_cmd *cmd, struct imap_search **search, const uint32_t *uids,
		      size_t n);
/* After a SORT ... RETURN (UPDATE) answered (CONTEXT=SORT, RFC 5267 4):
 * the same, over the result msgs[0..n) in sort order with their keys
 * (imap_sort_load_uids). The keys' strings move to the context when it
 * is kept (msgs[] is left with NULL strings); later ADDTO/REMOVEFROM
 * carry each message's position in the sorted result. */
void imap_context_add_sorted(struct imap_cmd *cmd, struct imap_search **search,
			     const struct imap_sort_program *prog, struct imap_sort_msg *msgs,
			     size_t n);
/* At the end of each sync (imap-sync.c), after EXISTS/EXPUNGE/FETCH went
 * out: ADDTO/REMOVEFROM for every context of the selected mailbox. */
void imap_context_sync(struct imap_session *s);
/* Is there a live context with this tag? */
bool imap_context_has(struct imap_session *s, const char *tag);
/* CANCELUPDATE: end the context with this tag; -1 when there is none. */
int imap_context_cancel(struct imap_session *s, const char *tag);
/* Free every context (session end). */
void imap_context_free_all(struct imap_session *s);
#endif
