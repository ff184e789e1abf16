/*
 * store: opening and closing the database, per-thread read connections,
 * the prepared-statement cache and error mapping. The writer lives in
 * store-writer.c, the ops in store-op-*.c, reads in store-read.c.
 */
#include "store/store-internal.h"
#include "store/store-content.h"
#include "store/store-recent.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "mail/mime-index.h"
#include <errno.h>
#include <sqlite3.h>
#include <event2/event.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a connection waits for a lock another process holds. */
#define STORE_BUSY_TIMEOUT_MS 10000
/* Bytes of the database file each connection may read through mmap. */
#define STORE_MMAP_SIZE "2147418112"

/*
 * Statements cached per thread, keyed by (connection, SQL text pointer).
 * A cached statement is never finalized while its connection is open: a
 * caller up the stack may still be stepping it, or hold it between
 * prepare and step, or between DB_DONE and its reset, and nothing
 * tells the cache when it is done (db_stmt_busy() sees only the
 * middle one). So the table grows instead of evicting. Its size is bounded
 * by the program's SQL string literals times the connections a thread
 * uses (one or two), since the SQL passed here is always a literal.
 * Statements leave it only when close_db() finalizes their connection's.
 */
#define STMT_CACHE_INITIAL 256

struct stmt_slot {
	struct db *db;
	const char *sql;	/* NULL: never used (ends a probe) */
	struct db_stmt *st;	/* NULL with sql set: stale, reusable */
	uint64_t generation;
};

static _Thread_local struct {
	struct stmt_slot *slots;
	size_t cap;		/* a power of two */
	size_t used;		/* slots with sql set, live or stale */
} stmt_cache;
/* Frees a thread's table when the thread ends. */
static pthread_key_t stmt_cache_key;
static pthread_once_t stmt_cache_once = PTHREAD_ONCE_INIT;

static void stmt_cache_key_init(void)
{
	if (pthread_key_create(&stmt_cache_key, free) != 0)
		fatal("store: pthread_key_create failed");
}
static _Thread_local struct {
	struct store *s;
	uint64_t generation;
	struct db *db;
} reader_tls;
static atomic_uint_fast64_t generation_counter = 1;
/* Connections closed since a slot was filled make it stale. */
static atomic_uint_fast64_t closed_generation;

const char *store_strerror(enum store_err err)
{
	switch (err) {
	case STORE_OK: return "ok";
	case STORE_ETEMP: return "temporary storage failure";
	case STORE_ENOTFOUND: return "not found";
	case STORE_EEXISTS: return "already exists";
	case STORE_EPERM: return "not permitted";
	case STORE_ENOQUOTA: return "over quota";
	case STORE_EEXPUNGED: return "message was expunged";
	case STORE_EINUSE: return "in use";
	case STORE_ELIMIT: return "limit exceeded";
	case STORE_ENOSPACE: return "disk full";
	case STORE_EINVAL: return "invalid argument";
	case STORE_ECORRUPT: return "database inconsistency (run roost check)";
	}
	return "unknown error";
}

enum store_err store_db_err(int rc)
{
	switch ((enum db_rc)rc) {
	case DB_OK:
	case DB_DONE:
	case DB_ROW: return STORE_OK;
	case DB_FULL: return STORE_ENOSPACE;
	case DB_BUSY: return STORE_EINUSE; /* someone else holds the lock */
	case DB_CORRUPT: return STORE_ECORRUPT;
	case DB_CONSTRAINT: return STORE_EEXISTS;
	case DB_TOOBIG: return STORE_ELIMIT;
	case DB_IOERR:
	case DB_ERROR: return STORE_ETEMP;
	}
	return STORE_ETEMP;
}

enum store_err store_step_err(int rc)
{
	enum store_err err = store_db_err(rc);
	return err == STORE_OK ? STORE_ETEMP : err;
}

int64_t store_now(void)
{
	return (int64_t)time(NULL);
}

static size_t stmt_hash(struct db *db, const char *sql, size_t cap)
{
	uint64_t h = ((uint64_t)(uintptr_t)sql >> 3) ^ ((uint64_t)(uintptr_t)db >> 4);
	h *= 0x9e3779b97f4a7c15ull;	/* spread the pointer bits over the table */
	return (size_t)(h >> 32) & (cap - 1);
}

/* The slot for (db, sql): its live entry, or where to put one. Entries
 * whose connection may have been closed since they were filled become
 * stale here (close_db() already finalized their statements). */
