/*
 * store-nodelock: locks that hold across every node of a shared
 * PostgreSQL database, for as long as this node wants them (store.h,
 * store_nodelock_take). They are session-level advisory locks on one
 * connection of this node: PostgreSQL drops them when that connection
 * closes, so a node that dies frees its locks by itself.
 *
 * One thread owns the connection (opened on first use) and answers the
 * callers' requests in order; callers wait for an answer with a deadline
 * and never hold the mutex across a round trip, so a database that stops
 * answering costs a caller at most the deadline, never the event loop.
 * A take whose caller stopped waiting is undone when its answer comes.
 * A connection found broken (a failed round trip, or the idle ping) has
 * lost its locks: that is logged, a new one is opened and every lock
 * still wanted is taken again; one that another node took meanwhile is
 * lost, and logged. On SQLite one daemon owns the data directory: every
 * lock is taken at once and the callers' own in-process locks are the
 * whole story.
 */
#include "store/store-internal.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef ROOST_HAVE_PG
#include <libpq-fe.h>
#endif

/* Locks one node may hold at once (POP3 sessions, the queue sender). */
#define STORE_NODELOCK_MAX 100000
/* Takes waiting for the thread at once; past it the database is not
 * keeping up, and a take fails at once (releases always queue: there
 * are never more of them than locks held). */
#define STORE_NODELOCK_QUEUE_MAX 1000
/* Seconds to wait for the database when (re)connecting (libpq's least). */
#define STORE_NODELOCK_CONNECT_TIMEOUT_S 2
/* Between connection attempts while the database is away, doubling. */
#define STORE_NODELOCK_RETRY_MIN_MS 100
#define STORE_NODELOCK_RETRY_MAX_MS 5000
/* An idle connection holding locks is checked this often, so a lost one
 * (and its lost locks) is found and taken again without waiting for use. */
#define STORE_NODELOCK_PING_MS 5000
/* Longest conninfo the lock connection is opened with. */
#define STORE_NODELOCK_CONNINFO_MAX 8192
/* How long freeing the store waits for a thread stuck on the database. */
#define STORE_NODELOCK_STOP_WAIT_MS 2000

enum nodelock_stmt { LOCK_TRY, LOCK_UNLOCK, LOCK_PING, LOCK_NSTMTS };
static const char *const stmt_sql[LOCK_NSTMTS] = {
	[LOCK_TRY] = "SELECT pg_try_advisory_lock(?1)",
	[LOCK_UNLOCK] = "SELECT pg_advisory_unlock(?1)",
	[LOCK_PING] = "SELECT true",
};

enum req_kind { REQ_TAKE, REQ_RELEASE };

struct nodelock_req {
	struct nodelock_req *next;
	enum req_kind kind;
	int64_t key;
	enum store_err err;	/* a take's answer */
	bool done;		/* answered */
	bool abandoned;		/* nobody waits: the thread frees it */
};

struct store_nodelocks {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* to the thread: a request, a ping, stop */
	pthread_cond_t answered;	/* to callers: a request is done */
	bool started, stopping, ping_wanted;
	pthread_t thread;
	char *conninfo;			/* the thread's copy */
	struct nodelock_req *head, *tail;
	size_t queued_takes;
	int64_t busy_since_ms;		/* a request being served since; 0 none */
	/* Wanted locks; held on the server while `connected`. Only the
	 * thread changes them (under the mutex). */
	int64_t *keys;
	size_t n, cap;
	bool connected;

	/* the thread's own */
	struct db *db;
	struct db_stmt *st[LOCK_NSTMTS];
	int64_t retry_at_ms, retry_ms, last_trip_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec deadline_in(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* One bigint key per lock: the class in the top bits, far from the
 * writer's batch lock (store-writer.c). */
static int64_t key_of(enum store_nodelock_class class, int64_t id)
{
	return (int64_t)(((uint64_t)class << 48) | ((uint64_t)id & 0xffffffffffffull));
}

static ssize_t find(const struct store_nodelocks *l, int64_t key)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->keys[i] == key)
			return (ssize_t)i;
	return -1;
}

