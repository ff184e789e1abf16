/*
 * store-writer: group commit. One writer thread takes every op queued
 * since its last commit, runs them in one transaction (each in its own
 * savepoint so one failure does not undo the others), commits with one
 * sync, then completes them on the daemon's event loop together with the
 * change feed. Without a writer thread (CLI on a stopped daemon),
 * store_run() runs the op in a transaction of its own on the caller.
 */
#include "store/store-internal.h"
#include "store/store-content.h"
#include "store/store-fault.h"
#include "store/db/db-pg.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include <event2/event.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An op waited for by store_run() rather than completed on the loop. */
struct sync_wait {
	bool done;
};

void store_op_init(struct store_op *op, enum store_op_kind kind)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
}

void store_op_clear(struct store_op *op)
{
	switch (op->kind) {
	case STORE_OP_FLAGS:
		xfree(&op->u.flags.changed);
		xfree(&op->u.flags.changed_modseq);
		xfree(&op->u.flags.modified);
		op->u.flags.nchanged = op->u.flags.nmodified = 0;
		break;
	case STORE_OP_EXPUNGE:
		xfree(&op->u.expunge.expunged);
		op->u.expunge.nexpunged = 0;
		break;
	case STORE_OP_COPY:
		xfree(&op->u.copy.src_uids);
		xfree(&op->u.copy.dst_uids);
		op->u.copy.ncopied = 0;
		break;
	case STORE_OP_MULTI:
		for (size_t i = 0; i < op->u.multi.nops; i++)
			store_op_clear(op->u.multi.ops[i]);
		break;
	default:
		break;
	}
	store_op_release_priv(op);
	xfree(&op->error);
}

static void txn_reset(struct store_txn *txn)
{
	store_txn_undone(txn);
	txn->nchanged = 0;
	txn->op_changed_start = 0;
	txn->queue_changed = false;
}

/* Nothing of this batch is stored: every op not failed yet (done or not
 * run) fails with err, its outputs cleared. */
static void fail_batch(struct store_op **ops, size_t n, enum store_err err, const char *error)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->err == STORE_OK) {
			store_op_clear(ops[i]);
			ops[i]->err = err;
			ops[i]->error = xstrdup(error);
		}
	}
}

/*
 * SQLite rolls a transaction back by itself on DB_FULL, IOERR, BUSY or
 * NOMEM; every statement after that would commit on its own (autocommit),
 * half an op at a time. The commit hook refuses any commit inside a batch
 * except the batch's own COMMIT, so such statements fail instead.
 */
static int commit_guard(void *arg)
{
	struct store *s = arg;
	return s->commit_allowed ? 0 : 1;
}

void store_writer_guard_commits(struct store *s)
{
	s->commit_allowed = true;
	/* SQLite only: other backends end a failed transaction for good
	 * (later statements fail until ROLLBACK), so there is nothing to guard. */
	if (db_sqlite(s->wdb) != NULL)
		sqlite3_commit_hook(db_sqlite(s->wdb), commit_guard, s);
}

static void run_batch(struct store *s, struct store_op **ops, size_t n, struct store_txn *txn);

void store_run_batch(struct store *s, struct store_op **ops, size_t n, struct store_txn *txn)
{
	run_batch(s, ops, n, txn);
	s->commit_allowed = true;
}

/*
 * Several nodes on one PostgreSQL database each run a writer. A batch
 * locks the rows of many accounts and mailboxes, in whatever order its
 * ops come, so two nodes' batches would deadlock (PostgreSQL breaks the
 * tie after deadlock_timeout by failing one). And every delivery updates
 * the one row of the OBJECTID counter, so batches serialise on it anyway.
 * So a batch first takes one transaction-level advisory lock: batches of
 * all nodes commit one after the other, as one SQLite writer's do, and
 * never deadlock. The wait counts against lock_timeout (store.busy_timeout).
 */
#define STORE_PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(7162001), txid_current()"

/* Asking whether a COMMIT that lost its connection committed: attempts,
 * and the pause between them (the server may be restarting). */
#define STORE_PG_OUTCOME_TRIES 40
#define STORE_PG_OUTCOME_PAUSE_MS 250

