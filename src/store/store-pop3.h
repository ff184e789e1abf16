/*
 * store-pop3: storage queries that only the POP3 server needs, kept beside
 * the rest of the SQL in src/store/. Part of the store API (a companion to
 * store.h for one client module).
 */
#ifndef ROOST_STORE_POP3_H
#define ROOST_STORE_POP3_H
#include "store/store.h"

/* One message due for pop3.expire_days. */
struct store_pop3_expired {
	int64_t account_id, mailbox_id;
	uint32_t uid;
};

/* Messages first retrieved by POP3 before `before` (unix time), not hidden
 * from POP3 yet, in a mailbox the account's POP3 maildrop shows: INBOX, or
 * under pop3.mailboxes = all (the account's override, else default_all)
 * every mailbox store_pop3_maildrop() shows. A downloaded copy the user
 * moved to Trash, or to a folder an `inbox` maildrop does not show, stays.
 * Grouped by account and mailbox, UID order; at most `max`. The caller
 * removes them with STORE_OP_POP3_COMMIT. */
enum store_err store_pop3_expired(struct store *s, int64_t before, bool default_all, size_t max,
				  struct store_pop3_expired **list_r, size_t *n_r);
/* pop3.mailboxes (store-pop3-all.c). One message row of a maildrop. */
struct store_pop3_row {
	int64_t mailbox_id;
	uint32_t uid, uidvalidity;
	int64_t size, crlf_size;	/* crlf_size 0 = unknown */
	int64_t emailid;		/* RFC 8474: copies share it; 0 = none */
	char *uidl;			/* the stored pop3_uidl, or NULL */
};

/* The rows of account_id's maildrop that POP3 is not hiding, from one
 * snapshot: all = false, INBOX in UID order; all = true, every mailbox but
 * those with special-use \Trash, \Junk or \Sent (or, when the account
 * marks none of them, those named Trash, Junk, Spam or Sent, any case),
 * ordered by internal date, mailbox id, UID. *inbox_id_r = INBOX's id.
 * STORE_ENOTFOUND when the account (or its INBOX) is gone. */
enum store_err store_pop3_maildrop(struct store *s, int64_t account_id, bool all,
				   int64_t *inbox_id_r, struct store_pop3_row **rows_r, size_t *n_r);
void store_pop3_rows_free(struct store_pop3_row *rows, size_t n);

/* What one POP3 session writes about one message row. */
struct store_pop3_item {
	int64_t mailbox_id;
	uint32_t uid;
	const char *assign_uidl;	/* store as pop3_uidl if it has none, or NULL */
	bool deleted;			/* DELE'd: expunge (or hide) */
	bool retrieved;			/* RETR'd: first retrieval time, \Seen */
};

struct store_pop3_apply {
	int64_t account_id;	/* every mailbox must be this account's */
	struct store_pop3_item *items;	/* any order (sorted in place) */
	size_t nitems;
	bool hide;		/* pop3.delete = hide */
	bool mark_seen;		/* pop3.retr_marks_seen */
};

/* Make `op` a write applying `a` in one transaction (a and its items stay
 * the caller's until the op completes): for each mailbox, the ordinary
 * STORE_OP_POP3_COMMIT of its rows. A mailbox deleted meanwhile, or a row
 * gone, is skipped. */
void store_pop3_apply_op(struct store_op *op, struct store_pop3_apply *a);

/* The per-account pop3.mailboxes override: "inbox", "all", or NULL to
 * follow the server's setting (blocking; admin). */
enum store_err store_account_pop3_mailboxes(struct store *s, const char *address, const char *mode,
					    char **error_r);
/* The override of account_id: *mode_r malloc'd, or NULL for none. */
enum store_err store_account_pop3_mailboxes_get(struct store *s, int64_t account_id, char **mode_r);
#endif