/*
 * The thread's side. Round trips run without the mutex; the key list
 * and the answers change under it.
 */

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

/* The connection broke: its locks went with it. */
static void lost(struct store_nodelocks *l)
{
	disconnect(l);
	pthread_mutex_lock(&l->lock);
	bool had = l->connected;
	l->connected = false;
	size_t n = l->n;
	pthread_mutex_unlock(&l->lock);
	if (had)
		log_warn("store: node locks: connection lost; its %zu lock(s) are gone until taken"
			 " again", n);
	/* the first attempt at once */
	l->retry_ms = STORE_NODELOCK_RETRY_MIN_MS;
	l->retry_at_ms = 0;
}

/* A statement's one boolean answer: 1 true, 0 false, -1 failed (the
 * connection is then closed: it is broken, or in a state we do not know). */
static int ask(struct store_nodelocks *l, enum nodelock_stmt which, int64_t key)
{
	if (l->db == NULL)
		return -1;
	if (l->st[which] == NULL && db_prepare(l->db, stmt_sql[which], &l->st[which]) != DB_OK) {
		lost(l);
		return -1;
	}
	struct db_stmt *st = l->st[which];
	if (which != LOCK_PING)
		db_bind_int64(st, 1, key);
	int rc = db_step(st), v = -1;
	if (rc == DB_ROW)
		v = db_column_int(st, 0) != 0;
	db_reset(st);
	l->last_trip_ms = now_ms();
	if (v < 0)
		lost(l);
	return v;
}

/* A connection, with every wanted lock taken again. false: the database
 * does not answer (the next attempt waits its turn). */
static bool ensure_connected(struct store_nodelocks *l)
{
	if (l->db != NULL)
		return true;
	int64_t now = now_ms();
	if (now < l->retry_at_ms)
		return false;
	char *error = NULL;
	/* our own reconnecting: the locks must be taken again */
	if (db_open(DB_POSTGRESQL, l->conninfo, DB_OPEN_NO_RECONNECT, &l->db, &error) != DB_OK) {
		log_warn("store: node locks: cannot connect: %s", error != NULL ? error : "?");
		free(error);
		l->db = NULL;
		l->retry_at_ms = now + l->retry_ms;
		l->retry_ms = l->retry_ms * 2 > STORE_NODELOCK_RETRY_MAX_MS ?
			STORE_NODELOCK_RETRY_MAX_MS : l->retry_ms * 2;
		return false;
	}
	/* l->keys changes only on this thread: read without the mutex */
	size_t want = l->n;
	int64_t *keep = xcalloc(want + 1, sizeof(*keep));
	size_t nkeep = 0;
	for (size_t i = 0; i < want; i++) {
		int v = ask(l, LOCK_TRY, l->keys[i]);
		if (v < 0) {
			free(keep);
			return false; /* gone again: all still wanted */
		}
		if (v == 1)
			keep[nkeep++] = l->keys[i];
		else
			log_warn("store: node locks: lock %" PRIx64 " lost: another node took it",
				 (uint64_t)l->keys[i]);
	}
	pthread_mutex_lock(&l->lock);
	if (nkeep > 0)
		memcpy(l->keys, keep, nkeep * sizeof(*keep));
	l->n = nkeep;
	l->connected = true;
	pthread_mutex_unlock(&l->lock);
	free(keep);
	if (want > 0)
		log_warn("store: node locks: connected again; %zu of %zu lock(s) taken again", nkeep,
			 want);
	l->retry_ms = STORE_NODELOCK_RETRY_MIN_MS;
	return true;
}