/* BEGIN (and the lock on PostgreSQL, with the transaction's id in
 * *xid_r); on failure *error_r (caller frees). */
static enum store_err begin_batch(struct store *s, int64_t *xid_r, char **error_r)
{
	*xid_r = 0;
	enum store_err err = store_step_sql(s->wdb, "BEGIN IMMEDIATE");
	if (err == STORE_OK && store_on_pg(s)) {
		struct db_stmt *st = store_prepare(s->wdb, STORE_PG_WRITE_LOCK);
		int rc = st != NULL ? db_step(st) : DB_ERROR;
		if (rc == DB_ROW)
			*xid_r = db_column_int64(st, 1);
		if (st != NULL)
			db_reset(st);
		if (rc != DB_ROW) {
			err = st != NULL ? store_db_err(rc) : STORE_ETEMP;
			*error_r = xasprintf("database: write lock: %s", db_errmsg(s->wdb));
			store_exec(s->wdb, "ROLLBACK", NULL);
			return err;
		}
	}
	if (err != STORE_OK)
		*error_r = xasprintf("database: %s", db_errmsg(s->wdb));
	return err;
}

/*
 * A COMMIT whose connection broke (a PostgreSQL restart, a network cut)
 * may have committed: the server can commit and go before it answers.
 * Failing the batch then would tell clients to send again what is stored
 * (a duplicate); so the transaction's fate is asked on a new connection
 * (txid_status, PostgreSQL 10+). true: it committed. When the database
 * cannot tell in STORE_PG_OUTCOME_TRIES, it counts as failed: a
 * duplicate is better than a loss.
 */
static bool pg_committed_anyway(struct store *s, int64_t xid)
{
	if (xid == 0)
		return false;
	for (int i = 0; i < STORE_PG_OUTCOME_TRIES; i++) {
		if (i > 0)
			usleep(STORE_PG_OUTCOME_PAUSE_MS * 1000);
		/* ends what the driver may still take for an open transaction:
		 * so the next statement may reconnect */
		store_exec(s->wdb, "ROLLBACK", NULL);
		struct db_stmt *st = store_prepare(s->wdb, "SELECT txid_status(?1)");
		if (st == NULL)
			continue;
		db_bind_int64(st, 1, xid);
		int rc = db_step(st);
		char status[16] = "";
		if (rc == DB_ROW && db_column_type(st, 0) != DB_TYPE_NULL)
			snprintf(status, sizeof(status), "%s", db_column_text(st, 0));
		db_reset(st);
		if (rc != DB_ROW || strcmp(status, "in progress") == 0)
			continue;
		log_warn("store: the commit's connection broke; the transaction %s",
			 strcmp(status, "committed") == 0 ? "committed all the same" : "did not commit");
		return strcmp(status, "committed") == 0;
	}
	log_error("store: the commit's connection broke and the database cannot say whether it"
		  " committed: reported as failed (a client may send it again)");
	return false;
}

