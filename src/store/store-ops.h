/* store-ops: the op implementations, each run inside the writer's
 * transaction and savepoint. Private to src/store/. */
#ifndef ROOST_STORE_OPS_H
#define ROOST_STORE_OPS_H
#include "store/store-internal.h"
#include "mail/mime-index.h"
#include "mail/search-text.h"

struct store_deliver_priv {
	unsigned char hash[32];
	int64_t crlf_size;
	struct mime_index index;
	/* full-text index (store-fts.h): the content's text when the index is
	 * on (has_text), and each target's folded prefix (NULL: none) */
	bool has_text;
	struct search_text text;
	char **prefix_texts;
	size_t nprefix_texts;
	/* a quota warning notice (store-quota-warn.c): never refused by the
	 * quota it warns about */
	bool quota_exempt;
};

enum store_err store_op_deliver(struct store_txn *txn, struct store_op *op);
enum store_err store_op_flags(struct store_txn *txn, struct store_op *op);
enum store_err store_op_expunge(struct store_txn *txn, struct store_op *op);
enum store_err store_op_copy(struct store_txn *txn, struct store_op *op);
enum store_err store_op_mailbox_create(struct store_txn *txn, struct store_op *op);
enum store_err store_op_mailbox_delete(struct store_txn *txn, struct store_op *op);
enum store_err store_op_mailbox_rename(struct store_txn *txn, struct store_op *op);
enum store_err store_op_mailbox_subscribe(struct store_txn *txn, struct store_op *op);
enum store_err store_op_pop3_commit(struct store_txn *txn, struct store_op *op);
enum store_err store_op_multi(struct store_txn *txn, struct store_op *op);

/* Shared by the ops. */
struct store_quota {
	int64_t used_bytes, used_messages, limit_bytes, limit_messages;
};
enum store_err store_quota_load(struct store_txn *txn, int64_t account_id, struct store_quota *q_r);
/* Would adding `bytes` in `messages` messages exceed the quota? */
bool store_quota_exceeded(const struct store_quota *q, int64_t bytes, int64_t messages);
enum store_err store_quota_add(struct store_txn *txn, int64_t account_id, int64_t bytes,
			       int64_t messages);
/* Allocate the next UID of a mailbox. */
/* Steps `st`, an UPDATE of a mailbox row RETURNING (uidnext - 1,
 * uidvalidity) and, when modseq_r is not NULL, (highestmodseq,
 * account_id): the UID taken, checked to be below 2^32 - 1 (ELIMIT),
 * ENOTFOUND without the row. Resets st. */
enum store_err store_uid_row(struct db_stmt *st, uint32_t *uid_r, uint32_t *uidvalidity_r,
			     uint64_t *modseq_r, int64_t *account_id_r);
/* store_uid_next and store_txn_touch_mailbox at once (one statement when
 * the op has not touched the mailbox yet): a delivery's new UID and the
 * mailbox's new MODSEQ. */
enum store_err store_uid_next_touch(struct store_txn *txn, int64_t mailbox_id, uint32_t *uid_r,
				    uint32_t *uidvalidity_r, uint64_t *modseq_r);
enum store_err store_uid_next(struct store_txn *txn, int64_t mailbox_id, uint32_t *uid_r,
			      uint32_t *uidvalidity_r);
/* Take a given UID (import): STORE_EEXISTS when uid < UIDNEXT. */
enum store_err store_uid_take(struct store_txn *txn, int64_t mailbox_id, uint32_t uid,
			      uint32_t *uidvalidity_r);
/* Normalise a keyword list: valid atoms, no duplicates (case-insensitive),
 * within STORE_MAX_KEYWORDS. NULL for none. Caller frees. */
char *store_keywords_normalize(const char *keywords);
/* The account a mailbox belongs to: STORE_OK, STORE_ENOTFOUND (no such
 * mailbox) or the error that kept us from knowing. */
enum store_err store_mailbox_owner(struct store_txn *txn, int64_t mailbox_id,
				   int64_t *account_id_r);
/* OBJECTID (RFC 8474, store-msg-extra.c): a new EMAILID, and the THREADID
 * of the account's thread this message belongs to (ix may be NULL). */
enum store_err store_objectid_assign(struct store_txn *txn, int64_t account_id,
				     const struct mime_index *ix, int64_t *emailid_r,
				     int64_t *threadid_r);
#endif
