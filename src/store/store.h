/*
 * store: the one storage API. Only src/store/ touches the database.
 *
 * Metadata and message content live in one SQLite database (WAL) in the
 * data directory. Content is immutable, addressed by SHA-256 and stored
 * once, shared by every copy; per-recipient trace headers are kept beside
 * each message as its "prefix", so a message to N recipients still stores
 * its body once. A message's bytes are prefix + content.
 *
 * Reads run on the calling thread (each thread gets its own read
 * connection, a consistent snapshot per call). Writes are "ops": without a
 * writer thread (the CLI on a stopped daemon) store_run() executes an op at
 * once in its own transaction; in the daemon, store_writer_start() starts
 * one writer thread that takes every queued op, runs them together in one
 * transaction (each in its own savepoint, so one failure does not undo the
 * others), commits with one sync, then completes them (group commit).
 * An op is reported done only after its commit is on stable storage.
 *
 * Every change to a mailbox takes the next MODSEQ of that mailbox; expunged
 * UIDs are logged with their MODSEQ; after each commit the change feed calls
 * the watchers of every changed mailbox on the daemon's event loop.
 *
 * Errors: functions return enum store_err (0 = STORE_OK); a detail for logs
 * and admins comes through error_r (malloc'd) where offered. A read returns
 * STORE_ENOTFOUND only when the row is really absent; any other failure of
 * the database (busy, I/O) is STORE_ETEMP (STORE_ECORRUPT for a broken
 * file), never "not found".
 *
 * Accounts: every read and op a session makes names the session's account
 * beside each mailbox id, and the store answers STORE_ENOTFOUND for a
 * mailbox of another account (checked in the SQL, not by the caller).
 */
#ifndef ROOST_STORE_H
#define ROOST_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;

enum store_err {
	STORE_OK = 0,
	STORE_ETEMP,	 /* transient failure: retry later (SQLite busy, I/O) */
	STORE_ENOTFOUND, /* no such account/mailbox/message */
	STORE_EEXISTS,	 /* already exists */
	STORE_EPERM,	 /* not allowed (e.g. deleting INBOX, domain not hosted) */
	STORE_ENOQUOTA,	 /* over quota: storage or message count */
	STORE_EEXPUNGED, /* the message was expunged meanwhile */
	STORE_EINUSE,	 /* locked by someone else */
	STORE_ELIMIT,	 /* a size/count limit of the store */
	STORE_ENOSPACE,	 /* the disk is full */
	STORE_EINVAL,	 /* bad argument (bad name, bad address) */
	STORE_ECORRUPT,	 /* the database broke one of its own invariants (roost check) */
};
const char *store_strerror(enum store_err err);

/* System flags (bits of store_msg.flags). Keywords are kept as text. */
#define STORE_FLAG_SEEN 0x01u
#define STORE_FLAG_ANSWERED 0x02u
#define STORE_FLAG_FLAGGED 0x04u
#define STORE_FLAG_DELETED 0x08u
#define STORE_FLAG_DRAFT 0x10u
#define STORE_FLAGS_ALL 0x1fu

/* Keywords: at most this many per message, each at most this long. */
#define STORE_MAX_KEYWORDS 64
#define STORE_MAX_KEYWORD_LEN 128
/* Mailbox names: bytes and hierarchy depth ('/' separated). */
#define STORE_MAX_MAILBOX_NAME 512
#define STORE_MAX_MAILBOX_DEPTH 32
/* Mailboxes per account. */
#define STORE_MAX_MAILBOXES 10000
/* Subscribed names per account (a name needs no mailbox, RFC 3501 6.3.6). */
#define STORE_MAX_SUBSCRIPTIONS 10000

/* Quota warning thresholds, and the longest warning subject or text. */
#define STORE_QUOTA_WARN_MAX 4
#define STORE_QUOTA_WARN_TEXT_MAX 2048

