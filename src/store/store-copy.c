/*
 * store-copy: the whole store into a new one on the other backend (see
 * store-copy.h). The target's schema is made by store_create and its rows
 * written through its writer in one transaction: the server's rows here
 * (domains, aliases, the outbound queue, the UIDVALIDITY and OBJECTID
 * counters), each account by store-restore.c's copy (new account and
 * mailbox ids, everything a client sees kept, content shared by hash).
 * The source is read in one snapshot (a read transaction), its rows
 * streamed (store_src_rows), message and queue bytes one at a time.
 *
 * All or nothing: a SQLite target is built as DIR/store-copy.tmp/roost.db
 * and linked into place only when whole (link, not rename: an existing
 * roost.db is never replaced). A PostgreSQL target first commits its
 * schema with the schema version replaced by INCOMPLETE_MARK, so a store
 * that a failed or killed copy leaves there never opens; the copy's last
 * statement, in the same transaction as every row, puts the version back.
 * Search indexes are not copied: every content arrives with fts = 0 and
 * the daemon's indexer rebuilds them.
 */
#include "store/store-copy.h"
#include "lib/alloc.h"
#include "store/store-internal.h"
#include "store/store-private.h"
#include "store/db/db.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* the SQLite target's working directory, under DIR */
#define COPY_TMP_DIR "store-copy.tmp"
/* the PostgreSQL target's schema version until the copy commits (at most
 * 32 bytes: the version check quotes that much when it refuses it) */
#define INCOMPLETE_MARK "incomplete roost store copy"

struct copy_args {
	struct db *src;
	const char *src_name;
	bool unmark;			/* PostgreSQL target: restore the version */
	struct store_copy_counts counts;
	int64_t *acct_old, *acct_new;	/* acct_old ascending */
	size_t nacct, cap;
};

static enum store_err src_fail(struct copy_args *a, int rc, char **error_r)
{
	if (*error_r == NULL)
		*error_r = xasprintf("%s: %s", a->src_name, db_errmsg(a->src));
	enum store_err err = store_db_err(rc);
	return err == STORE_OK ? STORE_ETEMP : err;
}

static enum store_err run_done(struct db_stmt *st)
{
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

/* One integer from a one-row query on the source, ?1 bound to id. */
static int src_int(struct db *src, const char *sql, int64_t id, int64_t *v_r)
{
	struct db_stmt *st = NULL;
	int rc = db_prepare(src, sql, &st);
	if (rc == DB_OK) {
		db_bind_int64(st, 1, id);
		rc = db_step(st);
	}
	if (rc == DB_ROW)
		*v_r = db_column_int64(st, 0);
	db_finalize(st);
	return rc;
}

static int64_t map_account(const struct copy_args *a, int64_t old)
{
	size_t lo = 0, hi = a->nacct;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->acct_old[mid] == old)
			return a->acct_new[mid];
		if (a->acct_old[mid] < old)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;	/* none (0), or an account deleted since: none */
}

