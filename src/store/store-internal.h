/*
 * store-internal: the struct store itself and the pieces the store's own
 * files share (writer queue, change feed). Private to src/store/.
 */
#ifndef ROOST_STORE_INTERNAL_H
#define ROOST_STORE_INTERNAL_H
#include "store/store-private.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#define STORE_DB_FILE "roost.db"
/* Most ops committed together in one transaction. */
#define STORE_BATCH_MAX 512

struct store_changed {
	int64_t mailbox_id, account_id;
	uint64_t modseq;	/* 0: only a mailbox-list event (no new MODSEQ) */
	unsigned mailbox_events;	/* enum store_mailbox_event bits */
};

struct store_txn {
	struct store *s;
	struct db *db;
	uint64_t op_serial;		/* which op is running */
	struct store_changed *changed;	/* mailboxes touched in this commit */
	size_t nchanged, cap;
	size_t op_changed_start;	/* changed[] index where this op began */
	bool queue_changed;		/* a message was queued for sending */
	/* store-content.c: this batch's new and dropped content files
	 * (locations), where the running op's begin, and the directories
	 * (by the hash's first byte) that got a new file */
	char **content_new, **content_drop;
	size_t ncontent_new, ncontent_drop, content_new_cap, content_drop_cap;
	size_t op_content_new, op_content_drop;
	unsigned char content_dirs[32];
	bool content_dir_made;		/* a new directory: sync PATH too */
	/* OBJECTIDs taken from the counter, not handed out yet: [next, end)
	 * (store-msg-extra.c) */
	int64_t objectid_next, objectid_end;
};

/* OBJECTIDs taken from the counter at a time (store-msg-extra.c). */
#define STORE_OBJECTID_BLOCK 64

/* A savepoint of the batch was rolled back (an op's or a target's): what
 * the txn keeps of the database's state may be undone with it. */
static inline void store_txn_undone(struct store_txn *txn)
{
	txn->objectid_next = txn->objectid_end = 0;
}

struct store {
	char *dir, *db_path;
	struct store_settings settings;
	struct db *wdb;			/* the write connection */
	bool commit_allowed;		/* false inside a batch until its COMMIT */
	pthread_mutex_t readers_lock;
	struct db **readers;		/* every thread's read connection */
	size_t nreaders, readers_cap;
	uint64_t generation;		/* identifies this open store for TLS caches */

	/* writer thread (NULL base = none: writes run on the caller) */
	struct event_base *base;
	pthread_t thread;
	bool writer_running, stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond, done_cond;
	struct store_op *queue_head, *queue_tail;
	size_t queue_len;
	/* completed, to run on base */
	struct store_op *done_head, *done_tail;
	struct store_changed *feed;
	size_t nfeed, feed_cap;
	struct event *done_ev;
	/* the change feed across nodes (store-feed-nodes.c, PostgreSQL) */
	bool feed_resync;		/* every watcher must catch up (s->lock) */
	bool feed_queue;		/* another node queued mail (s->lock) */
	uint64_t node_id;		/* random, tells our NOTIFYs from others' */
	struct pg_listener *listener;
	struct event *resync_timer;	/* retries a resync the database refused */
	pthread_t checkpointer;
	pthread_t indexer;		/* full-text indexer (store-indexer.c) */
	bool indexer_running, indexer_wake;
	/* its own stop flag: the writer must keep running until the indexer
	 * (which writes through it) has stopped */
	bool indexer_stopping;
	pthread_cond_t indexer_cond;
	/* PostgreSQL: is the full-text index there (store-fts.c)? 0 not
	 * known yet, 1 yes, -1 no (no pg_trgm when the store was opened) */
	atomic_int fts_pg_index;
	pthread_cond_t checkpoint_cond;	/* wakes the checkpointer to stop */
	struct db *cdb;			/* the checkpointer's connection */
	pthread_mutex_t run_lock;	/* serialises writes without writer thread */

	/* the outbound scheduler's wake-up (store-queue.c) */
	void (*queue_notify)(void *ctx);
	void *queue_notify_ctx;

