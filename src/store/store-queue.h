/*
 * store-queue: the durable outbound queue (tables queue_messages and
 * queue_rcpts, store-schema.c).
 *
 * A queued message keeps its envelope (return path, RFC 3461 ENVID and
 * RET) and its bytes; each remote recipient has its own state: pending,
 * delivered or failed, attempts so far, the time of the next attempt, the
 * last reply, and its RFC 3461 NOTIFY bits and ORCPT. Adding a message is
 * a writer op like a delivery: it goes into the same group commit as the
 * deliveries queued beside it, and `done` runs only after that commit is
 * on disk, so a protocol may answer 250 from it.
 *
 * Writes run on the writer (group commit); reads on the calling thread's
 * read connection, like every other store read (store.h).
 */
#ifndef ROOST_STORE_QUEUE_H
#define ROOST_STORE_QUEUE_H
#include "store/store.h"

/* RFC 3461 4.1 NOTIFY. 0 = the parameter was not given: the MTA's
 * default, which is FAILURE (and DELAY at our discretion, RFC 3461 4.1). */
#define STORE_QUEUE_NOTIFY_NEVER 0x1u
#define STORE_QUEUE_NOTIFY_SUCCESS 0x2u
#define STORE_QUEUE_NOTIFY_FAILURE 0x4u
#define STORE_QUEUE_NOTIFY_DELAY 0x8u

/* Limits of what one queued message may carry. */
#define STORE_QUEUE_MAX_RCPTS 10000
#define STORE_QUEUE_MAX_REPLY 1024

struct store_queue_rcpt {
	const char *address;	/* normalised local@domain */
	const char *orcpt;	/* RFC 3461 4.2 ORCPT as given ("rfc822;x@y"), or NULL */
	unsigned notify;	/* STORE_QUEUE_NOTIFY_* bits */
};

typedef void store_queue_done_cb(void *ctx, enum store_err err, int64_t queue_id);

/* What store_queue_add() keeps about a message besides its envelope. */
#define STORE_QUEUE_RET_FULL 0x1u	/* RFC 3461 RET=FULL */
#define STORE_QUEUE_REQUIRETLS 0x2u	/* RFC 8689 MAIL FROM ... REQUIRETLS */
/* queue_messages.requiretls holds the message's TLS mode: opportunistic
 * (0), REQUIRETLS (1), or "TLS-Required: No" (2, found in the message's
 * header when it is queued; REQUIRETLS wins, RFC 8689 5). */
#define STORE_QUEUE_TLS_DEFAULT 0
#define STORE_QUEUE_TLS_REQUIRED 1
#define STORE_QUEUE_TLS_OPTIONAL 2

/* Queue `data` for every recipient (copied: nothing needs to outlive the
 * call). return_path "" is the null sender (RFC 5321 4.5.5: no DSN is
 * ever sent for it). envid may be NULL; flags STORE_QUEUE_*. `done` runs on the writer's event
 * loop after the commit; without a writer thread (CLI on a stopped
 * daemon) the op runs at once and `done` is called before returning. */
void store_queue_add(struct store *s, int64_t account_id /* 0 = none, e.g. bounces */,
		     const char *return_path, const char *envid, unsigned flags,
		     const struct store_queue_rcpt *rcpts, size_t n_rcpts, const char *data,
		     size_t len, store_queue_done_cb *done, void *ctx);
/* The same, waiting (control threads, the CLI). Not on the event loop. */
enum store_err store_queue_add_wait(struct store *s, int64_t account_id, const char *return_path,
				    const char *envid, unsigned flags,
				    const struct store_queue_rcpt *rcpts, size_t n_rcpts,
				    const char *data, size_t len, int64_t *queue_id_r);

/* Called (on whatever thread committed the change) after the queue
 * gained work or was changed by an admin command: the outbound scheduler
 * wakes. One hook per store; NULL removes it. */
void store_queue_set_notify(struct store *s, void (*fn)(void *ctx), void *ctx);

enum store_queue_status {
	STORE_QUEUE_PENDING = 0,
	STORE_QUEUE_SENT = 1,
	STORE_QUEUE_FAILED = 2,
};
enum store_queue_state {
	STORE_QUEUE_ACTIVE = 0,
	STORE_QUEUE_HELD = 1,
	STORE_QUEUE_BOUNCE = 2,	/* an admin asked to bounce what is pending */
};

