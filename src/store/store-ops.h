/* store-ops: the op implementations, each run inside the writer's
 * transaction and savepoint. Private to src/store/. */
#ifndef ROOST_STORE_OPS_H
#define ROOST_STORE_OPS_H
#include "store/store-internal.h"
#include "mail/mime-index.h"

struct store_deliver_priv {
	unsigned char hash[32];
	int64_t crlf_size;
	struct mime_index index;
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
enum store_err store_uid_next(struct store_txn *txn, int64_t mailbox_id, uint32_t *uid_r,
			      uint32_t *uidvalidity_r);
/* Normalise a keyword list: valid atoms, no duplicates (case-insensitive),
 * within STORE_MAX_KEYWORDS. NULL for none. Caller frees. */
char *store_keywords_normalize(const char *keywords);
int64_t store_mailbox_account(struct store_txn *txn, int64_t mailbox_id);
#endif