static void run_batch(struct store *s, struct store_op **ops, size_t n, struct store_txn *txn)
{
	char *error = NULL;
	int64_t xid;
	txn->s = s;
	txn->db = s->wdb;
	txn_reset(txn);
	enum store_err err = begin_batch(s, &xid, &error);
	s->commit_allowed = false;
	if (err != STORE_OK) {
		log_error("store: begin failed: %s", error);
		for (size_t i = 0; i < n; i++) {
			ops[i]->err = err;
			if (ops[i]->error == NULL)
				ops[i]->error = xstrdup(error);
		}
		free(error);
		return;
	}
	size_t nok = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_op *op = ops[i];
		txn->op_serial++;
		txn->op_changed_start = txn->nchanged;
		store_content_op_begin(txn);
		/* deferred: an error of it fails the op's first statement
		 * that waits for an answer (RELEASE at the latest) */
		err = store_step_sql_deferred(s->wdb, "SAVEPOINT op");
		if (err != STORE_OK) {
			/* nothing of the op ran; the ops before stand */
			op->err = err;
			if (op->error == NULL)
				op->error = xasprintf("database: savepoint: %s", db_errmsg(s->wdb));
		} else {
			op->err = store_op_execute(txn, op);
			if (op->err == STORE_OK && (err = store_step_sql(s->wdb, "RELEASE op")) != STORE_OK)
				op->err = err;
			if (op->err == STORE_OK) {
				nok++;
			} else {
				txn->nchanged = txn->op_changed_start;
				store_content_op_undo(txn);
				store_txn_undone(txn);
				/* Unless the op's writes are undone, they would
				 * commit with the others: then nothing commits. */
				if (db_in_transaction(s->wdb) &&
				    (store_step_sql(s->wdb, "ROLLBACK TO op") != STORE_OK ||
				     store_step_sql(s->wdb, "RELEASE op") != STORE_OK)) {
					error = xasprintf("database: undoing a failed op: %s",
							  db_errmsg(s->wdb));
					log_error("store: %s", error);
					store_exec(s->wdb, "ROLLBACK", NULL);
					fail_batch(ops, n, STORE_ETEMP, error);
					free(error);
					txn->nchanged = 0;
					store_content_end(txn, false);
					return;
				}
			}
		}
		/* On DB_FULL, IOERR, BUSY or NOMEM SQLite may have rolled
		 * back the whole transaction (lang_transaction.html): the ops
		 * before are undone, and the ops after would each commit on
		 * their own outside it, yet be reported failed (then retried
		 * and stored twice). Fail the whole batch instead. */
		if (!db_in_transaction(s->wdb)) {
			log_error("store: transaction rolled back by the database: %s",
				  store_strerror(op->err));
			error = xasprintf("transaction rolled back: %s", store_strerror(op->err));
			fail_batch(ops, n, op->err != STORE_OK ? op->err : STORE_ETEMP, error);
			free(error);
			txn->nchanged = 0;
			store_content_end(txn, false);
			return;
		}
	}
	if (nok == 0) {
		store_exec(s->wdb, "ROLLBACK", NULL);
		txn->nchanged = 0;
		store_content_end(txn, false);
		return;
	}
	/* the rows commit only after their content files are on disk */
	char *sync_error = NULL;
	err = store_content_sync(txn, &sync_error);
	if (err != STORE_OK) {
		log_error("store: %s", sync_error);
		store_exec(s->wdb, "ROLLBACK", NULL);
		fail_batch(ops, n, err, sync_error);
		free(sync_error);
		txn->nchanged = 0;
		store_content_end(txn, false);
		return;
	}
	/* the other nodes hear of it only if it commits */
	err = store_feed_publish(txn);
	if (err == STORE_OK) {
		s->commit_allowed = true;
		err = store_step_sql(s->wdb, "COMMIT");
		if (err == STORE_OK && store_on_pg(s) && store_fault_take_lost_commit()) {
			db_pg_debug_sever(s->wdb); /* the answer "was lost" */
			err = STORE_ETEMP;
		}
	}
	if (err != STORE_OK) {
		error = xasprintf("database: %s", db_errmsg(s->wdb));
		log_error("store: commit failed: %s", error);
		store_exec(s->wdb, "ROLLBACK", NULL);
		if (s->commit_allowed && store_on_pg(s) && pg_committed_anyway(s, xid)) {
			free(error);
			atomic_fetch_add(&s->commits, 1);
			store_content_end(txn, true);
			return;
		}
		/* Nothing of this batch is stored: every op fails. */
		fail_batch(ops, n, err, error);
		free(error);
		txn->nchanged = 0;
		store_content_end(txn, false);
		return;
	}
	atomic_fetch_add(&s->commits, 1);
	store_content_end(txn, true);
}

/* Runs on the event loop: complete ops, then tell watchers. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->lock);
	struct store_op *head = s->done_head;
	s->done_head = s->done_tail = NULL;
	struct store_changed *feed = s->feed;
	size_t nfeed = s->nfeed;
	s->feed = NULL;
	s->nfeed = s->feed_cap = 0;
	bool resync = s->feed_resync, queued = s->feed_queue;
	s->feed_resync = s->feed_queue = false;
	pthread_mutex_unlock(&s->lock);

	while (head != NULL) {
		struct store_op *op = head;
		head = op->next;
		op->next = NULL;
		op->done(op, op->done_ctx);
	}
	store_feed_dispatch(s, feed, nfeed);
	free(feed);
	if (resync)
		store_feed_nodes_resync(s);
	/* (a resync: a wake-up may have been lost too) */
	if ((queued || resync) && s->queue_notify != NULL)
		s->queue_notify(s->queue_notify_ctx);
}