/* bytes of a store.postgresql conninfo string */
#define STORE_PG_CONNINFO_MAX 1024
/* store.content = dir:PATH: the longest PATH (a file name is added under it) */
#define STORE_CONTENT_DIR_MAX 512

struct store_settings {
	/* store.backend = postgresql: the libpq conninfo of the database
	 * that holds the store; "" = SQLite, DIR/roost.db (the default) */
	char pg_conninfo[STORE_PG_CONNINFO_MAX];
	/* store.content = dir:PATH: message bytes in files under PATH
	 * (store-content.c); "" = in the database (the default) */
	char content_dir[STORE_CONTENT_DIR_MAX];
	int64_t default_quota_bytes;	/* -1 = unlimited */
	int64_t default_quota_messages; /* -1 = unlimited */
	int64_t busy_timeout_ms;	/* wait this long for a lock held by another
					 * process (a backup, sqlite3); then EINUSE.
					 * 0 = the built-in default */
	bool fts_disabled;		/* search.fts = no: no full-text index kept
					 * at store time nor used by SEARCH */
	/* quota warnings (store-quota-warn.c, quota.warn_*): ascending
	 * percentages, 0 ends the list early; texts ("" = built in) */
	unsigned char quota_warn_percent[STORE_QUOTA_WARN_MAX];
	char quota_warn_subject[STORE_QUOTA_WARN_TEXT_MAX];
	char quota_warn_template[STORE_QUOTA_WARN_TEXT_MAX];
};

/* Create a new, empty store: the SQLite database in dir, or with
 * pg_conninfo (not NULL or "") the schema in that empty PostgreSQL
 * database. Fails (STORE_EEXISTS) if one exists. */
enum store_err store_create(const char *dir, const char *pg_conninfo, char **error_r);
/* Open the database in dir (which must exist). */
enum store_err store_open(const char *dir, const struct store_settings *settings,
			  struct store **store_r, char **error_r);
/* Stops the writer (draining it) if running, then closes. */
void store_close(struct store **store);

/* Daemon: start the group-commit writer; op completions and change-feed
 * callbacks run on `base` (whose thread must run the loop). */
int store_writer_start(struct store *s, struct event_base *base);

struct store_stats {
	uint64_t commits;  /* transactions committed = syncs of the WAL */
	uint64_t ops;	   /* ops completed */
};
void store_get_stats(struct store *s, struct store_stats *stats_r);
/* Contents stored but not yet in the full-text index (the indexer's
 * backlog; 0 with search.fts = no). Any thread, its read connection. */
enum store_err store_fts_backlog(struct store *s, int64_t *n_r);

/* ------------------------------------------------------------------ */
/* Write ops                                                           */

enum store_op_kind {
	STORE_OP_DELIVER,	   /* store one message into one or more mailboxes */
	STORE_OP_FLAGS,		   /* change flags/keywords of some messages */
	STORE_OP_EXPUNGE,	   /* remove messages */
	STORE_OP_COPY,		   /* copy or move messages between mailboxes */
	STORE_OP_MAILBOX_CREATE,
	STORE_OP_MAILBOX_DELETE,
	STORE_OP_MAILBOX_RENAME,
	STORE_OP_MAILBOX_SUBSCRIBE,
	STORE_OP_POP3_COMMIT,	   /* a POP3 QUIT: deletions and retrievals */
	STORE_OP_FUNC,		   /* internal: admin commands */
	STORE_OP_MULTI,		   /* several ops in order, all or nothing */
};

