/*
 * imap-condstore: the pieces of CONDSTORE and QRESYNC (RFC 7162) that
 * several commands share: mod-sequence values, turning CONDSTORE on,
 * VANISHED responses from the store's expunge log, and the FETCH
 * modifiers CHANGEDSINCE and VANISHED. Each command keeps its own part
 * (SELECT's QRESYNC parameter in cmd-select.c, UNCHANGEDSINCE in
 * cmd-store.c, VANISHED instead of EXPUNGE in imap-sync.c).
 */
#ifndef ROOST_IMAP_CONDSTORE_H
#define ROOST_IMAP_CONDSTORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arg;
struct imap_session;
struct imap_seqset;
struct imap_view;

/* mod-sequence-value is 1..2^63-1 (RFC 7162 section 7: a positive signed
 * 63-bit number); larger values are BAD. */
#define IMAP_MODSEQ_MAX ((uint64_t)INT64_MAX)
/* UIDs per VANISHED line: long lists go out as several responses, so no
 * client has to buffer one giant line (RFC 7162 3.2.10 allows this). */
#define IMAP_VANISHED_PER_LINE 10000

/* The mod-sequence this session may report as a resync point for its
 * view (HIGHESTMODSEQ response code, STATUS HIGHESTMODSEQ of the selected
 * mailbox): the view's MODSEQ, or while expunges are held back (FETCH,
 * STORE, SEARCH; imap-sync.h) a value below the oldest of them. RFC 7162
 * 3.2.4: a client that saves it and loses the connection must still learn
 * about those expunges on its next SELECT (QRESYNC ...) (3.2.5.1). A
 * message's own MODSEQ in FETCH is never capped: it is the message's value
 * (UNCHANGEDSINCE compares against it), so while expunges are held the
 * lower HIGHESTMODSEQ is sent after it instead (imap_sync). */
uint64_t imap_condstore_reported_modseq(const struct imap_view *v);

/* An atom holding a mod-sequence-value (allow_zero: mod-sequence-valzer). */
int imap_modseq_parse(const struct imap_arg *a, bool allow_zero, uint64_t *modseq_r);

/* A CONDSTORE-enabling command ran (RFC 7162 3.1). When that turns
 * CONDSTORE on with a mailbox selected, the client is told the mailbox's
 * HIGHESTMODSEQ at once (RFC 7162 3.1.2.1). */
void imap_condstore_enable(struct imap_session *s);

/* "* VANISHED [(EARLIER)] uid-set" for these ascending UIDs. */
void imap_condstore_vanished(struct imap_session *s, const uint32_t *uids, size_t n, bool earlier);

/* VANISHED (EARLIER) for the UIDs in `known` expunged after `modseq`
 * (RFC 7162 3.2.5.1, 3.2.6), read from the store's expunge log.
 * -1 when the store cannot be read. */
int imap_condstore_vanished_since(struct imap_session *s, const struct imap_seqset *known,
				  uint64_t modseq);

/* Keep only the UIDs whose message changed after `modseq` in the view. */
void imap_condstore_filter_changed(const struct imap_view *v, uint32_t *uids, size_t *n,
				   uint64_t modseq);

/* FETCH modifiers (RFC 7162 3.1.4.1, 3.2.6): a list such as
 * "(CHANGEDSINCE 12 VANISHED)". VANISHED needs UID FETCH, QRESYNC and
 * CHANGEDSINCE. -1 with a static text for BAD. */
int imap_condstore_fetch_modifiers(struct imap_session *s, const struct imap_arg *list,
				   bool uid_cmd, uint64_t *changedsince_r, bool *vanished_r,
				   const char **error_r);
#endif
