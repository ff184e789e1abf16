/*
 * delivery: the one path every incoming message takes (SMTP, LMTP,
 * `roost deliver`): recipient addresses resolved through aliases,
 * plus-addressing and catch-alls; per-recipient trace headers
 * (Return-Path, Delivered-To, then the caller's Received:) kept as the
 * message prefix, so the content is stored once for all recipients; quota
 * checked per account; one store op for the whole message.
 */
#ifndef ROOST_DELIVERY_H
#define ROOST_DELIVERY_H
#include "store/store.h"

/* Where a Sieve script filed the message (delivery-sieve.c). */
struct delivery_box {
	int64_t mailbox_id;	/* :mailboxid / :specialuse found it; 0 = by name */
	char *mailbox;		/* NULL = INBOX */
	bool create;		/* fileinto :create */
	uint32_t flags;		/* imap4flags system flags */
	char *keywords;		/* imap4flags keywords, space separated, or NULL */
};

struct delivery_rcpt {
	char *address;		/* as resolved from (normalised): Delivered-To */
	int64_t account_id;
	/* set by delivery_sieve_run() before delivery_prepare(): no boxes =
	 * INBOX; discard = store nothing; refuse = the reason to reject
	 * this recipient at the protocol (550 5.7.1), nothing stored */
	struct delivery_box *boxes;
	size_t nboxes;
	bool discard;
	char *refuse;
	char *added;		/* editheader addheader fields (CRLF lines) or NULL */
	/* out, after the op completed */
	enum store_err err;
	uint32_t uid;
};

struct delivery {
	char *return_path;	/* envelope sender without <>, "" for the null sender */
	char *received;		/* full "Received: ..." header, CRLF-terminated, or NULL */
	bool requiretls;	/* RFC 8689: came with REQUIRETLS; a Sieve redirect keeps it */
	struct delivery_rcpt *rcpts;
	size_t nrcpts, cap;
	/* the op to store_run()/store_submit() after delivery_prepare() */
	struct store_op op;
	struct store_target *targets;
	size_t *target_rcpt;	/* targets[i] is for rcpts[target_rcpt[i]] */
	char **prefixes;
	/* set by delivery_sieve_run() when editheader changed the message
	 * the same way for every recipient that stores it: stored instead
	 * of the caller's data (owned) */
	char *content;
	size_t content_len;
};

void delivery_init(struct delivery *d, const char *return_path, const char *received);
/* Resolve `address` and add one delivery_rcpt per distinct account it
 * reaches (an alias may reach several; an account already added is not
 * added twice). Returns STORE_OK, STORE_ENOTFOUND (no such user),
 * STORE_EPERM (domain not hosted), STORE_EINVAL (malformed) or
 * STORE_ETEMP (a read failed: try again later). */
enum store_err delivery_add_rcpt(struct delivery *d, struct store *s, const char *address);
/* Quota pre-check for SMTP RCPT: is this account already at or over its
 * limit, or would `size` more bytes (the declared SIZE; 0 = unknown) put
 * it over? (The authoritative check is in the store op.) STORE_ENOTFOUND
 * when the account is gone, STORE_ETEMP when the read failed. */
enum store_err delivery_account_full(struct store *s, int64_t account_id, uint64_t size,
				     bool *full_r);
/* Build d->op for the message bytes (borrowed until the op completes). */
void delivery_prepare(struct delivery *d, const char *data, size_t len);
/* True when delivery_prepare() found nothing to store (every recipient
 * discarded or refused by its Sieve script): do not run d->op. */
bool delivery_nothing_to_store(const struct delivery *d);
/* After completion: copy per-target results into d->rcpts. */
void delivery_finish(struct delivery *d);
void delivery_free(struct delivery *d);
#endif
