/*
 * store-metadata: entries of the IMAP METADATA extension (RFC 5464): the
 * server's (per account: mailbox id 0) and each mailbox's, /private and
 * /shared alike. Until accounts can share mailboxes (ACL), a /shared entry
 * is as much the account's own as a /private one: no other account can
 * read or set it. Every read and op carries the account; a mailbox entry
 * is set only on a mailbox of that account. Entries go with their mailbox
 * (DELETE) and with their account; RENAME keeps them, as they hang on the
 * mailbox id (triggers in store-schema.c).
 */
#ifndef ROOST_STORE_METADATA_H
#define ROOST_STORE_METADATA_H
#include "store/store.h"

/* Octets of one entry's value (RFC 5464 4.3: NO [METADATA MAXSIZE n]). */
#define STORE_METADATA_MAX_VALUE (64 * 1024)
/* Octets of an entry name. */
#define STORE_METADATA_MAX_NAME 1024
/* Entries of one mailbox (or of the server) and of a whole account, and
 * octets of names and values of an account ([METADATA TOOMANY]). */
#define STORE_METADATA_MAX_MAILBOX_ENTRIES 200
#define STORE_METADATA_MAX_ACCOUNT_ENTRIES 2000
/* (also what bounds one GETMETADATA response: cmd-getmetadata.c sends
 * each entry once) */
#define STORE_METADATA_MAX_ACCOUNT_BYTES (1024 * 1024)

struct store_metadata_entry {
	char *name;		/* lower-case, "/private/..." or "/shared/..." */
	char *value;		/* NULL: remove (SETMETADATA NIL) */
	size_t len;
};
void store_metadata_entries_free(struct store_metadata_entry *list, size_t n);

struct store_metadata_set {
	int64_t account_id;
	int64_t mailbox_id;	/* 0 = server entries; else one of the account's */
	const struct store_metadata_entry *entries;
	size_t nentries;
	/* out: why the op failed with STORE_ELIMIT */
	bool too_large;		/* a value over STORE_METADATA_MAX_VALUE */
};

/* Make `op` a write op that sets and removes the entries, all or none
 * (RFC 5464 4.3). STORE_ENOTFOUND when the mailbox is not the account's;
 * STORE_ELIMIT past a limit. `set` stays valid until completion. */
void store_metadata_set_init(struct store_op *op, struct store_metadata_set *set);

/* The entry `name` and, with depth 1 its children, with depth -1
 * ("infinity") every descendant (RFC 5464 4.2.2), name ascending.
 * STORE_ENOTFOUND when mailbox_id (not 0) is not the account's; no entry
 * is an empty list. */
enum store_err store_metadata_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				  const char *name, int depth,
				  struct store_metadata_entry **list_r, size_t *n_r);
#endif