static struct stmt_slot *stmt_find(struct db *db, const char *sql, uint64_t closed)
{
	struct stmt_slot *reuse = NULL;
	for (size_t i = stmt_hash(db, sql, stmt_cache.cap);; i = (i + 1) & (stmt_cache.cap - 1)) {
		struct stmt_slot *slot = &stmt_cache.slots[i];
		if (slot->sql == NULL)
			return reuse != NULL ? reuse : slot;
		if (slot->st != NULL && slot->generation <= closed)
			slot->st = NULL;
		if (slot->st == NULL) {
			if (reuse == NULL)
				reuse = slot;
			continue;
		}
		if (slot->db == db && slot->sql == sql)
			return slot;
	}
}

/* Keep at most half the table used (the probe above then always ends);
 * stale entries are dropped on the way. */
static void stmt_cache_grow(uint64_t closed)
{
	struct stmt_slot *old = stmt_cache.slots;
	size_t old_cap = stmt_cache.cap;
	size_t live = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].st != NULL && old[i].generation > closed)
			live++;
	size_t cap = STMT_CACHE_INITIAL;
	while (cap < 4 * (live + 1))
		cap *= 2;
	stmt_cache.slots = xcalloc(cap, sizeof(*stmt_cache.slots));
	stmt_cache.cap = cap;
	stmt_cache.used = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].st == NULL || old[i].generation <= closed)
			continue;
		*stmt_find(old[i].db, old[i].sql, closed) = old[i];
		stmt_cache.used++;
	}
	free(old);
	pthread_once(&stmt_cache_once, stmt_cache_key_init);
	pthread_setspecific(stmt_cache_key, stmt_cache.slots);
}

struct db_stmt *store_prepare(struct db *db, const char *sql)
{
	uint64_t closed = atomic_load(&closed_generation);
	if (2 * (stmt_cache.used + 1) > stmt_cache.cap)
		stmt_cache_grow(closed);
	struct stmt_slot *slot = stmt_find(db, sql, closed);
	if (slot->st != NULL) {
		db_reset(slot->st);
		db_clear_bindings(slot->st);
		return slot->st;
	}
	struct db_stmt *st = NULL;
	int rc = db_prepare(db, sql, &st);
	if (rc != DB_OK) {
		log_error("store: prepare failed: %s: %s", db_errmsg(db), sql);
		return NULL;
	}
	if (slot->sql == NULL)
		stmt_cache.used++;
	slot->db = db;
	slot->sql = sql;
	slot->st = st;
	slot->generation = atomic_fetch_add(&generation_counter, 1) + 1;
	return st;
}

enum store_err store_exec(struct db *db, const char *sql, char **error_r)
{
	char *msg = NULL;
	int rc = db_exec(db, sql, &msg);
	if (rc == DB_OK)
		return STORE_OK;
	if (error_r != NULL)
		*error_r = xasprintf("database: %s", msg ? msg : db_errstr(rc));
	free(msg);
	return store_db_err(rc);
}

enum store_err store_insert_id(struct db_stmt *st, int64_t *id_r)
{
	int rc = db_step(st);
	int64_t id = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc != DB_ROW)
		return store_step_err(rc);
	*id_r = id;
	return STORE_OK;
}

enum store_err store_step_sql(struct db *db, const char *sql)
{
	struct db_stmt *st = store_prepare(db, sql);
	if (st == NULL)
		return STORE_ETEMP;
	int rc = db_step(st);
	db_reset(st);
	return store_db_err(rc);
}

enum store_err store_step_sql_deferred(struct db *db, const char *sql)
{
	struct db_stmt *st = store_prepare(db, sql);
	if (st == NULL)
		return STORE_ETEMP;
	int rc = db_step_deferred(st);
	db_reset(st);
	return store_db_err(rc);
}

/* How long a statement waits for a lock another process holds (an
 * admin's sqlite3 or psql session, a backup) before it fails as
 * DB_BUSY, which the protocols answer as a temporary error: SQLite's busy
 * timeout, PostgreSQL's lock_timeout (which never fires by default: a
 * writer would wait for ever). */
static enum store_err set_busy_timeout(struct db *db, int64_t ms, char **error_r)
{
	sqlite3 *h = db_sqlite(db);
	if (h != NULL) {
		sqlite3_busy_timeout(h, (int)ms);
		return STORE_OK;
	}
	char sql[64];
	snprintf(sql, sizeof(sql), "SET lock_timeout = %lld", (long long)ms);
	return store_exec(db, sql, error_r);
}

/* Opens a connection to the store's database with the settings every
 * connection shares: the SQLite file at path, or with a non-empty
 * pg_conninfo that PostgreSQL database. flags: DB_OPEN_*. */