	/* change feed watchers (event-loop thread only) */
	struct store_watch *watches;

	atomic_uint_fast64_t commits, ops;
	/* \Recent marks held in memory (store-recent.c) */
	struct store_recent_table *recent;
	/* store.content = dir:PATH run as root (a CLI): new files and
	 * directories get PATH's owner, the daemon's server.user */
	bool content_chown;
	uid_t content_uid;
	gid_t content_gid;
	/* locks across nodes (store-nodelock.c) */
	struct store_nodelocks *nodelocks;
};

/* store-nodelock.c: its state's life with the store's. */
void store_nodelocks_init(struct store *s);
void store_nodelocks_free(struct store *s);
/* The full-text indexer thread (store-indexer.c). wake: s->lock held. */
void store_indexer_start(struct store *s);
void store_indexer_wake(struct store *s);
void store_indexer_stop(struct store *s);
/* Install the commit hook that keeps a batch all-or-nothing per op. */
void store_writer_guard_commits(struct store *s);
/* Run one op inside an open transaction (savepoint already set). */
enum store_err store_op_execute(struct store_txn *txn, struct store_op *op);
/* Parse/prepare what an op needs before it reaches the writer (caller thread). */
void store_op_prepare(struct store *s, struct store_op *op);
void store_op_release_priv(struct store_op *op);
/* Writer side: run a batch in one transaction; fills op->err. */
void store_run_batch(struct store *s, struct store_op **ops, size_t n, struct store_txn *txn);
/* Change feed: called on the base thread with the commit's changed list. */
void store_feed_dispatch(struct store *s, const struct store_changed *changed, size_t n);
/* Tell every watcher that anything may have changed (store-feed.c): after
 * notifications may have been lost. Base thread. */
void store_feed_resync(struct store *s);
/* Send the batch's changed list to the other nodes, inside its
 * transaction, before COMMIT (PostgreSQL only; no-op otherwise). */
enum store_err store_feed_publish(struct store_txn *txn);
/* The listener that brings other nodes' changes (writer start/stop). */
void store_feed_nodes_start(struct store *s);
void store_feed_nodes_stop(struct store *s);
/* The resynchronisation asked for, once the database answers (base thread). */
void store_feed_nodes_resync(struct store *s);
/* Record a mailbox-list event in the running op (store-feed.c). */
void store_txn_mailbox_event(struct store_txn *txn, int64_t account_id, int64_t mailbox_id,
			     enum store_mailbox_event event);
/* Schema creation / check. */
enum store_err store_schema_create(struct db *db, char **error_r);
/* The schema version this roost creates and opens. */
long store_schema_current(void);
/* store.backend = postgresql */
static inline bool store_on_pg(const struct store *s)
{
	return s->settings.pg_conninfo[0] != '\0';
}
/* Check the schema version; upgrade an older one (after a backup next to
 * db_path); refuse a newer one. */
enum store_err store_schema_check(struct db *db, const char *db_path, char **error_r);
int64_t store_effective_quota(const struct store *s, int64_t value, bool is_null, bool bytes);
enum store_err store_exec(struct db *db, const char *sql, char **error_r);
/* A new UIDVALIDITY (time-based, strictly increasing), inside a txn. */
enum store_err store_next_uidvalidity(struct db *db, uint32_t *uidvalidity_r);
/* Create a mailbox row inside a txn (no validation). */
enum store_err store_mailbox_insert(struct store_txn *txn, int64_t account_id, const char *name,
				    const char *special_use, int64_t *id_r);
/* Add (subscribe) or remove a name from the account's subscriptions
 * inside a txn; the name need not be a mailbox. STORE_ELIMIT past
 * STORE_MAX_SUBSCRIPTIONS. */
enum store_err store_subscription_set(struct store_txn *txn, int64_t account_id, const char *name,
				      bool subscribe);
/* Remove one message row (quota, refs, expunge log). */
enum store_err store_message_remove(struct store_txn *txn, int64_t mailbox_id, int64_t account_id,
				    uint32_t uid, uint64_t modseq);
int64_t store_now(void);
#endif