static int64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Writers that were just completed by the previous commit are usually
 * about to queue their next op. When fewer ops are queued than the last
 * batch held, wait a fraction of a commit's duration for them: one sync
 * then covers the whole group instead of alternating small and large
 * batches. The wait is bounded by STORE_GATHER_MAX_US.
 */
#define STORE_GATHER_MAX_US 1000

static void gather(struct store *s, size_t last_batch, int64_t last_commit_us)
{
	if (s->queue_len >= last_batch || last_batch < 2)
		return;
	int64_t wait_us = last_commit_us / 2;
	if (wait_us > STORE_GATHER_MAX_US)
		wait_us = STORE_GATHER_MAX_US;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += wait_us * 1000;
	deadline.tv_sec += deadline.tv_nsec / 1000000000;
	deadline.tv_nsec %= 1000000000;
	while (s->queue_len < last_batch && !s->stopping)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) != 0)
			break;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct store_txn txn = {0};
	struct store_op **batch = xcalloc(STORE_BATCH_MAX, sizeof(*batch));
	size_t last_batch = 0;
	int64_t last_commit_us = 0;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (s->queue_head == NULL && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->queue_head == NULL && s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		gather(s, last_batch, last_commit_us);
		size_t n = 0;
		while (s->queue_head != NULL && n < STORE_BATCH_MAX) {
			batch[n++] = s->queue_head;
			s->queue_head = s->queue_head->next;
			s->queue_len--;
		}
		if (s->queue_head == NULL)
			s->queue_tail = NULL;
		pthread_mutex_unlock(&s->lock);

		int64_t t0 = monotonic_us();
		store_run_batch(s, batch, n, &txn);
		last_commit_us = monotonic_us() - t0;
		last_batch = n;
		metrics_observe("roost_store_commit_seconds", NULL, NULL, (double)last_commit_us / 1e6);
		metrics_observe("roost_store_batch_ops", NULL, NULL, (double)n);
		atomic_fetch_add(&s->ops, n);

		pthread_mutex_lock(&s->lock);
		bool wake_loop = txn.nchanged > 0;
		if (txn.nchanged > 0) {
			s->feed = xgrow(s->feed, &s->feed_cap, s->nfeed + txn.nchanged, sizeof(*s->feed));
			memcpy(s->feed + s->nfeed, txn.changed, txn.nchanged * sizeof(*s->feed));
			s->nfeed += txn.nchanged;
		}
		bool any_sync = false;
		for (size_t i = 0; i < n; i++) {
			struct store_op *op = batch[i];
			op->next = NULL;
			/* new content to index */
			if (op->err == STORE_OK &&
			    (op->kind == STORE_OP_DELIVER || op->kind == STORE_OP_MULTI))
				store_indexer_wake(s);
			if (op->done == NULL) {
				((struct sync_wait *)op->done_ctx)->done = true;
				any_sync = true;
			} else {
				if (s->done_tail)
					s->done_tail->next = op;
				else
					s->done_head = op;
				s->done_tail = op;
				wake_loop = true;
			}
		}
		if (any_sync)
			pthread_cond_broadcast(&s->done_cond);
		pthread_mutex_unlock(&s->lock);
		if (wake_loop)
			event_active(s->done_ev, EV_READ, 0);
	}
	free(batch);
	free(txn.changed);
	free(txn.content_new);
	free(txn.content_drop);
	return NULL;
}

/*
 * Checkpoints copy the WAL back into the database file and sync it. Done
 * inside a commit they would stall every op of that batch; a thread of
 * their own overlaps them with the writer's commits.
 */
#define STORE_CHECKPOINT_INTERVAL_MS 200