/* Answer r (mutex held): the caller wakes, or nobody waits and it goes. */
static void answer(struct store_nodelocks *l, struct nodelock_req *r)
{
	if (r->abandoned) {
		free(r);
		return;
	}
	r->done = true;
	pthread_cond_broadcast(&l->answered);
}

static void serve_take(struct store_nodelocks *l, struct nodelock_req *r)
{
	pthread_mutex_lock(&l->lock);
	if (r->abandoned) {
		free(r); /* its caller gave up before it was served */
		pthread_mutex_unlock(&l->lock);
		return;
	}
	bool have = find(l, r->key) >= 0, full = l->n >= STORE_NODELOCK_MAX;
	pthread_mutex_unlock(&l->lock);
	int v = -1;
	if (!have && !full) {
		if (ensure_connected(l))
			v = ask(l, LOCK_TRY, r->key);
		/* a broken connection: once more on a new one */
		if (v < 0 && ensure_connected(l))
			v = ask(l, LOCK_TRY, r->key);
	}
	pthread_mutex_lock(&l->lock);
	bool undo = v == 1 && r->abandoned;
	if (v == 1 && !undo) {
		l->keys = xgrow(l->keys, &l->cap, l->n + 1, sizeof(*l->keys));
		l->keys[l->n++] = r->key;
	}
	/* this node holds it already: still one holder */
	r->err = have ? STORE_EINUSE : full ? STORE_ELIMIT :
		v == 1 ? STORE_OK : v == 0 ? STORE_EINUSE : STORE_ETEMP;
	int64_t key = r->key;
	answer(l, r);
	pthread_mutex_unlock(&l->lock);
	if (undo)
		(void)ask(l, LOCK_UNLOCK, key); /* its caller gave up */
}

static void serve_release(struct store_nodelocks *l, struct nodelock_req *r)
{
	pthread_mutex_lock(&l->lock);
	ssize_t i = find(l, r->key);
	if (i >= 0)
		l->keys[i] = l->keys[--l->n];
	bool held = i >= 0 && l->connected;
	int64_t key = r->key;
	pthread_mutex_unlock(&l->lock);
	/* on a broken connection it is gone already */
	if (held)
		(void)ask(l, LOCK_UNLOCK, key);
	pthread_mutex_lock(&l->lock);
	answer(l, r);
	pthread_mutex_unlock(&l->lock);
}

/* Idle (mutex held): check the connection or get it back while locks are
 * wanted; wait for work until that is due. */
static void idle(struct store_nodelocks *l)
{
	int64_t now = now_ms(), due = -1;
	if (l->n > 0 || l->ping_wanted)
		due = l->db == NULL ? l->retry_at_ms : l->last_trip_ms + STORE_NODELOCK_PING_MS;
	if (l->ping_wanted)
		due = l->db == NULL ? l->retry_at_ms : now;
	if (due >= 0 && due <= now) {
		l->ping_wanted = false;
		pthread_mutex_unlock(&l->lock);
		if (l->db != NULL)
			(void)ask(l, LOCK_PING, 0);
		(void)ensure_connected(l);
		pthread_mutex_lock(&l->lock);
		return;
	}
	if (due < 0) {
		pthread_cond_wait(&l->work, &l->lock);
	} else {
		struct timespec ts = deadline_in(due - now);
		pthread_cond_timedwait(&l->work, &l->lock, &ts);
	}
}

static void *lock_thread(void *arg)
{
	struct store_nodelocks *l = arg;
	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		struct nodelock_req *r = l->head;
		if (r == NULL) {
			idle(l);
			continue;
		}
		l->head = r->next;
		if (l->head == NULL)
			l->tail = NULL;
		if (r->kind == REQ_TAKE)
			l->queued_takes--;
		l->busy_since_ms = now_ms();
		pthread_mutex_unlock(&l->lock);
		if (r->kind == REQ_TAKE)
			serve_take(l, r);
		else
			serve_release(l, r);
		pthread_mutex_lock(&l->lock);
		l->busy_since_ms = 0;
	}
	pthread_mutex_unlock(&l->lock);
	disconnect(l); /* PostgreSQL frees every lock of this node */
	return NULL;
}

