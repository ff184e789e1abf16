/*
 * imap-commands: the command table. Each command lives in cmd-<name>.c and
 * is listed once here with the states it is allowed in and its flags; the
 * session checks states and UID use centrally before calling the handler.
 */
#ifndef ROOST_IMAP_COMMANDS_H
#define ROOST_IMAP_COMMANDS_H
#include "imap/imap-session.h"

typedef void imap_cmd_fn(struct imap_cmd *cmd);

enum imap_command_flags {
	/* "UID <name>" is valid */
	IMAP_CMD_UID = 1 << 0,
	/* RFC 9051 7.5.1 / RFC 3501 7.4.1: no EXPUNGE responses while this
	 * command runs (sequence numbers the client is using must hold). The
	 * UID forms are exempt. */
	IMAP_CMD_NO_EXPUNGE = 1 << 1,
	/* arguments hold a password: wiped when the command ends */
	IMAP_CMD_SECRET = 1 << 2,
};

struct imap_command_def {
	const char *name;
	imap_cmd_fn *handler;
	unsigned states;	/* enum imap_state bits */
	unsigned flags;
};

const struct imap_command_def *imap_command_find(const char *name);

/* STATUS items (cmd-status.c), shared with LIST RETURN (STATUS ...). */
struct store_mailbox;
int imap_status_items_parse(struct imap_session *s, const struct imap_arg *list,
			    unsigned *items_r);
/* Nothing is written when a read fails (the error comes back). */
enum store_err imap_status_write(struct imap_session *s, const struct store_mailbox *mb,
				 unsigned items);

/* Is any quota administrator configured (QUOTASET, cmd-quota.c)? */
bool imap_quota_admins_configured(const struct imap_session *s);

/* Handlers (cmd-*.c). */
imap_cmd_fn cmd_replace;
imap_cmd_fn cmd_capability, cmd_noop, cmd_logout, cmd_starttls, cmd_login, cmd_authenticate,
	cmd_enable, cmd_id, cmd_select, cmd_examine, cmd_create, cmd_delete, cmd_rename,
	cmd_subscribe, cmd_unsubscribe, cmd_list, cmd_lsub, cmd_namespace, cmd_status,
	cmd_append, cmd_idle, cmd_check, cmd_close, cmd_unselect, cmd_expunge, cmd_search,
	cmd_fetch, cmd_store, cmd_copy, cmd_move, cmd_getquota, cmd_getquotaroot, cmd_setquota;
imap_cmd_fn cmd_sort, cmd_thread;	/* RFC 5256 */
imap_cmd_fn cmd_compress; /* cmd-compress.c, RFC 4978 */
imap_cmd_fn cmd_notify;   /* cmd-notify.c, RFC 5465 */
imap_cmd_fn cmd_cancelupdate; /* cmd-cancelupdate.c, RFC 5267 */
imap_cmd_fn cmd_getmetadata, cmd_setmetadata; /* RFC 5464 */
imap_cmd_fn cmd_genurlauth, cmd_resetkey, cmd_urlfetch; /* RFC 4467, cmd-urlauth.c */
imap_cmd_fn cmd_uidbatches; /* cmd-uidbatches.c, RFC 10022 */
#endif