/* One destination of a delivery. */
struct store_target {
	int64_t account_id;	/* required: the mailbox must be this account's */
	int64_t mailbox_id;	/* 0 = the account's INBOX */
	const char *prefix;	/* header lines to prepend (CRLF-terminated), or NULL */
	uint32_t flags;		/* initial system flags */
	const char *keywords;	/* space separated, or NULL */
	/* import (store-op-import.c): take this UID, which must be at least
	 * the mailbox's UIDNEXT (else err = STORE_EEXISTS); UIDNEXT becomes
	 * import_uid + 1. 0 = the next UID, as always. */
	uint32_t import_uid;
	/* Sieve fileinto (delivery-sieve.h): with mailbox_id 0, the mailbox
	 * of this name; a missing one is created with create_mailbox, else
	 * the message goes to INBOX (out: fell_back). */
	const char *mailbox_name;
	bool create_mailbox;
	/* with per_target: stored or refused together with the target
	 * before it (one recipient's copies in several mailboxes) */
	bool joined;
	/* out */
	bool fell_back;
	enum store_err err;
	int64_t out_mailbox_id;
	uint32_t uid, uidvalidity;
	uint64_t modseq;
};

struct store_deliver {
	const char *data;	/* message bytes, borrowed until completion */
	size_t len;
	int64_t internaldate;	/* unix time; 0 = now */
	struct store_target *targets;
	size_t ntargets;
	/* true: each target succeeds or fails on its own (SMTP/LMTP);
	 * false: all targets or none (op->err says why). */
	bool per_target;
	const char *pop3_uidl;	/* imported UIDL to keep (migration), or NULL */
	/* a delivery (delivery.c), not an APPEND or import: a target whose
	 * storage use crosses a quota.warn_percent gets a notice in INBOX */
	bool quota_warn;
};