/*
 * The callers' side.
 */

#ifdef ROOST_HAVE_PG
/* The admin's conninfo (keywords or a URI) after this connection's own
 * defaults, as keywords (caller frees; the admin's settings win). Keepalives
 * find a database that vanished without a word (a network partition);
 * application_name tells an admin which node holds which lock (pg_locks
 * joined with pg_stat_activity). */
static char *lock_conninfo(const char *admin, char **error_r)
{
	char *perr = NULL, host[64] = "";
	PQconninfoOption *opts = PQconninfoParse(admin, &perr);
	if (opts == NULL) {
		*error_r = xasprintf("store.postgresql: %s", perr != NULL ? perr : "out of memory");
		PQfreemem(perr);
		return NULL;
	}
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	struct buf out;
	buf_init(&out, STORE_NODELOCK_CONNINFO_MAX);
	int bad = buf_printf(&out, "connect_timeout=%d keepalives_idle=30 keepalives_interval=10"
			     " keepalives_count=3 application_name='roost-locks %.32s:%ld'",
			     STORE_NODELOCK_CONNECT_TIMEOUT_S, strpbrk(host, "'\\ ") != NULL ? "" : host,
			     (long)getpid());
	for (PQconninfoOption *o = opts; o->keyword != NULL && bad == 0; o++) {
		if (o->val == NULL)
			continue;
		bad |= buf_printf(&out, " %s='", o->keyword);
		for (const char *p = o->val; *p != '\0'; p++) {
			if (*p == '\'' || *p == '\\')
				bad |= buf_putc(&out, '\\');
			bad |= buf_putc(&out, *p);
		}
		bad |= buf_putc(&out, '\'');
	}
	PQconninfoFree(opts);
	if (bad != 0) {
		buf_free(&out);
		*error_r = xasprintf("store.postgresql: longer than %d bytes",
				     STORE_NODELOCK_CONNINFO_MAX);
		return NULL;
	}
	return buf_steal(&out);
}
#else
static char *lock_conninfo(const char *admin, char **error_r)
{
	*error_r = xstrdup("built without PostgreSQL");
	return NULL;
}
#endif

/* The thread, once (mutex held). false: it cannot run (logged). */
static bool start(struct store *s, struct store_nodelocks *l)
{
	if (l->started)
		return true;
	char *error = NULL;
	if (l->conninfo == NULL && (l->conninfo = lock_conninfo(s->settings.pg_conninfo,
								  &error)) == NULL) {
		log_error("store: node locks: %s", error);
		free(error);
		return false;
	}
	l->retry_ms = STORE_NODELOCK_RETRY_MIN_MS;
	int rc = pthread_create(&l->thread, NULL, lock_thread, l);
	if (rc != 0) {
		log_error("store: node locks: cannot start the thread: %s", strerror(rc));
		return false;
	}
	l->started = true;
	return true;
}

static void enqueue(struct store_nodelocks *l, struct nodelock_req *r)
{
	if (l->tail != NULL)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	if (r->kind == REQ_TAKE)
		l->queued_takes++;
	pthread_cond_signal(&l->work);
}

/* Wait (mutex held) up to ms for r's answer. true: answered, and r is
 * the caller's to free; false: it is left to the thread. */
static bool wait_answer(struct store_nodelocks *l, struct nodelock_req *r, int64_t ms)
{
	struct timespec ts = deadline_in(ms);
	while (!r->done)
		if (pthread_cond_timedwait(&l->answered, &l->lock, &ts) == ETIMEDOUT)
			break;
	if (!r->done)
		r->abandoned = true;
	return r->done;
}

void store_nodelocks_init(struct store *s)
{
	struct store_nodelocks *l = xcalloc(1, sizeof(*l));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->work, &ca);
	pthread_cond_init(&l->answered, &ca);
	pthread_condattr_destroy(&ca);
	s->nodelocks = l;
}