/* Rows of a parameterless SELECT into an INSERT of the same columns. */
static enum store_err copy_plain(struct store_txn *txn, struct copy_args *a, const char *select_sql,
				 const char *insert_sql, size_t *n_r, char **error_r)
{
	struct store_src_rows r;
	int rc = store_src_rows_open(&r, a->src, select_sql);
	struct db_stmt *ins = store_prepare(store_txn_db(txn), insert_sql);
	enum store_err err = rc != DB_OK ? src_fail(a, rc, error_r)
			     : ins == NULL ? STORE_ETEMP : STORE_OK;
	while (err == STORE_OK && (rc = store_src_rows_step(&r)) == DB_ROW) {
		struct db_stmt *q = store_src_rows_row(&r);
		for (int i = 0; i < db_column_count(q); i++)
			db_bind_column(ins, i + 1, q, i);
		err = run_done(ins);
		(*n_r)++;
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = src_fail(a, rc, error_r);
	store_src_rows_close(&r);
	return err;
}

static enum store_err copy_accounts(struct store_txn *txn, struct copy_args *a, char **error_r)
{
	struct store_src_rows r;
	int rc = store_src_rows_open(&r, a->src, "SELECT id, address FROM accounts ORDER BY id");
	enum store_err err = rc != DB_OK ? src_fail(a, rc, error_r) : STORE_OK;
	while (err == STORE_OK && (rc = store_src_rows_step(&r)) == DB_ROW) {
		struct db_stmt *q = store_src_rows_row(&r);
		const char *address = db_column_text(q, 1);
		if (address == NULL) {
			*error_r = xasprintf("%s: an account without an address", a->src_name);
			err = STORE_ECORRUPT;
			break;
		}
		char *addr = xstrdup(address);
		struct store_restore_result res;
		err = store_restore_account_txn(txn, a->src, a->src_name, addr, &res, error_r);
		if (err != STORE_OK && *error_r != NULL) {
			char *e = xasprintf("%s: %s", addr, *error_r);
			free(*error_r);
			*error_r = e;
		}
		free(addr);
		if (err != STORE_OK)
			break;
		a->acct_old = xgrow(a->acct_old, &a->cap, a->nacct + 1, sizeof(*a->acct_old));
		a->acct_new = xrealloc(a->acct_new, a->cap * sizeof(*a->acct_new));
		a->acct_old[a->nacct] = res.old_account_id;
		a->acct_new[a->nacct++] = res.new_account_id;
		a->counts.accounts++;
		a->counts.mailboxes += res.nmailboxes;
		a->counts.messages += res.nmessages;
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = src_fail(a, rc, error_r);
	store_src_rows_close(&r);
	return err;
}

/* One queued message's recipients, under its new id. */
static enum store_err copy_rcpts(struct store_txn *txn, struct copy_args *a, int64_t old_id,
				 int64_t new_id, char **error_r)
{
	struct store_src_rows r;
	int rc = store_src_rows_open(&r, a->src,
				     "SELECT address, domain, orcpt, notify, status, attempts,"
				     " next_attempt, last_reply, updated FROM queue_rcpts"
				     " WHERE queue_id = ?1 ORDER BY id");
	struct db_stmt *ins = store_prepare(store_txn_db(txn),
		"INSERT INTO queue_rcpts (queue_id, address, domain, orcpt, notify, status,"
		" attempts, next_attempt, last_reply, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	enum store_err err = rc != DB_OK ? src_fail(a, rc, error_r)
			     : ins == NULL ? STORE_ETEMP : STORE_OK;
	if (err == STORE_OK)
		db_bind_int64(store_src_rows_stmt(&r), 1, old_id);
	while (err == STORE_OK && (rc = store_src_rows_step(&r)) == DB_ROW) {
		struct db_stmt *q = store_src_rows_row(&r);
		db_bind_int64(ins, 1, new_id);
		for (int i = 0; i < 9; i++)
			db_bind_column(ins, i + 2, q, i);
		err = run_done(ins);
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = src_fail(a, rc, error_r);
	store_src_rows_close(&r);
	return err;
}

/* The outbound queue: new ids, the submitting account mapped. */
static enum store_err copy_queue(struct store_txn *txn, struct copy_args *a, char **error_r)
{
	struct store_src_rows r;
	int rc = store_src_rows_open(&r, a->src,
				     "SELECT id, account_id, return_path, envid, ret_full, created,"
				     " state, delay_notified, size, message_id, requiretls"
				     " FROM queue_messages ORDER BY id");
	enum store_err err = rc != DB_OK ? src_fail(a, rc, error_r) : STORE_OK;
	while (err == STORE_OK && (rc = store_src_rows_step(&r)) == DB_ROW) {
		struct db_stmt *q = store_src_rows_row(&r);
		int64_t old_id = db_column_int64(q, 0);
		/* the bytes apart, one message at a time (memory) */
		struct db_stmt *d = NULL;
		rc = db_prepare(a->src, "SELECT data FROM queue_messages WHERE id = ?1", &d);
		if (rc == DB_OK) {
			db_bind_int64(d, 1, old_id);
			rc = db_step(d);
		}
		if (rc != DB_ROW) {
			db_finalize(d);
			err = src_fail(a, rc == DB_DONE ? DB_CORRUPT : rc, error_r);
			break;
		}
		struct db_stmt *ins = store_prepare(store_txn_db(txn),
			"INSERT INTO queue_messages (account_id, return_path, envid, ret_full,"
			" created, state, delay_notified, size, message_id, requiretls, data)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id");
		int64_t new_id = 0;
		if (ins == NULL) {
			err = STORE_ETEMP;
		} else {
			db_bind_int64(ins, 1, map_account(a, db_column_int64(q, 1)));
			for (int i = 2; i <= 10; i++)
				db_bind_column(ins, i, q, i);
			db_bind_column(ins, 11, d, 0);
			err = store_insert_id(ins, &new_id);
		}
		db_finalize(d);
		if (err == STORE_OK)
			err = copy_rcpts(txn, a, old_id, new_id, error_r);
		a->counts.queued++;
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = src_fail(a, rc, error_r);
	store_src_rows_close(&r);
	return err;
}

/* The counters new ids come from: never below the source's, so no
 * UIDVALIDITY or EMAILID/THREADID the source handed out comes back. */
static enum store_err copy_counters(struct store_txn *txn, struct copy_args *a, char **error_r)
{
	static const char *const keys[] = {"uidvalidity", "objectid"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct db_stmt *q = NULL;
		int rc = db_prepare(a->src, "SELECT CAST(value AS BIGINT) FROM meta WHERE key = ?1", &q);
		if (rc == DB_OK) {
			db_bind_text(q, 1, keys[i], -1, true);
			rc = db_step(q);
		}
		int64_t v = rc == DB_ROW ? db_column_int64(q, 0) : 0;
		db_finalize(q);
		if (rc != DB_ROW)
			return src_fail(a, rc == DB_DONE ? DB_CORRUPT : rc, error_r);
		struct db_stmt *st = store_prepare(store_txn_db(txn),
						   "UPDATE meta SET value = CAST(?1 AS TEXT)"
						   " WHERE key = ?2 AND CAST(value AS BIGINT) < ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, v);
		db_bind_text(st, 2, keys[i], -1, true);
		enum store_err err = run_done(st);
		if (err != STORE_OK)
			return err;
	}
	return STORE_OK;
}

static enum store_err set_version(struct store_txn *txn, const char *value)
{
	struct db_stmt *st = store_prepare(store_txn_db(txn),
					   "UPDATE meta SET value = ?1 WHERE key = 'schema_version'");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, value, -1, false);
	return run_done(st);
}

static enum store_err fn_mark(struct store_txn *txn, void *arg, char **error_r)
{
	(void)arg;
	(void)error_r;
	return set_version(txn, INCOMPLETE_MARK);
}

static enum store_err fn_copy(struct store_txn *txn, void *arg, char **error_r)
{
	struct copy_args *a = arg;
	enum store_err err = copy_plain(txn, a, "SELECT name, catchall FROM domains ORDER BY id",
					"INSERT INTO domains (name, catchall) VALUES (?1, ?2)",
					&a->counts.domains, error_r);
	if (err == STORE_OK)
		err = copy_plain(txn, a, "SELECT alias, target FROM aliases",
				 "INSERT INTO aliases (alias, target) VALUES (?1, ?2)",
				 &a->counts.aliases, error_r);
	if (err == STORE_OK)
		err = copy_accounts(txn, a, error_r);
	if (err == STORE_OK)
		err = copy_queue(txn, a, error_r);
	if (err == STORE_OK)
		err = copy_counters(txn, a, error_r);
	if (err == STORE_OK && a->unmark) {
		char version[24];
		snprintf(version, sizeof(version), "%ld", store_schema_current());
		err = set_version(txn, version);
	}
	return err;
}

static enum store_err run_func(struct store *s,
			       enum store_err (*fn)(struct store_txn *, void *, char **), void *arg,
			       char **error_r)
{
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = fn;
	op.u.func.arg = arg;
	enum store_err err = store_run(s, &op);
	if (err != STORE_OK && *error_r == NULL)
		*error_r = xstrdup(op.error != NULL ? op.error : store_strerror(err));
	store_op_clear(&op);
	return err;
}

/* The source's schema is this roost's (a SQLite store of an older one is
 * upgraded by any command that opens it; there is no PostgreSQL upgrade). */
static enum store_err check_version(struct db *src, const char *src_name, char **error_r)
{
	struct db_stmt *st = NULL;
	int rc = db_prepare(src, "SELECT value FROM meta WHERE key = 'schema_version'", &st);
	if (rc == DB_OK)
		rc = db_step(st);
	if (rc != DB_ROW) {
		*error_r = xasprintf("%s: no schema version: %s", src_name, db_errmsg(src));
		db_finalize(st);
		return rc == DB_DONE || rc == DB_ERROR ? STORE_ECORRUPT : STORE_ETEMP;
	}
	const char *v = db_column_text(st, 0);
	char want[24];
	snprintf(want, sizeof(want), "%ld", store_schema_current());
	enum store_err err = STORE_OK;
	if (v == NULL || strcmp(v, want) != 0) {
		*error_r = xasprintf("%s has schema version \"%.32s\", this roost %s: run roost check"
				     " with this roost first (it upgrades an older SQLite store)",
				     src_name, v != NULL ? v : "", want);
		err = STORE_EINVAL;
	}
	db_finalize(st);
	return err;
}

/* Count the rows of a parameterless one-row query. */
static enum store_err count_of(struct db *db, const char *sql, int64_t *n_r, char **error_r)
{
	int rc = src_int(db, sql, 0, n_r);
	if (rc == DB_ROW)
		return STORE_OK;
	*error_r = xasprintf("database: %s", db_errmsg(db));
	return store_db_err(rc) == STORE_OK ? STORE_ETEMP : store_db_err(rc);
}

/* The PostgreSQL target holds no table at all (not only no Roost store:
 * the copy never mixes its rows with anything). */
static enum store_err pg_target_empty(const char *conninfo, char **error_r)
{
	struct db *db = NULL;
	if (db_open(DB_POSTGRESQL, conninfo, 0, &db, error_r) != DB_OK)
		return STORE_ETEMP;
	int64_t n = 0;
	enum store_err err = count_of(db, "SELECT count(*) FROM pg_catalog.pg_tables"
				      " WHERE schemaname = current_schema()", &n, error_r);
	if (err == STORE_OK && n > 0) {
		*error_r = xasprintf("the PostgreSQL database is not empty (%lld tables): copy into"
				     " a new, empty database (CREATE DATABASE)", (long long)n);
		err = STORE_EEXISTS;
	}
	db_close(db);
	return err;
}

/* Other sessions on the PostgreSQL source: another node may be writing
 * to it, and what it writes after our snapshot would be lost. */
static enum store_err pg_source_alone(struct db *src, char **error_r)
{
	int64_t n = 0;
	enum store_err err = count_of(src, "SELECT count(*) FROM pg_catalog.pg_stat_activity"
				      " WHERE datname = current_database()"
				      " AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
				      &n, error_r);
	if (err == STORE_OK && n > 0) {
		*error_r = xasprintf("%lld other sessions use the PostgreSQL store: stop every"
				     " roost serve on it (every node) first", (long long)n);
		err = STORE_EINUSE;
	}
	return err;
}

/* Remove what a copy left in DIR/store-copy.tmp (only our own names). */
static int clean_tmp(const char *tmpdir, char **error_r)
{
	static const char *const names[] = {"roost.db", "roost.db-wal", "roost.db-shm",
					    "roost.db-journal"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = xasprintf("%s/%s", tmpdir, names[i]);
		unlink(p);
		free(p);
	}
	if (rmdir(tmpdir) < 0 && errno != ENOENT) {
		*error_r = xasprintf("%s: %s (remove it: a copy that stopped left it)", tmpdir,
				     strerror(errno));
		return -1;
	}
	return 0;
}

/* The finished SQLite target into DIR/roost.db: its WAL folded into the
 * file first (journal_mode DELETE: one self-contained file), then linked,
 * so an existing roost.db is never replaced. */
static enum store_err sqlite_finish(const char *tmpdir, const char *dest, char **error_r)
{
	char *path = xasprintf("%s/%s", tmpdir, STORE_DB_FILE);
	struct db *db = NULL;
	enum store_err err = STORE_OK;
	if (db_open(DB_SQLITE, path, 0, &db, error_r) != DB_OK) {
		err = STORE_ETEMP;
	} else {
		err = store_exec(db, "PRAGMA journal_mode=DELETE", error_r);
		db_close(db);
	}
	if (err == STORE_OK) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		bool ok = fd >= 0 && fsync(fd) == 0;
		if (fd >= 0)
			close(fd);
		if (!ok || link(path, dest) < 0) {
			*error_r = xasprintf("%s: %s", dest, strerror(errno));
			err = errno == EEXIST ? STORE_EEXISTS : STORE_ETEMP;
		}
	}
	if (err == STORE_OK) {
		char *dir = xstrdup(dest);
		char *slash = strrchr(dir, '/');
		if (slash != NULL)
			*slash = '\0';
		int fd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		free(dir);
	}
	free(path);
	return err;
}

enum store_err store_copy(const char *dir, const struct store_settings *settings,
			  const char *to_pg_conninfo, struct store_copy_counts *counts_r,
			  bool *target_left_r, char **error_r)
{
	*target_left_r = false;
	memset(counts_r, 0, sizeof(*counts_r));
	bool from_pg = settings->pg_conninfo[0] != '\0', to_pg = to_pg_conninfo != NULL;
	if (from_pg == to_pg) {
		*error_r = xstrdup(from_pg ? "the store is in PostgreSQL already"
					   : "the store is in SQLite already");
		return STORE_EINVAL;
	}
	if (to_pg && strlen(to_pg_conninfo) >= STORE_PG_CONNINFO_MAX) {
		*error_r = xasprintf("the connection string is longer than %d bytes",
				     STORE_PG_CONNINFO_MAX - 1);
		return STORE_EINVAL;
	}
	char *src_path = xasprintf("%s/%s", dir, STORE_DB_FILE);
	char *tmpdir = xasprintf("%s/%s", dir, COPY_TMP_DIR);
	struct copy_args a = {.src_name = from_pg ? "the PostgreSQL store" : src_path,
			      .unmark = to_pg};
	struct store *t = NULL;
	bool tmp_made = false, src_open = false;
	enum store_err err = STORE_OK;
	struct stat st;

	if (!from_pg && stat(src_path, &st) < 0) {
		*error_r = xasprintf("%s: %s", src_path, strerror(errno));
		err = STORE_ENOTFOUND;
		goto out;
	}
	if (db_open(from_pg ? DB_POSTGRESQL : DB_SQLITE, from_pg ? settings->pg_conninfo : src_path,
		    DB_OPEN_READONLY, &a.src, error_r) != DB_OK) {
		err = STORE_ETEMP;
		goto out;
	}
	/* one snapshot of the whole source (and the cursors' transaction) */
	err = store_exec(a.src, from_pg ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
					: "BEGIN", error_r);
	if (err != STORE_OK)
		goto out;
	src_open = true;
	err = check_version(a.src, a.src_name, error_r);
	if (err == STORE_OK && from_pg)
		err = pg_source_alone(a.src, error_r);
	if (err != STORE_OK)
		goto out;

	if (to_pg) {
		err = pg_target_empty(to_pg_conninfo, error_r);
		if (err == STORE_OK)
			err = store_create(dir, to_pg_conninfo, error_r);
		if (err != STORE_OK)
			goto out;
		*target_left_r = true;
	} else {
		if (stat(src_path, &st) == 0 || errno != ENOENT) {
			*error_r = xasprintf("%s exists (the store before it went to PostgreSQL?):"
					     " move it away first", src_path);
			err = STORE_EEXISTS;
			goto out;
		}
		if (clean_tmp(tmpdir, error_r) < 0) {
			err = STORE_ETEMP;
			goto out;
		}
		if (mkdir(tmpdir, 0700) < 0) {
			*error_r = xasprintf("%s: %s", tmpdir, strerror(errno));
			err = STORE_ETEMP;
			goto out;
		}
		tmp_made = true;
		err = store_create(tmpdir, NULL, error_r);
		if (err != STORE_OK)
			goto out;
	}
	struct store_settings ts = *settings;
	snprintf(ts.pg_conninfo, sizeof(ts.pg_conninfo), "%s", to_pg ? to_pg_conninfo : "");
	err = store_open(to_pg ? dir : tmpdir, &ts, &t, error_r);
	if (err == STORE_OK && to_pg)
		err = run_func(t, fn_mark, NULL, error_r);
	if (err == STORE_OK)
		err = run_func(t, fn_copy, &a, error_r);
	store_close(&t);
	if (err == STORE_OK && !to_pg)
		err = sqlite_finish(tmpdir, src_path, error_r);
	if (err == STORE_OK)
		*counts_r = a.counts;
out:
	if (src_open)
		store_exec(a.src, "ROLLBACK", NULL);
	db_close(a.src);
	if (tmp_made) {
		char *ignored = NULL;
		clean_tmp(tmpdir, &ignored);
		free(ignored);
	}
	free(a.acct_old);
	free(a.acct_new);
	free(src_path);
	free(tmpdir);
	return err;
}