enum store_flags_mode { STORE_FLAGS_REPLACE, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

struct store_flags {
	int64_t account_id;	/* the mailbox must be this account's */
	int64_t mailbox_id;
	const uint32_t *uids;	/* ascending; UIDs no longer present are skipped */
	size_t nuids;
	enum store_flags_mode mode;
	uint32_t flags;
	const char *keywords;	/* space separated, or NULL */
	uint64_t unchangedsince; /* CONDSTORE: 0 = unconditional */
	/* out (malloc'd, freed by store_op_clear) */
	uint32_t *changed;	/* UIDs whose flags actually changed */
	uint64_t *changed_modseq;
	size_t nchanged;
	uint32_t *modified;	/* UIDs refused by UNCHANGEDSINCE */
	size_t nmodified;
};

struct store_expunge {
	int64_t account_id;	/* the mailbox must be this account's */
	int64_t mailbox_id;
	const uint32_t *uids;	/* restrict to these (ascending), or NULL = all */
	size_t nuids;
	bool only_deleted;	/* only messages flagged \Deleted (IMAP) */
	/* out */
	uint32_t *expunged;
	size_t nexpunged;
	uint64_t modseq;
};

struct store_copy {
	int64_t account_id;	/* both mailboxes must be this account's */
	int64_t src_mailbox_id, dst_mailbox_id;
	const uint32_t *uids;	/* ascending; missing UIDs are skipped */
	size_t nuids;
	bool move;		/* also expunge the sources, in the same commit */
	/* out */
	uint32_t *src_uids, *dst_uids;
	size_t ncopied;
	uint32_t dst_uidvalidity;
};

struct store_mailbox_op {
	int64_t account_id;
	const char *name;	/* create/delete/rename/subscribe: the mailbox */
	const char *new_name;	/* rename */
	const char *special_use; /* create: e.g. "\\Sent", or NULL */
	bool subscribe;		/* subscribe op: true = subscribe */
	/* out */
	int64_t mailbox_id;
};

struct store_pop3_commit {
	int64_t account_id;	/* the mailbox must be this account's */
	int64_t mailbox_id;	/* INBOX */
	const uint32_t *delete_uids;	/* DELE'd (ascending); gone ones are fine */
	size_t ndelete;
	bool hide;		/* pop3.delete = hide: hide from POP3 only */
	const uint32_t *retr_uids;	/* RETR'd: record the first retrieval time */
	size_t nretr;
	bool mark_seen;		/* pop3.retr_marks_seen */
};

/* Several ops run in order in one savepoint: if one fails, none of them
 * is stored and the multi op fails with its error (IMAP MULTIAPPEND,
 * RFC 3502; REPLACE, RFC 8508: a delivery then an expunge). The sub-ops
 * are the caller's; each keeps its own outputs and err. Sub-ops cannot be
 * STORE_OP_MULTI or STORE_OP_FUNC. store_op_clear() clears the sub-ops too. */
struct store_multi {
	struct store_op **ops;
	size_t nops;
};

struct store_txn; /* an open write transaction, for STORE_OP_FUNC */

struct store_func {
	enum store_err (*fn)(struct store_txn *txn, void *arg, char **error_r);
	void *arg;
};

struct store_op {
	enum store_op_kind kind;
	union {
		struct store_deliver deliver;
		struct store_flags flags;
		struct store_expunge expunge;
		struct store_copy copy;
		struct store_mailbox_op mailbox;
		struct store_pop3_commit pop3;
		struct store_func func;
		struct store_multi multi;
	} u;
	/* out */
	enum store_err err;
	char *error;		/* detail for logs, or NULL */
	/* private to the store */
	void *priv;
	void (*done)(struct store_op *op, void *ctx);
	void *done_ctx;
	struct store_op *next;
};

void store_op_init(struct store_op *op, enum store_op_kind kind);
/* Free the op's outputs (not the op itself, not the inputs). */
void store_op_clear(struct store_op *op);
/* Run and wait until durable. Works with or without the writer thread.
 * Must not be called from the writer's event-loop thread. */
enum store_err store_run(struct store *s, struct store_op *op);
/* Queue; `done` runs on the writer's event loop after the commit. Requires
 * store_writer_start(). The op and its inputs must stay valid until then. */
void store_submit(struct store *s, struct store_op *op,
		  void (*done)(struct store_op *op, void *ctx), void *ctx);

/* ------------------------------------------------------------------ */
/* Domains, accounts, aliases (admin; blocking writes)                 */

struct store_account {
	int64_t id;
	char *address;
	int64_t quota_bytes;	/* effective limit; -1 = unlimited */
	int64_t quota_messages;	/* effective limit; -1 = unlimited */
	bool quota_is_default;
	int64_t used_bytes, used_messages;
	char *pop3_delete;	/* per-account override of pop3.delete, or NULL */
	bool disabled;		/* cannot log in; still receives mail */
};
void store_account_clear(struct store_account *a);
void store_account_list_free(struct store_account *list, size_t n);

enum store_err store_domain_add(struct store *s, const char *domain, char **error_r);
enum store_err store_domain_del(struct store *s, const char *domain, char **error_r);
enum store_err store_domain_list(struct store *s, char ***names_r, size_t *n_r);
/* *hosted_r: is `domain` hosted here? STORE_ETEMP when the read failed. */
enum store_err store_domain_hosted(struct store *s, const char *domain, bool *hosted_r);
/* Catch-all: mail to unknown users of `domain` goes to `address` (NULL: off). */
enum store_err store_domain_catchall(struct store *s, const char *domain, const char *address,
				     char **error_r);

/* Creates the account with INBOX, Drafts, Sent, Trash, Junk, Archive. */
enum store_err store_account_add(struct store *s, const char *address, const char *pwhash,
				 char **error_r);
enum store_err store_account_del(struct store *s, const char *address, char **error_r);
enum store_err store_account_passwd(struct store *s, const char *address, const char *pwhash,
				    char **error_r);
/* bytes/messages: -1 = unlimited, -2 = back to the server default,
 * -3 = leave unchanged. */
enum store_err store_account_quota(struct store *s, const char *address, int64_t bytes,
				   int64_t messages, char **error_r);
/* Per-account pop3.delete override: "expunge", "hide" or NULL (default). */
enum store_err store_account_pop3_delete(struct store *s, const char *address, const char *mode,
					 char **error_r);
enum store_err store_account_get(struct store *s, const char *address, struct store_account *a_r);
enum store_err store_account_get_by_id(struct store *s, int64_t id, struct store_account *a_r);
enum store_err store_account_list(struct store *s, struct store_account **list_r, size_t *n_r);
/* A disabled account cannot log in (IMAP, POP3) but still receives mail:
 * disabling is for a suspended user, not a bounce. */
enum store_err store_account_set_disabled(struct store *s, const char *address, bool disabled,
					  char **error_r);
/* For login: the account id, stored password hash (caller frees) and
 * whether it is disabled (disabled_r may be NULL). */
enum store_err store_account_auth(struct store *s, const char *address, int64_t *id_r,
				  char **pwhash_r, bool *disabled_r);

enum store_err store_alias_add(struct store *s, const char *alias, const char *target,
			       char **error_r);
/* target NULL: remove every target of the alias. */
enum store_err store_alias_del(struct store *s, const char *alias, const char *target,
			       char **error_r);
struct store_alias {
	char *alias, *target;
};
enum store_err store_alias_list(struct store *s, struct store_alias **list_r, size_t *n_r);
void store_alias_list_free(struct store_alias *list, size_t n);

/* Where mail for `address` goes: an account, else an alias's accounts, else
 * user+tag -> user, else the domain's catch-all. Lowercases the domain.
 * STORE_ENOTFOUND: hosted domain, no such user. STORE_EPERM: domain not
 * hosted (relay). STORE_ETEMP: a read failed (never ENOTFOUND/EPERM then).
 * Duplicates are removed. */
enum store_err store_resolve(struct store *s, const char *address, int64_t **account_ids_r,
			     size_t *n_r);

/* ------------------------------------------------------------------ */
/* Mailboxes and messages (reads)                                      */

struct store_mailbox {
	int64_t id, account_id;
	char *name;		/* UTF-8, '/' separated; "INBOX" for the inbox */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	char *special_use;	/* "\\Sent" etc., or NULL */
	bool subscribed;	/* its name is in the subscriptions */
	/* counts (filled by store_mailbox_list/get) */
	uint32_t messages, unseen, deleted;
	int64_t bytes;
};
void store_mailbox_clear(struct store_mailbox *mb);
void store_mailbox_list_free(struct store_mailbox *list, size_t n);

/* Every subscribed name of the account, mailbox or not (RFC 3501 6.3.6),
 * sorted; free with store_subscription_list_free. */
enum store_err store_subscription_list(struct store *s, int64_t account_id, char ***names_r,
				       size_t *n_r);
void store_subscription_list_free(char **names, size_t n);
/* Every mailbox of the account, sorted by name, with counts. */
enum store_err store_mailbox_list(struct store *s, int64_t account_id,
				  struct store_mailbox **list_r, size_t *n_r);
/* By name ("inbox" in any case is INBOX). */
enum store_err store_mailbox_get(struct store *s, int64_t account_id, const char *name,
				 struct store_mailbox *mb_r);
/* STORE_ENOTFOUND also when the mailbox is not account_id's. */
enum store_err store_mailbox_get_by_id(struct store *s, int64_t account_id, int64_t mailbox_id,
				       struct store_mailbox *mb_r);
/* Is this a valid mailbox name? (UTF-8, no empty or "."/".." components,
 * no control characters, within the length and depth limits.) */
bool store_mailbox_name_valid(const char *name);

struct store_msg {
	uint32_t uid;
	uint64_t modseq;
	uint32_t flags;
	char *keywords;		/* space separated, or NULL */
	int64_t internaldate;
	int64_t size;		/* exact octets of prefix + content */
	int64_t crlf_size;	/* octets with every line ending CRLF (mail/crlf.h) */
	char *pop3_uidl;	/* imported UIDL, or NULL: use "<uidvalidity>.<uid>" */
	bool pop3_hidden;
	int64_t pop3_retrieved;	/* unix time of first POP3 RETR, 0 = never */
};
void store_msg_list_free(struct store_msg *list, size_t n);

/* The reads below take the session's account beside the mailbox id and
 * answer STORE_ENOTFOUND for a mailbox of another account. */

/* Import (store-op-import.c; blocking, like the admin writes): an empty
 * mailbox of the account takes the source server's UIDVALIDITY (non-zero)
 * and UIDNEXT 1 (messages then keep their UIDs: store_target.import_uid);
 * its expunge log is dropped. STORE_EPERM (with a detail) when it holds
 * messages: then its UIDs stay and imported messages get new ones. */
enum store_err store_mailbox_import_ids(struct store *s, int64_t account_id, int64_t mailbox_id,
					uint32_t uidvalidity, char **error_r);
/* After an import: UIDNEXT = max(UIDNEXT, uidnext), the source's next UID. */
enum store_err store_mailbox_raise_uidnext(struct store *s, int64_t account_id,
					   int64_t mailbox_id, uint32_t uidnext, char **error_r);

/* Every message of the mailbox, UID ascending. */
enum store_err store_mailbox_messages(struct store *s, int64_t account_id, int64_t mailbox_id,
				      struct store_msg **msgs_r, size_t *n_r);
/* Messages changed (stored or flags changed) after `modseq`, UID ascending,
 * and UIDs expunged after `modseq`. */
enum store_err store_mailbox_changes(struct store *s, int64_t account_id, int64_t mailbox_id,
				     uint64_t modseq,
				     struct store_msg **changed_r, size_t *nchanged_r,
				     uint32_t **vanished_r, size_t *nvanished_r);

/* The message's bytes (prefix + content; caller frees *data_r).
 * prefix_len_r may be NULL. STORE_ENOTFOUND when expunged. */
enum store_err store_message_content(struct store *s, int64_t account_id, int64_t mailbox_id,
				     uint32_t uid, char **data_r, size_t *len_r,
				     size_t *prefix_len_r);

/* What was computed at store time (see mail/mime-index.h). */
struct store_msg_index {
	char *envelope, *body, *bodystructure, *parts;
	char *subject, *from, *to, *cc, *bcc, *message_id, *in_reply_to, *references;
	int64_t date;
	size_t prefix_len;
};
void store_msg_index_clear(struct store_msg_index *idx);
enum store_err store_message_index(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint32_t uid, struct store_msg_index *idx_r);

/* ------------------------------------------------------------------ */
/* Change feed (daemon only; register and remove on the event loop)    */

typedef void store_watch_cb(void *ctx, int64_t mailbox_id, uint64_t highestmodseq);
struct store_watch;
/* mailbox_id 0 = every mailbox of the account. A watch fires only for
 * changes of account_id's own mailboxes (the feed matches both ids), so
 * a mailbox id of another account never fires. highestmodseq 0: it may
 * have changed, read to find out (after notifications from other nodes
 * may have been lost, store-feed-nodes.c); calls may also come for a
 * change already seen. */
struct store_watch *store_watch_add(struct store *s, int64_t account_id, int64_t mailbox_id,
				    store_watch_cb *cb, void *ctx);
void store_watch_remove(struct store_watch **w);
/* The account's mailbox list changed (NOTIFY MailboxName and
 * SubscriptionChange, RFC 5465): one call per event of each committed op,
 * naming the mailbox the op was about (store-feed.c). Parents
 * created along and children renamed along are not told one by one:
 * a watcher that needs names re-reads the list. A deleted mailbox's row
 * is gone by the time of the call. mailbox_id 0 with
 * STORE_MAILBOX_RENAMED: anything in the list may have changed. */
enum store_mailbox_event {
	STORE_MAILBOX_CREATED = 1 << 0,
	STORE_MAILBOX_DELETED = 1 << 1,
	STORE_MAILBOX_RENAMED = 1 << 2,
	STORE_MAILBOX_SUBSCRIBED = 1 << 3,
	STORE_MAILBOX_UNSUBSCRIBED = 1 << 4,
};
typedef void store_watch_mailboxes_cb(void *ctx, int64_t mailbox_id,
				      enum store_mailbox_event event);
/* Removed with store_watch_remove(). */
struct store_watch *store_watch_mailboxes_add(struct store *s, int64_t account_id,
					      store_watch_mailboxes_cb *cb, void *ctx);

/* ------------------------------------------------------------------ */
/* Locks across nodes (store-nodelock.c)                               */

/* Held by this node, across every node of a shared PostgreSQL database,
 * until released or until this node's lock connection closes (the node
 * died: PostgreSQL frees them). On SQLite (one daemon per data directory)
 * always taken: callers keep their own in-process lock too. Any thread;
 * one thread of the store does the round trips, so a caller waits at most
 * STORE_NODELOCK_TAKE_WAIT_MS (take: call it off the event loop) or
 * STORE_NODELOCK_RELEASE_WAIT_MS (release), and held() not at all. */
#define STORE_NODELOCK_TAKE_WAIT_MS 2000
#define STORE_NODELOCK_RELEASE_WAIT_MS 200
enum store_nodelock_class {
	STORE_NODELOCK_POP3 = 1,	/* id: the account with a POP3 session */
	STORE_NODELOCK_OUTBOUND = 2,	/* id 0: the node that sends the queue */
};
/* STORE_OK, STORE_EINUSE (another node holds it, or this node already
 * does), STORE_ETEMP (the database did not answer in time: nothing is
 * held then, even if the answer comes later), STORE_ELIMIT. */
enum store_err store_nodelock_take(struct store *s, enum store_nodelock_class class, int64_t id);
/* Still held, as far as the last round trip knows? Has the connection
 * checked in the background: after a lost one, locks are taken again,
 * and one another node took meanwhile is lost (a later call says so). */
bool store_nodelock_held(struct store *s, enum store_nodelock_class class, int64_t id);
void store_nodelock_release(struct store *s, enum store_nodelock_class class, int64_t id);
/* May other nodes share this store (PostgreSQL)? */
bool store_backend_shared(const struct store *s);

/* Recount usage from the messages (what used_* must always equal). */
enum store_err store_quota_recount(struct store *s, int64_t account_id, int64_t *bytes_r,
				   int64_t *messages_r);

/* Consistency check (`roost check`, store-check.c). Read-only, one read
 * snapshot on this thread's read connection: safe while the daemon runs.
 * Calls report(ctx, line) once per problem with a one-line description:
 * SQLite integrity (quick: PRAGMA quick_check, for large databases),
 * quota usage vs a recount, message size vs prefix + content, content
 * refs vs users, orphan content, missing content/index/mailbox, UIDs not
 * below UIDNEXT, duplicate UIDs, expunged UIDs still present, MODSEQs above
 * HIGHESTMODSEQ. STORE_OK when the check ran (*nproblems_r = problems). */
/* Test hook (debug.fault_injection, store-fault.c): after `skip` more
 * db_step calls on read connections (any thread) succeed, the next
 * `count` fail with DB_IOERR or DB_BUSY instead of running.
 * Transaction ends (COMMIT, ROLLBACK) are never failed. count 0 disarms.
 * Process-wide; never armed unless a test or the debug command asks. */
enum store_fault { STORE_FAULT_IOERR, STORE_FAULT_BUSY };
void store_debug_fail_reads(unsigned skip, unsigned count, enum store_fault kind);
/* Read steps failed by the hook so far (tests). */
unsigned store_debug_reads_failed(void);
/* Test hook: the writer's next `count` COMMITs on PostgreSQL succeed,
 * then the writer's connection is cut as if the answer had been lost on
 * the way (store-writer.c then asks whether the commit happened). */
void store_debug_lose_commits(unsigned count);

typedef void store_check_report_fn(void *ctx, const char *line);
enum store_err store_check(struct store *s, bool quick, store_check_report_fn *report, void *ctx,
			   size_t *nproblems_r, char **error_r);
#endif
