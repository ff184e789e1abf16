/*
 * imap-sync: untagged updates for the selected mailbox. Changes committed
 * by anyone (this or other sessions, SMTP/LMTP, POP3, the CLI) are read from
 * the store's change feed (messages changed and UIDs expunged since the
 * view's MODSEQ) and told to the client as EXISTS, EXPUNGE and FETCH (FLAGS).
 *
 * When: at the end of every command, and at once while IDLE. EXPUNGE is held
 * back while FETCH, STORE or SEARCH run (RFC 9051 7.5.1, RFC 3501 7.4.1) and
 * when no command is in progress (RFC 3501 5.5); held-back expunges keep
 * their sequence numbers in the view until they can be sent. Meanwhile a
 * CONDSTORE client is told a HIGHESTMODSEQ below the oldest of them after
 * each sync (RFC 7162 3.2.4), and after VANISHED goes out the new one.
 */
#ifndef ROOST_IMAP_SYNC_H
#define ROOST_IMAP_SYNC_H
#include <stdbool.h>
#include <stdint.h>
#include "store/store.h"

struct imap_session;

void imap_sync(struct imap_session *s, bool allow_expunge);
/* Change-feed callback: the selected mailbox changed. */
void imap_sync_notify(void *ctx, int64_t mailbox_id, uint64_t highestmodseq);
/* Mailbox-list callback (store_watch_mailboxes_add): when the selected
 * mailbox was deleted or renamed by another session, the session ends with
 * "* BYE" at once (IDLE or not). The same happens when a sync finds the
 * mailbox gone (store ENOTFOUND). */
void imap_sync_mailboxes_notify(void *ctx, int64_t mailbox_id, enum store_mailbox_event event);
#endif
