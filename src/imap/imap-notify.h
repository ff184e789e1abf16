/*
 * imap-notify: NOTIFY (RFC 5465) state of one session: the event groups
 * the client asked for, a change-feed watch on every mailbox of the
 * account, and the mailboxes whose STATUS is owed to the client.
 *
 * Events in mailboxes other than the selected one become untagged STATUS
 * (MESSAGES UIDNEXT UNSEEN) responses: at once when no command runs or
 * during IDLE, else just before the running command's tagged reply
 * (imap_notify_flush). MailboxName and SubscriptionChange become untagged
 * LIST responses (RFC 5465 5.4, 5.5), at the same times, and
 * MailboxMetadataChange and ServerMetadataChange unsolicited METADATA
 * responses (RFC 5465 5.6, 5.7; RFC 5464 4.4.2).
 *
 * The selected mailbox keeps its EXISTS/EXPUNGE/FETCH updates
 * (imap-sync.c); with a SELECTED group they are pushed as they happen,
 * also when no command runs, and MessageNew's fetch-att adds a FETCH for
 * each new message. Flag changes by others are told only when FlagChange
 * is wanted for it (imap_notify_selected_events).
 */
#ifndef ROOST_IMAP_NOTIFY_H
#define ROOST_IMAP_NOTIFY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_session;
struct imap_arg;

/* Mailbox names in one NOTIFY SET, over all its event groups. */
#define IMAP_NOTIFY_MAX_MAILBOXES 1000
/* Event groups in one NOTIFY SET. */
#define IMAP_NOTIFY_MAX_GROUPS 64
/* Mailboxes with an owed STATUS; beyond this the client gets
 * NOTIFICATIONOVERFLOW and notifications stop (RFC 5465 5.8). */
#define IMAP_NOTIFY_MAX_PENDING 1000
/* Bytes of LIST responses (MailboxName, SubscriptionChange) held for a
 * running command; beyond this, NOTIFICATIONOVERFLOW as above. */
#define IMAP_NOTIFY_MAX_LIST_BYTES (256 * 1024)

enum imap_notify_event {
	IMAP_NOTIFY_MESSAGE_NEW = 1 << 0,
	IMAP_NOTIFY_MESSAGE_EXPUNGE = 1 << 1,
	IMAP_NOTIFY_FLAG_CHANGE = 1 << 2,
	IMAP_NOTIFY_MAILBOX_NAME = 1 << 3,
	IMAP_NOTIFY_SUBSCRIPTION_CHANGE = 1 << 4,
	IMAP_NOTIFY_MAILBOX_METADATA = 1 << 5,	/* MailboxMetadataChange */
	IMAP_NOTIFY_SERVER_METADATA = 1 << 6,	/* ServerMetadataChange */
};

struct imap_notify;

/* Parse the arguments after "NOTIFY SET": [STATUS] event-group...
 * On error -1 with `*status_r` "BAD" (syntax) or "NO" (BADEVENT, LIMIT)
 * and a reply text to free in `*error_r`. */
int imap_notify_parse(struct imap_session *s, const struct imap_arg *args, size_t count,
		      struct imap_notify **n_r, bool *send_status_r, const char **status_r,
		      char **error_r);
/* Install n as the session's NOTIFY state (replacing any) and start
 * watching; with `send_status`, STATUS for every matching mailbox now. */
void imap_notify_set(struct imap_session *s, struct imap_notify *n, bool send_status);
/* Write every owed STATUS (call only between responses). */
void imap_notify_flush(struct imap_session *s);
void imap_notify_free(struct imap_notify **n);
/* The message events (MessageNew, MessageExpunge, FlagChange bits) the
 * client wants for the selected mailbox: all of them without NOTIFY; with
 * it, the SELECTED/SELECTED-DELAYED group's, else those of the first other
 * group that matches the mailbox (RFC 5465 6). imap-sync.c asks before it
 * reports flag changes made by others. */
unsigned imap_notify_selected_events(const struct imap_session *s);
/* A SETMETADATA of `source` committed (RFC 5465 5.6, 5.7): every other
 * session of the account whose NOTIFY wants it gets the unsolicited
 * METADATA response (RFC 5464 4.4.2) naming the changed entries, at the
 * same times as LIST events. mailbox NULL: the server's entries; else
 * the mailbox's store name, id and subscription. Event-loop thread. */
void imap_notify_metadata(const struct imap_session *source, const char *mailbox,
			  int64_t mailbox_id, bool subscribed, const char *const *names,
			  size_t nnames);
#endif