static enum store_err open_db(const char *path, const char *pg_conninfo, int flags,
			      struct db **db_r, char **error_r)
{
	struct db *db = NULL;
	bool pg = pg_conninfo != NULL && pg_conninfo[0] != '\0';
	int rc = db_open(pg ? DB_POSTGRESQL : DB_SQLITE, pg ? pg_conninfo : path,
			 pg ? flags & ~DB_OPEN_CREATE : flags, &db, error_r);
	if (rc != DB_OK)
		return STORE_ETEMP;
	enum store_err terr = set_busy_timeout(db, STORE_BUSY_TIMEOUT_MS, error_r);
	/* A read transaction (BEGIN ... ROLLBACK around several SELECTs:
	 * a mailbox's state and its messages, `roost check`) sees one
	 * snapshot, as in SQLite's WAL mode; PostgreSQL's default, READ
	 * COMMITTED, would give each statement its own. Read-only
	 * transactions never fail to serialize. */
	if (terr == STORE_OK && pg && (flags & DB_OPEN_READONLY))
		terr = store_exec(db, "SET default_transaction_isolation = 'repeatable read'",
				  error_r);
	if (terr != STORE_OK) {
		db_close(db);
		return terr;
	}
	sqlite3 *h = db_sqlite(db);
	if (h != NULL) {
		/* synchronous=FULL: in WAL mode every commit syncs the WAL, so a
		 * commit that returned is on stable storage. */
		enum store_err err = store_exec(db,
						"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
						"PRAGMA foreign_keys=OFF; PRAGMA cache_size=-16000;"
						/* reads map the file instead of copying each page
						 * through pread (SQLite caps this at its compiled-in
						 * maximum, 2 GB in Debian's build): a third of a
						 * 100,000-message SEARCH or SORT was those copies */
						"PRAGMA mmap_size=" STORE_MMAP_SIZE ";",
						error_r);
		if (err != STORE_OK) {
			db_close(db);
			return err;
		}
	}
	*db_r = db;
	return STORE_OK;
}

static void close_db(struct db *db)
{
	if (db == NULL)
		return;
	/* Statements cached anywhere for this connection become stale;
	 * db_close finalizes them. */
	atomic_store(&closed_generation, atomic_fetch_add(&generation_counter, 1) + 1);
	db_close(db);
}

/* PostgreSQL: the schema into an empty database (one that has no meta
 * table: a second init against the same database is refused). */
static enum store_err create_pg(const char *conninfo, char **error_r)
{
	struct db *db;
	enum store_err err = open_db(NULL, conninfo, 0, &db, error_r);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = NULL;
	int rc = db_prepare(db, "SELECT count(*) FROM pg_catalog.pg_tables"
				" WHERE schemaname = current_schema() AND tablename = 'meta'", &st);
	if (rc == DB_OK)
		rc = db_step(st);
	int64_t n = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_finalize(st);
	if (rc != DB_ROW) {
		*error_r = xasprintf("database: %s", db_errmsg(db));
		err = store_db_err(rc) == STORE_OK ? STORE_ETEMP : store_db_err(rc);
	} else if (n > 0) {
		*error_r = xstrdup("the PostgreSQL database already holds a Roost store");
		err = STORE_EEXISTS;
	} else {
		err = store_schema_create(db, error_r);
	}
	close_db(db);
	return err;
}

enum store_err store_create(const char *dir, const char *pg_conninfo, char **error_r)
{
	if (pg_conninfo != NULL && pg_conninfo[0] != '\0')
		return create_pg(pg_conninfo, error_r);
	char *path = xasprintf("%s/%s", dir, STORE_DB_FILE);
	struct stat st;
	if (stat(path, &st) == 0) {
		*error_r = xasprintf("%s already exists", path);
		free(path);
		return STORE_EEXISTS;
	}
	struct db *db;
	enum store_err err = open_db(path, NULL, DB_OPEN_CREATE, &db, error_r);
	if (err == STORE_OK) {
		err = store_schema_create(db, error_r);
		close_db(db);
	}
	if (err == STORE_OK)
		chmod(path, 0600);
	free(path);
	return err;
}