struct store_queue_entry {
	int64_t rcpt_id;
	char *address, *domain, *orcpt;
	unsigned notify;
	enum store_queue_status status;
	int attempts;
	int64_t next_attempt;
	char *last_reply;	/* "550 5.1.1 ..." or a local reason, or NULL */
};

struct store_queue_msg {
	int64_t id, account_id;
	char *return_path, *envid;
	bool ret_full;
	bool requiretls;	/* RFC 8689 */
	/* RFC 8689 5: the message says "TLS-Required: No" (and was not sent
	 * with REQUIRETLS): the destination's MTA-STS and DANE are ignored */
	bool tls_optional;
	int64_t created;
	enum store_queue_state state;
	bool delay_notified;
	int64_t size;
	char *message_id;	/* the Message-ID header field, or NULL */
	struct store_queue_entry *rcpts;
	size_t nrcpts;
};
void store_queue_msg_clear(struct store_queue_msg *m);
void store_queue_msg_list_free(struct store_queue_msg *list, size_t n);

/* Messages with pending recipients due at `now` (next_attempt <= now,
 * not held) and an id above after_id, oldest attempt first, at most about
 * `limit` messages; each carries only its due recipients. after_id lets
 * the scheduler walk past messages it already holds (a cursor). */
enum store_err store_queue_due(struct store *s, int64_t now, int64_t after_id, size_t limit,
			       struct store_queue_msg **list_r, size_t *n_r);
/* The earliest next_attempt of a pending recipient of a message not held.
 * STORE_ENOTFOUND when there is none. */
enum store_err store_queue_next_due(struct store *s, int64_t *when_r);
/* Every queued message with all its recipients (queue list), by id. */
enum store_err store_queue_list(struct store *s, struct store_queue_msg **list_r, size_t *n_r);
enum store_err store_queue_get(struct store *s, int64_t id, struct store_queue_msg *m_r);
/* The message's bytes (caller frees). */
enum store_err store_queue_data(struct store *s, int64_t id, char **data_r, size_t *len_r);
/* Queued messages, pending recipients (for `roost debug`/tests). */
enum store_err store_queue_count(struct store *s, int64_t *messages_r, int64_t *pending_r);

/* The outcome of one attempt for one recipient. */
struct store_queue_result {
	int64_t rcpt_id;
	enum store_queue_status status; /* PENDING: retry at next_attempt */
	int64_t next_attempt;
	const char *reply;	/* what to show in queue list and DSNs */
};
/* A notification (DSN) to queue in the same transaction as the results
 * that caused it, so a crash can neither lose it nor send it for a
 * recipient whose state was not recorded. */
struct store_queue_new {
	int64_t account_id;
	const char *return_path, *envid;
	bool ret_full, requiretls;
	const struct store_queue_rcpt *rcpts;
	size_t n_rcpts;
	const char *data;
	size_t len;
};
struct store_queue_update {
	int64_t queue_id;
	const struct store_queue_result *results;
	size_t n_results;
	bool set_delay_notified;
	const struct store_queue_new *dsn;	/* NULL = none */
};
/* Record the results (and the DSN), then remove the message if nothing
 * of it is pending any more. Inputs are copied. `done` as for
 * store_queue_add (queue_id = the DSN's id, 0 without one). */
void store_queue_update(struct store *s, const struct store_queue_update *u,
			store_queue_done_cb *done, void *ctx);

/* Admin actions, waiting (queue retry|hold|release|delete|bounce). id 0
 * = every queued message. *n_r = messages changed; STORE_ENOTFOUND for a
 * given id that is not queued. */
enum store_queue_action {
	STORE_QUEUE_RETRY,	/* every pending recipient is due now */
	STORE_QUEUE_HOLD,	/* no attempt until released (survives restarts) */
	STORE_QUEUE_RELEASE,	/* back to active, due now */
	STORE_QUEUE_DELETE,	/* removed without a DSN */
	STORE_QUEUE_BOUNCE_NOW,	/* the scheduler fails what is pending, with DSNs */
};
enum store_err store_queue_admin(struct store *s, int64_t id, enum store_queue_action action,
				 size_t *n_r);
#endif
