/*
 * store-nodelock: locks that hold across every node of a shared
 * PostgreSQL database, for as long as this node wants them (store.h,
 * store_nodelock_take). They are session-level advisory locks on one
 * connection of this node, opened on first use: PostgreSQL drops them
 * when that connection closes, so a node that dies frees its locks by
 * itself. A connection found broken is opened again and every lock still
 * wanted is taken again; one that another node took meanwhile is lost,
 * and logged. On SQLite one daemon owns the data directory: every lock
 * is taken at once and the callers' own in-process locks are the whole
 * story.
 *
 * Calls are one round trip each (a mutex makes the connection usable
 * from any thread), short enough for the event loop as the store's
 * other reads are; connect_timeout bounds a database that is gone.
 */
#include "store/store-internal.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Locks one node may hold at once (POP3 sessions, the queue sender). */
#define STORE_NODELOCK_MAX 100000
/* Seconds to wait for the database when (re)connecting. */
#define STORE_NODELOCK_CONNECT_TIMEOUT_S 3

enum nodelock_stmt { LOCK_TRY, LOCK_UNLOCK, LOCK_PING, LOCK_NSTMTS };
static const char *const stmt_sql[LOCK_NSTMTS] = {
	[LOCK_TRY] = "SELECT pg_try_advisory_lock(?1)",
	[LOCK_UNLOCK] = "SELECT pg_advisory_unlock(?1)",
	[LOCK_PING] = "SELECT 1",
};

struct store_nodelocks {
	pthread_mutex_t lock;
	struct db *db;		/* NULL: not connected */
	struct db_stmt *st[LOCK_NSTMTS];	/* prepared on db */
	int64_t *keys;		/* held */
	size_t n, cap;
};

/* One bigint key per lock: the class in the top bits, far from the
 * writer's batch lock (store-writer.c). */
static int64_t key_of(enum store_nodelock_class class, int64_t id)
{
	return (int64_t)(((uint64_t)class << 48) | ((uint64_t)id & 0xffffffffffffull));
}

static void disconnect(struct store_nodelocks *l)
{
	for (int i = 0; i < LOCK_NSTMTS; i++) {
		if (l->st[i] != NULL)
			db_finalize(l->st[i]);
		l->st[i] = NULL;
	}
	if (l->db != NULL)
		db_close(l->db);
	l->db = NULL;
}

void store_nodelocks_init(struct store *s)
{
	s->nodelocks = xcalloc(1, sizeof(*s->nodelocks));
	pthread_mutex_init(&s->nodelocks->lock, NULL);
}

void store_nodelocks_free(struct store *s)
{
	struct store_nodelocks *l = s->nodelocks;
	if (l == NULL)
		return;
	disconnect(l);
	pthread_mutex_destroy(&l->lock);
	free(l->keys);
	free(l);
	s->nodelocks = NULL;
}

/* A statement's one boolean answer: 1 true, 0 false, -1 failed (the
 * connection is then closed: it is broken, or in a state we do not know). */
static int ask(struct store_nodelocks *l, enum nodelock_stmt which, int64_t key)
{
	if (l->db == NULL)
		return -1;
	struct db_stmt *st = l->st[which];
	if (st == NULL && db_prepare(l->db, stmt_sql[which], &l->st[which]) != DB_OK) {
		disconnect(l);
		return -1;
	}
	st = l->st[which];
	if (which != LOCK_PING)
		db_bind_int64(st, 1, key);
	int rc = db_step(st), v = -1;
	if (rc == DB_ROW)
		v = db_column_int(st, 0) != 0;
	db_reset(st);
	if (v < 0)
		disconnect(l);
	return v;
}

/* A new connection, with every wanted lock taken again (lock held).
 * false: the database does not answer. */
static bool reconnect(struct store *s, struct store_nodelocks *l)
{
	bool was = l->db != NULL || l->n > 0;
	disconnect(l);
	char *conninfo = xasprintf("connect_timeout=%d application_name=roost-locks %s",
				   STORE_NODELOCK_CONNECT_TIMEOUT_S, s->settings.pg_conninfo);
	char *error = NULL;
	/* our own reconnecting: the locks must be taken again */
	int rc = db_open(DB_POSTGRESQL, conninfo, DB_OPEN_NO_RECONNECT, &l->db, &error);
	free(conninfo);
	if (rc != DB_OK) {
		log_warn("store: node locks: cannot connect: %s", error);
		free(error);
		l->db = NULL;
		return false;
	}
	if (was && l->n > 0)
		log_warn("store: node locks: connection lost; taking %zu lock(s) again", l->n);
	size_t j = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (ask(l, LOCK_TRY, l->keys[i]) == 1)
			l->keys[j++] = l->keys[i];
		else
			log_warn("store: node locks: lock %" PRIx64 " lost (another node has it,"
				 " or the database went again)", (uint64_t)l->keys[i]);
	}
	l->n = j;
	return l->db != NULL;
}

static ssize_t find(const struct store_nodelocks *l, int64_t key)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->keys[i] == key)
			return (ssize_t)i;
	return -1;
}

bool store_backend_shared(const struct store *s)
{
	return store_on_pg(s);
}

enum store_err store_nodelock_take(struct store *s, enum store_nodelock_class class, int64_t id)
{
	if (!store_on_pg(s))
		return STORE_OK;
	struct store_nodelocks *l = s->nodelocks;
	int64_t key = key_of(class, id);
	enum store_err err;
	pthread_mutex_lock(&l->lock);
	if (find(l, key) >= 0) {
		err = STORE_EINUSE; /* this node holds it already: one holder */
	} else if (l->n >= STORE_NODELOCK_MAX) {
		err = STORE_ELIMIT;
	} else {
		int v = ask(l, LOCK_TRY, key);
		/* a broken connection: once more on a new one */
		if (v < 0 && reconnect(s, l))
			v = ask(l, LOCK_TRY, key);
		if (v == 1) {
			l->keys = xgrow(l->keys, &l->cap, l->n + 1, sizeof(*l->keys));
			l->keys[l->n++] = key;
		}
		err = v == 1 ? STORE_OK : v == 0 ? STORE_EINUSE : STORE_ETEMP;
	}
	pthread_mutex_unlock(&l->lock);
	return err;
}

bool store_nodelock_held(struct store *s, enum store_nodelock_class class, int64_t id)
{
	if (!store_on_pg(s))
		return true;
	struct store_nodelocks *l = s->nodelocks;
	pthread_mutex_lock(&l->lock);
	if (ask(l, LOCK_PING, 0) < 0)
		reconnect(s, l);
	bool held = l->db != NULL && find(l, key_of(class, id)) >= 0;
	pthread_mutex_unlock(&l->lock);
	return held;
}

void store_nodelock_release(struct store *s, enum store_nodelock_class class, int64_t id)
{
	if (!store_on_pg(s))
		return;
	struct store_nodelocks *l = s->nodelocks;
	int64_t key = key_of(class, id);
	pthread_mutex_lock(&l->lock);
	ssize_t i = find(l, key);
	if (i >= 0) {
		l->keys[i] = l->keys[--l->n];
		/* on a broken connection it is gone already */
		(void)ask(l, LOCK_UNLOCK, key);
	}
	pthread_mutex_unlock(&l->lock);
}