enum store_err store_open(const char *dir, const struct store_settings *settings,
			  struct store **store_r, char **error_r)
{
	mime_index_global_init();
	struct store *s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	s->db_path = xasprintf("%s/%s", dir, STORE_DB_FILE);
	s->settings = *settings;
	s->generation = atomic_fetch_add(&generation_counter, 1) + 1;
	pthread_mutex_init(&s->readers_lock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->run_lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_cond_init(&s->done_cond, NULL);
	pthread_cond_init(&s->checkpoint_cond, NULL);
	pthread_cond_init(&s->indexer_cond, NULL);
	store_recent_init(s);
	store_nodelocks_init(s);
	struct stat st;
	enum store_err err;
	if (store_on_pg(s)) {
		err = open_db(NULL, s->settings.pg_conninfo, 0, &s->wdb, error_r);
	} else if (stat(s->db_path, &st) < 0) {
		*error_r = xasprintf("%s: %s", s->db_path, strerror(errno));
		err = STORE_ENOTFOUND;
	} else {
		err = open_db(s->db_path, NULL, 0, &s->wdb, error_r);
	}
	if (err == STORE_OK)
		err = store_schema_check(s->wdb, store_on_pg(s) ? "the PostgreSQL store" : s->db_path,
					 error_r);
	if (err == STORE_OK && store_content_in_files(s))
		err = store_content_dir_check(s, error_r);
	if (err == STORE_OK) {
		store_writer_guard_commits(s);
		if (settings->busy_timeout_ms > 0)
			err = set_busy_timeout(s->wdb, settings->busy_timeout_ms, error_r);
	}
	if (err != STORE_OK) {
		store_close(&s);
		return err;
	}
	*store_r = s;
	return STORE_OK;
}

struct db *store_reader(struct store *s)
{
	if (reader_tls.s == s && reader_tls.generation == s->generation)
		return reader_tls.db;
	struct db *db;
	char *error = NULL;
	/* On PostgreSQL a database that is away now gives a connection that
	 * reconnects by itself (DB_OPEN_LAZY): reads fail meanwhile. */
	if (open_db(s->db_path, s->settings.pg_conninfo, DB_OPEN_READONLY | DB_OPEN_LAZY, &db,
		    &error) != STORE_OK) {
		/* SQLite: cannot serve reads at all: the data directory is gone. */
		fatal("store: cannot open a read connection: %s", error);
	}
	pthread_mutex_lock(&s->readers_lock);
	s->readers = xgrow(s->readers, &s->readers_cap, s->nreaders + 1, sizeof(*s->readers));
	s->readers[s->nreaders++] = db;
	pthread_mutex_unlock(&s->readers_lock);
	reader_tls.s = s;
	reader_tls.generation = s->generation;
	reader_tls.db = db;
	return db;
}

void store_writer_stop(struct store *s);

void store_close(struct store **sp)
{
	struct store *s = *sp;
	if (s == NULL)
		return;
	store_writer_stop(s);
	for (size_t i = 0; i < s->nreaders; i++)
		close_db(s->readers[i]);
	free(s->readers);
	close_db(s->wdb);
	if (reader_tls.s == s)
		reader_tls.s = NULL;
	pthread_mutex_destroy(&s->readers_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->run_lock);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->done_cond);
	pthread_cond_destroy(&s->checkpoint_cond);
	pthread_cond_destroy(&s->indexer_cond);
	store_recent_free(s);
	store_nodelocks_free(s);
	free(s->feed);
	free(s->dir);
	free(s->db_path);
	free(s);
	*sp = NULL;
}

void store_get_stats(struct store *s, struct store_stats *stats_r)
{
	stats_r->commits = atomic_load(&s->commits);
	stats_r->ops = atomic_load(&s->ops);
}

enum store_err store_next_uidvalidity(struct db *db, uint32_t *uidvalidity_r)
{
	/* Time-based so a recreated database rarely repeats old values, and
	 * strictly increasing so a recreated mailbox always differs. */
	struct db_stmt *st = store_prepare(db, "SELECT value FROM meta WHERE key = 'uidvalidity'");
	if (st == NULL)
		return STORE_ETEMP;
	int rc = db_step(st);
	uint32_t last = rc == DB_ROW ? (uint32_t)db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? STORE_ECORRUPT : store_step_err(rc);
	uint32_t now = (uint32_t)store_now();
	uint32_t next = now > last ? now : last + 1;
	if (next == 0)
		next = 1;
	st = store_prepare(db, "UPDATE meta SET value = ?1 WHERE key = 'uidvalidity'");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, next);
	rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_step_err(rc);
	*uidvalidity_r = next;
	return STORE_OK;
}

int64_t store_effective_quota(const struct store *s, int64_t value, bool is_null, bool bytes)
{
	if (is_null)
		return bytes ? s->settings.default_quota_bytes : s->settings.default_quota_messages;
	return value;
}