void store_nodelocks_free(struct store *s)
{
	struct store_nodelocks *l = s->nodelocks;
	if (l == NULL)
		return;
	s->nodelocks = NULL;
	if (l->started) {
		pthread_mutex_lock(&l->lock);
		l->stopping = true;
		pthread_cond_signal(&l->work);
		pthread_mutex_unlock(&l->lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STORE_NODELOCK_STOP_WAIT_MS / 1000;
		if (pthread_timedjoin_np(l->thread, NULL, &ts) != 0) {
			/* stuck in a round trip: its state stays for it; the
			 * process is ending and closing closes its connection */
			log_warn("store: node locks: the database does not answer; not waiting");
			pthread_detach(l->thread);
			return;
		}
	}
	while (l->head != NULL) {
		struct nodelock_req *r = l->head;
		l->head = r->next;
		free(r);
	}
	pthread_cond_destroy(&l->work);
	pthread_cond_destroy(&l->answered);
	pthread_mutex_destroy(&l->lock);
	free(l->conninfo);
	free(l->keys);
	free(l);
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
	enum store_err err = STORE_ETEMP;
	pthread_mutex_lock(&l->lock);
	if (!start(s, l)) {
		pthread_mutex_unlock(&l->lock);
		return STORE_ETEMP;
	}
	if (l->queued_takes >= STORE_NODELOCK_QUEUE_MAX) {
		pthread_mutex_unlock(&l->lock);
		log_warn("store: node locks: %d takes wait for the database; refusing more",
			 STORE_NODELOCK_QUEUE_MAX);
		return STORE_ETEMP;
	}
	struct nodelock_req *r = xcalloc(1, sizeof(*r));
	r->kind = REQ_TAKE;
	r->key = key_of(class, id);
	enqueue(l, r);
	bool answered = wait_answer(l, r, STORE_NODELOCK_TAKE_WAIT_MS);
	if (answered) {
		err = r->err;
		free(r);
	}
	pthread_mutex_unlock(&l->lock);
	if (!answered)
		log_warn("store: node locks: no answer from the database within %d ms",
			 STORE_NODELOCK_TAKE_WAIT_MS);
	return err;
}

bool store_nodelock_held(struct store *s, enum store_nodelock_class class, int64_t id)
{
	if (!store_on_pg(s))
		return true;
	struct store_nodelocks *l = s->nodelocks;
	pthread_mutex_lock(&l->lock);
	bool held = l->connected && find(l, key_of(class, id)) >= 0;
	/* what the next call answers: the connection checked meanwhile */
	if (l->started) {
		l->ping_wanted = true;
		pthread_cond_signal(&l->work);
	}
	pthread_mutex_unlock(&l->lock);
	return held;
}

void store_nodelock_release(struct store *s, enum store_nodelock_class class, int64_t id)
{
	if (!store_on_pg(s))
		return;
	struct store_nodelocks *l = s->nodelocks;
	pthread_mutex_lock(&l->lock);
	if (!l->started) {
		pthread_mutex_unlock(&l->lock);
		return; /* nothing was ever taken */
	}
	struct nodelock_req *r = xcalloc(1, sizeof(*r));
	r->kind = REQ_RELEASE;
	r->key = key_of(class, id);
	enqueue(l, r);
	/* Waits a little, so that another node can take it as soon as the
	 * caller answers its client; not when the thread is stuck already. */
	int64_t busy = l->busy_since_ms;
	bool stuck = busy != 0 && now_ms() - busy >= STORE_NODELOCK_RELEASE_WAIT_MS;
	if (stuck)
		r->abandoned = true;
	else if (wait_answer(l, r, STORE_NODELOCK_RELEASE_WAIT_MS))
		free(r);
	pthread_mutex_unlock(&l->lock);
}
