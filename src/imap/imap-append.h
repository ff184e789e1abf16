/*
 * imap-append: what APPEND (cmd-append.c, with MULTIAPPEND) and REPLACE
 * (cmd-replace.c) share: parsing one message of the command
 *   [flag-list SP] [date-time SP] (literal / literal8 / "UTF8" SP "(" literal8 ")"
 *                                  / "CATENATE" SP "(" cat-part *(SP cat-part) ")")
 * (RFC 9051 6.3.12, RFC 3502 6.3.11, RFC 3516 4.4, RFC 6855 4, RFC 4469
 * 5: TEXT literals and URLs to the session's own messages), preparing
 * its delivery op, and formatting the APPENDUID UID set (RFC 4315).
 */
#ifndef ROOST_IMAP_APPEND_H
#define ROOST_IMAP_APPEND_H
#include "imap/imap-session.h"
#include "store/store.h"

/* Messages in one MULTIAPPEND (the literal count limits it anyway). */
#define IMAP_APPEND_MAX_MESSAGES IMAP_MAX_LITERALS
/* Parts of one CATENATE (RFC 4469): each URL part reads a message. */
#define IMAP_CATENATE_MAX_PARTS 256

/* One message to append, with its delivery op (borrowing the literal). */
struct imap_append_msg {
	struct store_op op;
	struct store_target target;
	char *keywords;
	char *data;		/* CATENATE: the assembled message, or NULL */
	size_t budget;		/* its memory budget (lib/membudget.h) */
	char *error;		/* a reply text built for this message */
};

/* Parse the message starting at args[*i] (advanced past it) into m for
 * mailbox_id. -1 with *status_r ("BAD" or "NO") and an error text. */
int imap_append_parse(struct imap_session *s, const struct imap_arg *args, size_t count,
		      size_t *i, int64_t mailbox_id, struct imap_append_msg *m,
		      const char **status_r, const char **error_r);
void imap_append_msg_clear(struct imap_append_msg *m);
/* Look up the destination by its wire name: -1 with a NO text
 * ([TRYCREATE] when it does not exist). */
int imap_append_mailbox(struct imap_session *s, const struct imap_arg *arg, int64_t *id_r,
			const char **error_r);
/* Append "a:b" or "a,b,c" for ascending UIDs. */
void imap_append_uid_set(struct buf *b, const uint32_t *uids, size_t n);
#endif
