/*
 * store-auth: what logins and submission ask the store about an account
 * beyond its password hash: per-device app passwords (added, listed and
 * revoked one by one by `roost user app-password`; any of them logs in to
 * IMAP, POP3 and submission) and whether an address is the account's own
 * (the submission sender check). Every query carries the account.
 */
#ifndef ROOST_STORE_AUTH_H
#define ROOST_STORE_AUTH_H
#include "store/store.h"
#include "mail/scram.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many app passwords per account: a login checks each hash. */
#define STORE_APP_PASSWORDS_MAX 16
/* Longest label ("phone", "laptop-2026"): printable ASCII, no spaces. */
#define STORE_APP_LABEL_MAX 64

struct store_app_password {
	char *label;
	int64_t created;	/* unix time */
};

/* Blocking writes (admin). STORE_EEXISTS: the label is taken; STORE_ELIMIT
 * past STORE_APP_PASSWORDS_MAX; STORE_ENOTFOUND: no such account/label. */
enum store_err store_app_password_add(struct store *s, const char *address, const char *label,
				      const char *pwhash, char **error_r);
enum store_err store_app_password_del(struct store *s, const char *address, const char *label,
				      char **error_r);
/* The account's app passwords, oldest first (caller frees the list). */
enum store_err store_app_password_list(struct store *s, const char *address,
				       struct store_app_password **list_r, size_t *n_r);
void store_app_password_list_free(struct store_app_password *list, size_t n);
/* Any thread: the account's app-password hashes (caller wipes and frees
 * each and the array); STORE_OK with *n_r = 0 when there are none. */
enum store_err store_app_password_hashes(struct store *s, int64_t account_id, char ***hashes_r,
					 size_t *n_r);

/* SCRAM-SHA-256 keys of the account password (any thread). set: write
 * (replace) them, bound to `pwhash`, the password hash they were derived
 * with. get: STORE_ENOTFOUND when there are none, or when they belong to
 * another hash than `pwhash` (the password changed since). */
enum store_err store_scram_set(struct store *s, int64_t account_id, const char *pwhash,
			       const struct scram_keys *keys);
enum store_err store_scram_get(struct store *s, int64_t account_id, const char *pwhash,
			       struct scram_keys *keys_r);

/* Per-account submission.save_sent: 1 yes, 0 no, -1 the server's
 * setting. set: blocking write (admin); get: any thread. */
enum store_err store_save_sent_set(struct store *s, const char *address, int mode,
				   char **error_r);
enum store_err store_save_sent_get(struct store *s, int64_t account_id, int *mode_r);

/* Sent-copy deduplication: the account's special-use mailbox `use`
 * ("\\Sent"): STORE_ENOTFOUND when it has none. */
enum store_err store_mailbox_special(struct store *s, int64_t account_id, const char *use,
				     int64_t *mailbox_id_r, uint32_t *uidvalidity_r);
/* UIDs of the mailbox's messages saved at or after `since` (unix time),
 * newest first, at most `max` (caller frees). */
enum store_err store_mailbox_saved_since(struct store *s, int64_t account_id,
					 int64_t mailbox_id, int64_t since, size_t max,
					 uint32_t **uids_r, size_t *n_r);

/* A message saved to a Sent mailbox this recently with the same identity
 * (Message-ID and From address, mail/header-field.h) is the same sent
 * message: submission's copy (submission.save_sent) and the client's
 * APPEND of it. */
#define STORE_SENT_DEDUP_WINDOW_S 600
#define STORE_SENT_DEDUP_CANDIDATES 50
/* Is data[0..len) already in the mailbox as a message saved in the last
 * STORE_SENT_DEDUP_WINDOW_S seconds? STORE_OK with *uid_r (0 = no). */
enum store_err store_sent_duplicate(struct store *s, int64_t account_id, int64_t mailbox_id,
				    const char *data, size_t len, uint32_t *uid_r);

/* Is `address` (normalised) the account's own: its address, an alias
 * whose target is the account, or a +tag form of either? Catch-alls do
 * not count (they receive for everybody; they do not send as everybody). */
enum store_err store_address_owned(struct store *s, int64_t account_id, const char *address,
				   bool *owned_r);
#endif