static void *checkpointer_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += STORE_CHECKPOINT_INTERVAL_MS * 1000000L;
		deadline.tv_sec += deadline.tv_nsec / 1000000000;
		deadline.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&s->checkpoint_cond, &s->lock, &deadline);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->lock);
		sqlite3_wal_checkpoint_v2(db_sqlite(s->cdb), NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int store_writer_start(struct store *s, struct event_base *base)
{
	/* The WAL checkpointer is SQLite's; other backends have none. */
	char *error = NULL;
	if (db_sqlite(s->wdb) == NULL) {
		s->cdb = NULL;
	} else if (db_open(DB_SQLITE, s->db_path, 0, &s->cdb, &error) == DB_OK) {
		sqlite3_busy_timeout(db_sqlite(s->cdb), 1000);
		store_exec(s->cdb, "PRAGMA synchronous=FULL", NULL);
		/* no checkpointer thread: SQLite checkpoints inside commits */
		int rc = pthread_create(&s->checkpointer, NULL, checkpointer_main, s);
		if (rc == 0) {
			store_exec(s->wdb, "PRAGMA wal_autocheckpoint=0", NULL);
		} else {
			log_warn("store: no checkpointer thread: %s", strerror(rc));
			db_close(s->cdb);
			s->cdb = NULL;
		}
	} else {
		log_warn("store: no checkpointer connection: %s", error);
		free(error);
		s->cdb = NULL;
	}
	s->base = base;
	s->done_ev = event_new(base, -1, 0, done_cb, s);
	s->stopping = false;
	store_feed_nodes_start(s);
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
		store_feed_nodes_stop(s);
		event_free(s->done_ev);
		s->done_ev = NULL;
		s->base = NULL;
		return -1;
	}
	s->writer_running = true;
	store_indexer_start(s);
	return 0;
}

void store_writer_stop(struct store *s)
{
	if (!s->writer_running)
		return;
	/* nothing may queue for the loop once done_ev is gone */
	store_feed_nodes_stop(s);
	/* the indexer writes through the writer: stop it first */
	store_indexer_stop(s);
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_cond_broadcast(&s->checkpoint_cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	if (s->cdb != NULL) {
		pthread_join(s->checkpointer, NULL);
		sqlite3_wal_checkpoint_v2(db_sqlite(s->cdb), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		db_close(s->cdb);
		s->cdb = NULL;
		store_exec(s->wdb, "PRAGMA wal_autocheckpoint=1000", NULL);
	}
	s->writer_running = false;
	/* Complete what the loop has not run yet (callbacks may free ops). */
	done_cb(-1, 0, s);
	event_free(s->done_ev);
	s->done_ev = NULL;
	s->base = NULL;
}

static void enqueue(struct store *s, struct store_op *op)
{
	pthread_mutex_lock(&s->lock);
	op->next = NULL;
	if (s->queue_tail)
		s->queue_tail->next = op;
	else
		s->queue_head = op;
	s->queue_tail = op;
	s->queue_len++;
	/* broadcast: the checkpointer waits on the same cond; a signal could
	 * wake it instead of the writer and leave the op queued. */
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void store_submit(struct store *s, struct store_op *op, void (*done)(struct store_op *op, void *ctx),
		  void *ctx)
{
	if (!s->writer_running)
		fatal("store_submit without a writer thread");
	store_op_prepare(s, op);
	op->done = done;
	op->done_ctx = ctx;
	enqueue(s, op);
}

enum store_err store_run(struct store *s, struct store_op *op)
{
	store_op_prepare(s, op);
	if (s->writer_running) {
		struct sync_wait w = {false};
		op->done = NULL;
		op->done_ctx = &w;
		enqueue(s, op);
		pthread_mutex_lock(&s->lock);
		while (!w.done)
			pthread_cond_wait(&s->done_cond, &s->lock);
		pthread_mutex_unlock(&s->lock);
		op->done_ctx = NULL;
		return op->err;
	}
	/* No writer thread: this process is the only writer (the daemon
	 * is not running), a transaction of our own. */
	pthread_mutex_lock(&s->run_lock);
	struct store_txn txn = {0};
	store_run_batch(s, &op, 1, &txn);
	atomic_fetch_add(&s->ops, 1);
	free(txn.changed);
	free(txn.content_new);
	free(txn.content_drop);
	pthread_mutex_unlock(&s->run_lock);
	return op->err;
}
