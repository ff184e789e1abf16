/*
 * db-pg: the PostgreSQL driver of db.h, on libpq (PostgreSQL 15).
 *
 * Statements: db_prepare rewrites the common dialect (db-pg.h) once and
 * sends it to the server as a named prepared statement (PQprepare), so a
 * syntax error comes back from db_prepare as it does on SQLite. The first
 * db_step after a reset runs it (PQexecPrepared) and keeps the PGresult;
 * later steps walk its rows. Parameters are sent with type "unknown", so
 * the server infers each one from its context, as SQLite's dynamic typing
 * lets the store expect; integers and text go in text format. Blobs go in
 * binary format (no escaping, NUL bytes and all) into a bytea parameter:
 * the first time a blob is bound where the statement was prepared with an
 * inferred type, it is prepared again (once) with that parameter typed
 * bytea, because binary data sent to a text parameter would be read as
 * UTF-8 text.
 *
 * Results come back in text format, and bytea columns are decoded from
 * the hex form (bytea_output is set to hex on every connection). Text
 * rather than binary results: one format serves every type an expression
 * can produce (numeric from sum(), booleans from comparisons, int2/4/8,
 * floats) without a decoder per type; the price is that blobs travel as
 * twice their size, decoded in one linear pass only when a column is read.
 *
 * db_step_deferred (statements whose answer the caller does not need)
 * sends in pipeline mode without waiting; the next statement that needs
 * an answer goes down the same pipe, followed by a Sync, so the deferred
 * ones cost no round trip of their own. Their answers are read in order
 * before its own; the first error (after which the server skips the rest
 * up to the Sync) is what that statement returns. Everything else (simple
 * queries, PQprepare, a ROLLBACK) first ends the pipeline the same way.
 *
 * Errors map by SQLSTATE (db_pg_rc): class 23 (integrity) -> DB_CONSTRAINT,
 * serialization failure and deadlock -> DB_BUSY, disk full -> DB_FULL,
 * class 54 (program limit) -> DB_TOOBIG; a lost connection is DB_ERROR
 * with a message saying so. Messages never repeat the conninfo string,
 * which may hold a password.
 */
#ifdef ROOST_HAVE_PG
#include "store/db/db-pg.h"
#include "store/db/db-driver.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Type OIDs of pg_type.h (stable across versions; libpq does not export them). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_OID 26
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701
#define PG_OID_NUMERIC 1700

/* The rewritten text of one statement is at most this long (the store's
 * SQL is ours, never a client's; this only bounds a mistake). */
#define DB_PG_SQL_MAX (1024 * 1024)
/* PostgreSQL's protocol limit on the parameters of one statement. */
#define DB_PG_MAX_PARAMS 65535

struct pg_stmt;

struct pg_db {
	struct db base;
	PGconn *conn;
	char *errmsg;
	int64_t changes;
	unsigned next_id;	/* names the connection's prepared statements */
	struct pg_stmt *stmts;	/* every statement not yet finalized */
	/* reconnecting (ensure_conn) */
	char *session_sql;	/* the SETs to run again on a new connection */
	bool in_txn;		/* a transaction was open, last we heard */
	int64_t retry_at_ms;	/* no new connection attempt before */
	int retry_ms;		/* the wait after the next failure */
	bool lost_logged;
	bool no_reconnect;	/* DB_OPEN_NO_RECONNECT */
	bool connecting;	/* PQresetStart done, PQresetPoll not finished */
	PostgresPollingStatusType poll;	/* its last answer */
	int64_t connect_deadline_ms;
	/* pipeline mode (db_step_deferred): statements sent, answers unread */
	int npending;
};

/* Deferred statements sent before their answers are read at the latest:
 * the server writes an answer for each, and one that nobody reads while
 * we go on sending could fill both sockets' buffers. */
#define PG_PIPELINE_MAX 64

enum pg_param_kind {
	PARAM_NULL,
	PARAM_TEXT,	/* text format: integers and text */
	PARAM_BLOB,	/* binary format */
};

struct pg_param {
	enum pg_param_kind kind;
	const char *value;	/* NUL-terminated for PARAM_TEXT */
	int len;
	char *owned;		/* value, when copied */
	char num[24];		/* an integer's decimal text */
};

struct pg_stmt {
	struct db_stmt base;
	struct pg_stmt *next, *prev;
	char *pg_sql;		/* the rewritten text */
	char name[32];		/* the server-side prepared statement */
	bool prepared;
	enum db_rc deferred;	/* prepare's DB_BUSY, the first step's result */
	int nparams;
	struct pg_param *params;
	Oid *types;		/* as prepared: 0 (inferred) or bytea */
	PGresult *res;
	bool executed;		/* stepped since the last reset */
	enum db_rc failed;	/* the execution's error, DB_OK if none */
	int row;		/* current row, -1 before the first */
	int nrows, ncols;
	char **decoded;		/* per column: the current row's decoded bytea */
	size_t *decoded_len;
};

static void set_error(struct pg_db *pdb, const char *msg)
{
	free(pdb->errmsg);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	pdb->errmsg = xstrndup(msg, n);
}

/* Broken, or a new one still being made (ensure_conn). */
static bool conn_lost(const struct pg_db *pdb)
{
	return PQstatus(pdb->conn) != CONNECTION_OK;
}

/*
 * A lost connection (the server restarted, a failover, a network cut) is
 * opened again by the next statement that may run on a new one: one that
 * begins or ends a transaction, or any statement outside a transaction.
 * Inside a transaction every statement fails instead (DB_ERROR) until
 * the store ends it: the writes before are gone with the old connection,
 * and a statement run on a new one would commit on its own, half an op.
 * The SETs of the old connection are run again, and every statement is
 * prepared again on its next step. Attempts wait from
 * PG_RECONNECT_MIN_MS, doubling to PG_RECONNECT_MAX_MS, so a database
 * that is down costs one refused connect per interval, not one per
 * statement. The new connection is made without blocking the caller
 * (PQresetStart, then PQresetPoll as far as the socket allows, waiting at
 * most PG_CONNECT_STEP_WAIT_MS a step): a host that does not answer at
 * all (a network cut drops packets) fails the statements meanwhile at
 * once instead of holding an event loop for connect_timeout, and is
 * given up after PG_CONNECT_TIMEOUT_MS.
 */
#define PG_RECONNECT_MIN_MS 200
#define PG_RECONNECT_MAX_MS 10000
#define PG_CONNECT_TIMEOUT_S "5"
#define PG_CONNECT_TIMEOUT_MS 5000
#define PG_CONNECT_STEP_WAIT_MS 10
#define PG_CONNECT_STEPS_MAX 8

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool ends_or_begins_txn(const char *sql)
{
	while (sql != NULL && isspace((unsigned char)*sql))
		sql++;
	return sql != NULL && (strncasecmp(sql, "BEGIN", 5) == 0 ||
			       strncasecmp(sql, "ROLLBACK", 8) == 0 ||
			       strncasecmp(sql, "START", 5) == 0);
}

/* After a server round trip: is a transaction open? (Unknown on a lost
 * connection: the last answer stands.) */
static void note_txn(struct pg_db *pdb)
{
	switch (PQtransactionStatus(pdb->conn)) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		pdb->in_txn = true;
		break;
	case PQTRANS_IDLE:
		pdb->in_txn = false;
		break;
	default:
		break;
	}
}

/* The next attempt waits its turn. */
static void reconnect_failed(struct pg_db *pdb, int64_t now)
{
	pdb->retry_at_ms = now + pdb->retry_ms;
	pdb->retry_ms = pdb->retry_ms * 2 > PG_RECONNECT_MAX_MS ? PG_RECONNECT_MAX_MS
								: pdb->retry_ms * 2;
}

/* DB_OK: the connection is up (again) for `sql`. */
static enum db_rc ensure_conn(struct pg_db *pdb, const char *sql)
{
	if (!conn_lost(pdb))
		return DB_OK;
	if (pdb->no_reconnect) {
		set_error(pdb, "postgresql: connection lost");
		return DB_ERROR;
	}
	if (!pdb->lost_logged) {
		char *why = xstrdup(PQerrorMessage(pdb->conn));
		why[strcspn(why, "\r\n")] = '\0';
		log_warn("postgresql: connection lost (%s): reconnecting", why);
		free(why);
		pdb->lost_logged = true;
		pdb->retry_ms = PG_RECONNECT_MIN_MS;
		pdb->retry_at_ms = 0;
	}
	if (pdb->in_txn && !ends_or_begins_txn(sql)) {
		set_error(pdb, "postgresql: connection lost inside a transaction");
		return DB_ERROR;
	}
	/* the transaction went with the connection: whatever ends or begins
	 * one may use the new connection, however long that takes to make */
	if (ends_or_begins_txn(sql))
		pdb->in_txn = false;
	int64_t now = now_ms();
	if (!pdb->connecting) {
		if (now < pdb->retry_at_ms || !PQresetStart(pdb->conn)) {
			if (now >= pdb->retry_at_ms)
				reconnect_failed(pdb, now);
			set_error(pdb, "postgresql: connection lost; reconnecting");
			return DB_ERROR;
		}
		pdb->connecting = true;
		pdb->poll = PGRES_POLLING_WRITING;
		pdb->connect_deadline_ms = now + PG_CONNECT_TIMEOUT_MS;
	}
	/* as far as the socket allows now */
	for (int i = 0; i < PG_CONNECT_STEPS_MAX && pdb->poll != PGRES_POLLING_OK &&
			pdb->poll != PGRES_POLLING_FAILED; i++) {
		struct pollfd pfd = {.fd = PQsocket(pdb->conn),
				     .events = pdb->poll == PGRES_POLLING_READING ? POLLIN : POLLOUT};
		if (pfd.fd < 0) {
			pdb->poll = PGRES_POLLING_FAILED;
			break;
		}
		if (poll(&pfd, 1, PG_CONNECT_STEP_WAIT_MS) <= 0)
			break; /* not yet */
		pdb->poll = PQresetPoll(pdb->conn);
	}
	now = now_ms();
	if (pdb->poll == PGRES_POLLING_FAILED ||
	    (pdb->poll != PGRES_POLLING_OK && now >= pdb->connect_deadline_ms)) {
		pdb->connecting = false;
		reconnect_failed(pdb, now);
		set_error(pdb, "postgresql: connection lost; reconnecting");
		return DB_ERROR;
	}
	if (pdb->poll != PGRES_POLLING_OK) {
		set_error(pdb, "postgresql: connection lost; reconnecting");
		return DB_ERROR;
	}
	pdb->connecting = false;
	/* the server has just answered: one round trip */
	PGresult *res = PQexec(pdb->conn, pdb->session_sql);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		reconnect_failed(pdb, now);
		set_error(pdb, "postgresql: connection lost; reconnecting");
		return DB_ERROR;
	}
	PQclear(res);
	/* the server forgot them with the old connection */
	for (struct pg_stmt *st = pdb->stmts; st != NULL; st = st->next)
		st->prepared = false;
	pdb->in_txn = false;
	pdb->lost_logged = false;
	log_info("postgresql: connection re-established");
	return DB_OK;
}

enum db_rc db_pg_rc(const char *sqlstate)
{
	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return DB_ERROR;
	if (strncmp(sqlstate, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
	    strcmp(sqlstate, "55P03") == 0)	/* lock_not_available (lock_timeout) */
		return DB_BUSY;
	if (strcmp(sqlstate, "53100") == 0)
		return DB_FULL;
	if (strncmp(sqlstate, "54", 2) == 0)
		return DB_TOOBIG;
	if (strcmp(sqlstate, "58030") == 0)
		return DB_IOERR;
	if (strcmp(sqlstate, "XX001") == 0 || strcmp(sqlstate, "XX002") == 0)
		return DB_CORRUPT;
	return DB_ERROR;
}

/* The code and message of a failed command (res may be NULL). */
static enum db_rc result_error(struct pg_db *pdb, const PGresult *res)
{
	if (conn_lost(pdb)) {
		char *msg = xasprintf("postgresql: connection lost: %s", PQerrorMessage(pdb->conn));
		set_error(pdb, msg);
		free(msg);
		return DB_ERROR;
	}
	if (res == NULL) {
		set_error(pdb, PQerrorMessage(pdb->conn));
		return DB_ERROR;
	}
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char *full = xasprintf("%s (SQLSTATE %s)", msg != NULL ? msg : PQresultErrorMessage(res),
			       state != NULL ? state : "none");
	set_error(pdb, full);
	free(full);
	return db_pg_rc(state);
}

/* changes: only INSERT/UPDATE/DELETE/MERGE count, as on SQLite (a SELECT
 * has a row count in PQcmdTuples too). */
static void note_changes(struct pg_db *pdb, PGresult *res)
{
	const char *cmd = PQcmdStatus(res);
	if (strncmp(cmd, "INSERT ", 7) != 0 && strncmp(cmd, "UPDATE ", 7) != 0 &&
	    strncmp(cmd, "DELETE ", 7) != 0 && strncmp(cmd, "MERGE ", 6) != 0)
		return;
	const char *n = PQcmdTuples(res);
	if (*n != '\0')
		pdb->changes = strtoll(n, NULL, 10);
}

/*
 * Pipeline mode (db_step_deferred).
 */

/* Reads the pipeline's answers up to its Sync and leaves pipeline mode.
 * The last good answer before the Sync (that of the statement sent last)
 * goes to *last_r when last_r is not NULL. DB_OK, or the first error. */
static enum db_rc pipeline_collect(struct pg_db *pdb, PGresult **last_r)
{
	enum db_rc rc = DB_OK;
	PGresult *last = NULL;
	bool after_null = false;
	for (;;) {
		PGresult *res = PQgetResult(pdb->conn);
		if (res == NULL) {
			/* one NULL ends each statement's answers; two in a row, or
			 * a broken connection, mean the Sync will not come */
			if (after_null || conn_lost(pdb)) {
				if (rc == DB_OK)
					rc = result_error(pdb, NULL);
				break;
			}
			after_null = true;
			continue;
		}
		after_null = false;
		ExecStatusType status = PQresultStatus(res);
		if (status == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
			PQclear(last);
			last = res;
			continue;
		}
		/* PIPELINE_ABORTED: skipped after an error already noted */
		if (status != PGRES_PIPELINE_ABORTED && rc == DB_OK)
			rc = result_error(pdb, res);
		PQclear(res);
	}
	pdb->npending = 0;
	if (!conn_lost(pdb) && !PQexitPipelineMode(pdb->conn) && rc == DB_OK)
		rc = result_error(pdb, NULL);
	note_txn(pdb);
	if (rc != DB_OK || last_r == NULL)
		PQclear(last);
	else
		*last_r = last;
	return rc;
}

/* Ends pipeline mode before what cannot go down it: the deferred
 * statements' first error, or DB_OK. */
static enum db_rc pipeline_end(struct pg_db *pdb)
{
	if (pdb->npending == 0)
		return DB_OK;
	if (conn_lost(pdb) || !PQpipelineSync(pdb->conn)) {
		/* a new connection starts outside pipeline mode */
		pdb->npending = 0;
		return result_error(pdb, NULL);
	}
	return pipeline_collect(pdb, NULL);
}

/* A ROLLBACK runs whatever the pipeline's errors were: it undoes them. */
static bool is_rollback(const char *sql)
{
	while (isspace((unsigned char)*sql))
		sql++;
	return strncasecmp(sql, "ROLLBACK", 8) == 0;
}

/* A COMMIT of a transaction that had failed answers "ROLLBACK": that is
 * an error (the writes are gone), never a success. */
static bool commit_rolled_back(const char *sql, PGresult *res)
{
	while (isspace((unsigned char)*sql))
		sql++;
	return (strncasecmp(sql, "COMMIT", 6) == 0 || strncasecmp(sql, "END", 3) == 0) &&
	       strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
}

/*
 * The rewriter.
 */

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Skips whitespace and comments from p. */
static const char *skip_space(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end != NULL ? end + 2 : p + strlen(p);
		} else {
			return p;
		}
	}
}

/* The word at p matches `word` (case-insensitively) and ends there: the
 * end, or NULL. */
static const char *match_word(const char *p, const char *word)
{
	size_t n = strlen(word);
	if (strncasecmp(p, word, n) != 0 || ident_char(p[n]))
		return NULL;
	return p + n;
}

/* A quoted run from p (at its opening quote q) to after its closing quote,
 * a doubled quote being part of it; NULL when it never closes. */
static const char *skip_quoted(const char *p, char q)
{
	for (p++; *p != '\0'; p++) {
		if (*p == q) {
			if (p[1] != q)
				return p + 1;
			p++;
		}
	}
	return NULL;
}

/* A dollar-quoted string ($$...$$ or $tag$...$tag$) from p: its end, or p
 * itself when p does not open one. NULL when it never closes. */
static const char *skip_dollar(const char *p)
{
	const char *t = p + 1;
	while (*t != '$' && (isalnum((unsigned char)*t) || *t == '_'))
		t++;
	if (*t != '$' || isdigit((unsigned char)p[1]))
		return p;
	size_t taglen = (size_t)(t - p) + 1;
	for (const char *q = t + 1; *q != '\0'; q++)
		if (*q == '$' && strncmp(q, p, taglen) == 0)
			return q + taglen;
	return NULL;
}

static void emit(struct buf *out, const void *p, size_t n, bool *overflow)
{
	if (buf_append(out, p, n) < 0)
		*overflow = true;
}

char *db_pg_rewrite(const char *sql, int *nparams_r, char **error_r)
{
	static const char on_conflict[] = " ON CONFLICT DO NOTHING";
	struct buf out;
	buf_init(&out, DB_PG_SQL_MAX);
	bool overflow = false, ignore = false;
	int depth = 0;
	long maxparam = 0;
	const char *err = NULL;
	const char *p = sql;
	bool prev_ident = false;

	while (*p != '\0' && err == NULL) {
		char c = *p;
		const char *end;
		if (c == '\'' || c == '"') {
			end = skip_quoted(p, c);
			if (end == NULL) {
				err = c == '\'' ? "unterminated string literal" :
						  "unterminated quoted identifier";
				break;
			}
			emit(&out, p, (size_t)(end - p), &overflow);
			p = end;
			prev_ident = false;
			continue;
		}
		if (c == '$' && !prev_ident) {
			end = skip_dollar(p);
			if (end == NULL) {
				err = "unterminated dollar-quoted string";
				break;
			}
			if (end != p) {
				emit(&out, p, (size_t)(end - p), &overflow);
				p = end;
				continue;
			}
		}
		if ((c == '-' && p[1] == '-') || (c == '/' && p[1] == '*')) {
			end = skip_space(p);
			emit(&out, p, (size_t)(end - p), &overflow);
			p = end;
			prev_ident = false;
			continue;
		}
		if (c == '?') {
			long n;
			p++;
			if (isdigit((unsigned char)*p)) {
				n = 0;
				while (isdigit((unsigned char)*p) && n <= DB_PG_MAX_PARAMS)
					n = n * 10 + (*p++ - '0');
				if (n < 1 || n > DB_PG_MAX_PARAMS || isdigit((unsigned char)*p)) {
					err = "parameter number out of range";
					break;
				}
			} else {
				n = maxparam + 1;
				if (n > DB_PG_MAX_PARAMS) {
					err = "too many parameters";
					break;
				}
			}
			if (n > maxparam)
				maxparam = n;
			char num[16];
			int len = snprintf(num, sizeof(num), "$%ld", n);
			emit(&out, num, (size_t)len, &overflow);
			prev_ident = false;
			continue;
		}
		if (!prev_ident && (isalpha((unsigned char)c) || c == '_')) {
			const char *w = p;
			while (ident_char(*p))
				p++;
			const char *q;
			if ((q = match_word(w, "INSERT")) != NULL &&
			    (q = match_word(skip_space(q), "OR")) != NULL &&
			    (q = match_word(skip_space(q), "IGNORE")) != NULL &&
			    (q = match_word(skip_space(q), "INTO")) != NULL) {
				emit(&out, "INSERT INTO", 11, &overflow);
				p = q;
				ignore = true;
			} else if ((q = match_word(w, "BEGIN")) != NULL &&
				   (q = match_word(skip_space(q), "IMMEDIATE")) != NULL) {
				emit(&out, "BEGIN", 5, &overflow);
				p = q;
			} else {
				if (ignore && depth == 0 && match_word(w, "RETURNING") != NULL) {
					emit(&out, on_conflict + 1, sizeof(on_conflict) - 2, &overflow);
					emit(&out, " ", 1, &overflow);
					ignore = false;
				}
				emit(&out, w, (size_t)(p - w), &overflow);
			}
			prev_ident = true;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (c == ';' && depth == 0 && ignore) {
			emit(&out, on_conflict, sizeof(on_conflict) - 1, &overflow);
			ignore = false;
		}
		emit(&out, p, 1, &overflow);
		prev_ident = ident_char(c);
		p++;
	}
	if (err == NULL && ignore) {
		/* before trailing blanks, so "...) " stays readable */
		size_t n = out.len;
		while (n > 0 && isspace((unsigned char)out.data[n - 1]))
			n--;
		char *tail = xstrdup(out.data + n);
		out.len = n;
		emit(&out, on_conflict, sizeof(on_conflict) - 1, &overflow);
		emit(&out, tail, strlen(tail), &overflow);
		free(tail);
	}
	if (err == NULL && overflow)
		err = "statement too long";
	if (err != NULL) {
		buf_free(&out);
		*error_r = xasprintf("postgresql: %s in: %.80s", err, sql);
		return NULL;
	}
	*nparams_r = (int)maxparam;
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out);
}

/*
 * Connections
 */

static void pg_notice_quiet(void *arg, const char *message)
{
	/* NOTICEs (e.g. "relation exists, skipping") are not errors; libpq
	 * would print them on stderr. */
}

static enum db_rc pg_open(const char *target, int flags, struct db **db_r, char **error_r)
{
	/* a default the admin's conninfo overrides (a URI is taken as is) */
	char *with_timeout = strncmp(target, "postgres", 8) == 0 ?
		xstrdup(target) : xasprintf("connect_timeout=" PG_CONNECT_TIMEOUT_S " %s", target);
	PGconn *conn = PQconnectdb(with_timeout);
	free(with_timeout);
	if (conn == NULL) {
		*error_r = xstrdup("postgresql: out of memory connecting");
		return DB_ERROR;
	}
	const char *setup = (flags & DB_OPEN_READONLY) != 0 ?
		"SET client_encoding = 'UTF8'; SET bytea_output = 'hex';"
		"SET standard_conforming_strings = on; SET default_transaction_read_only = on" :
		"SET client_encoding = 'UTF8'; SET bytea_output = 'hex';"
		"SET standard_conforming_strings = on";
	if (PQstatus(conn) != CONNECTION_OK && (flags & DB_OPEN_LAZY) != 0 &&
	    (flags & DB_OPEN_NO_RECONNECT) == 0) {
		/* a lost connection from the start: ensure_conn() opens it */
		char *why = xstrdup(PQerrorMessage(conn));
		why[strcspn(why, "\r\n")] = '\0';
		log_warn("postgresql: cannot connect (%s): the first statements will try again", why);
		free(why);
		struct pg_db *pdb = xcalloc(1, sizeof(*pdb));
		pdb->base.driver = &db_pg_driver;
		pdb->conn = conn;
		pdb->session_sql = xstrdup(setup);
		pdb->lost_logged = true;
		pdb->retry_ms = PG_RECONNECT_MIN_MS;
		pdb->retry_at_ms = now_ms() + PG_RECONNECT_MIN_MS;
		*db_r = &pdb->base;
		return DB_OK;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *host = PQhost(conn), *port = PQport(conn), *dbname = PQdb(conn);
		char *msg = xstrdup(PQerrorMessage(conn));
		size_t n = strlen(msg);
		while (n > 0 && msg[n - 1] == '\n')
			msg[--n] = '\0';
		*error_r = xasprintf("postgresql: cannot connect to database %s on %s port %s: %s",
				     dbname != NULL ? dbname : "?", host != NULL ? host : "?",
				     port != NULL ? port : "?", msg);
		free(msg);
		PQfinish(conn);
		return DB_ERROR;
	}
	PQsetNoticeProcessor(conn, pg_notice_quiet, NULL);
	PGresult *res = PQexec(conn, setup);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*error_r = xasprintf("postgresql: setting up the connection: %s",
				     PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return DB_ERROR;
	}
	PQclear(res);
	struct pg_db *pdb = xcalloc(1, sizeof(*pdb));
	pdb->base.driver = &db_pg_driver;
	pdb->conn = conn;
	pdb->session_sql = xstrdup(setup);
	pdb->no_reconnect = (flags & DB_OPEN_NO_RECONNECT) != 0;
	*db_r = &pdb->base;
	return DB_OK;
}

static void stmt_free(struct pg_stmt *st);

static void pg_close(struct db *db)
{
	struct pg_db *pdb = (struct pg_db *)db;
	while (pdb->stmts != NULL) {
		struct pg_stmt *st = pdb->stmts;
		pdb->stmts = st->next;
		stmt_free(st);	/* the server drops them with the connection */
	}
	PQfinish(pdb->conn);
	free(pdb->errmsg);
	free(pdb->session_sql);
	free(pdb);
}

static enum db_rc pg_exec(struct db *db, const char *sql, char **error_r)
{
	struct pg_db *pdb = (struct pg_db *)db;
	int nparams = 0;
	char *text = db_pg_rewrite(sql, &nparams, error_r);
	if (text == NULL) {
		set_error(pdb, *error_r);
		return DB_ERROR;
	}
	enum db_rc rc = pipeline_end(pdb);
	if (rc != DB_OK && !is_rollback(text)) {
		free(text);
		if (error_r != NULL)
			*error_r = xstrdup(pdb->errmsg);
		return rc;
	}
	rc = ensure_conn(pdb, text);
	if (rc != DB_OK && !pdb->no_reconnect && !pdb->in_txn &&
	    strncasecmp(text, "SET ", 4) == 0 && strncasecmp(text, "SET LOCAL ", 10) != 0) {
		/* a session setting on a connection that is away (DB_OPEN_LAZY):
		 * the new connection gets it */
		char *all = xasprintf("%s; %s", pdb->session_sql, text);
		free(pdb->session_sql);
		pdb->session_sql = all;
		free(text);
		return DB_OK;
	}
	if (rc != DB_OK) {
		free(text);
		if (error_r != NULL)
			*error_r = xstrdup(pdb->errmsg);
		return rc;
	}
	PGresult *res = PQexec(pdb->conn, text);
	note_txn(pdb);
	ExecStatusType status = PQresultStatus(res);
	if (status == PGRES_COMMAND_OK && commit_rolled_back(text, res)) {
		set_error(pdb, "postgresql: the transaction had failed: COMMIT rolled it back");
		rc = DB_ERROR;
		if (error_r != NULL)
			*error_r = xstrdup(pdb->errmsg);
	} else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ||
		   status == PGRES_EMPTY_QUERY) {
		note_changes(pdb, res);
		/* a session setting: again on a new connection */
		if (strncasecmp(text, "SET ", 4) == 0) {
			char *all = xasprintf("%s; %s", pdb->session_sql, text);
			free(pdb->session_sql);
			pdb->session_sql = all;
		}
	} else {
		rc = result_error(pdb, res);
		if (error_r != NULL)
			*error_r = xstrdup(pdb->errmsg);
	}
	PQclear(res);
	free(text);
	return rc;
}

/*
 * Statements
 */

/* SQLite lets a statement skip parameter numbers ("?1 ... ?9"); the
 * server cannot infer a type for one the text never uses, so those are
 * declared text (the store binds nothing to them). The rewritten text
 * holds $N only where a parameter was (string literals in the store's
 * SQL hold no "$<digit>"). */
static void type_unused_params(struct pg_stmt *st)
{
	if (st->nparams == 0)
		return;
	bool *used = xcalloc((size_t)st->nparams, sizeof(bool));
	for (const char *p = st->pg_sql; (p = strchr(p, '$')) != NULL; p++) {
		if (!isdigit((unsigned char)p[1]))
			continue;
		long n = strtol(p + 1, NULL, 10);
		if (n >= 1 && n <= st->nparams)
			used[n - 1] = true;
	}
	for (int i = 0; i < st->nparams; i++)
		if (!used[i])
			st->types[i] = PG_OID_TEXT;
	free(used);
}

static enum db_rc stmt_prepare_server(struct pg_stmt *st)
{
	struct pg_db *pdb = (struct pg_db *)st->base.db;
	snprintf(st->name, sizeof(st->name), "roost_%u", pdb->next_id++);
	PGresult *res = PQprepare(pdb->conn, st->name, st->pg_sql, st->nparams, st->types);
	enum db_rc rc = DB_OK;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = result_error(pdb, res);
	PQclear(res);
	st->prepared = rc == DB_OK;
	if (rc != DB_OK || st->nparams == 0)
		return rc;
	/* The types the server inferred: a parameter it made bytea (a bytea
	 * column, a comparison with one) takes its value as raw bytes in
	 * binary format, text included, so what the store binds as text
	 * there is kept byte for byte (escape-format parsing would eat
	 * backslashes) and needs no UTF-8 repair. */
	res = PQdescribePrepared(pdb->conn, st->name);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		for (int i = 0; i < st->nparams && i < PQnparams(res); i++)
			if (PQparamtype(res, i) == PG_OID_BYTEA)
				st->types[i] = PG_OID_BYTEA;
	} else {
		rc = result_error(pdb, res);
	}
	PQclear(res);
	return rc;
}

static void stmt_deallocate(struct pg_stmt *st)
{
	struct pg_db *pdb = (struct pg_db *)st->base.db;
	/* Not while statements are in the pipeline: ending it here would
	 * find their errors with nobody to report them to. The statement
	 * then lives on the server until the connection ends, harmless. */
	if (!st->prepared || conn_lost(pdb) || pdb->npending > 0)
		return;
	/* In a failed transaction this fails too; the statement then lives
	 * on the server until the connection ends, which is harmless. */
	char *sql = xasprintf("DEALLOCATE %s", st->name);
	PQclear(PQexec(pdb->conn, sql));
	free(sql);
	st->prepared = false;
}

static void param_clear(struct pg_param *p)
{
	free(p->owned);
	memset(p, 0, sizeof(*p));
}

static void rows_free(struct pg_stmt *st)
{
	if (st->decoded != NULL) {
		for (int i = 0; i < st->ncols; i++)
			free(st->decoded[i]);
		free(st->decoded);
		free(st->decoded_len);
	}
	st->decoded = NULL;
	st->decoded_len = NULL;
	PQclear(st->res);
	st->res = NULL;
	st->nrows = st->ncols = 0;
	st->row = -1;
}

static void stmt_free(struct pg_stmt *st)
{
	rows_free(st);
	for (int i = 0; i < st->nparams; i++)
		param_clear(&st->params[i]);
	free(st->params);
	free(st->types);
	free(st->pg_sql);
	free(st);
}

static enum db_rc pg_prepare(struct db *db, const char *sql, struct db_stmt **st_r)
{
	struct pg_db *pdb = (struct pg_db *)db;
	char *error = NULL;
	int nparams = 0;
	char *text = db_pg_rewrite(sql, &nparams, &error);
	if (text == NULL) {
		set_error(pdb, error);
		free(error);
		return DB_ERROR;
	}
	struct pg_stmt *st = xcalloc(1, sizeof(*st));
	st->base.driver = &db_pg_driver;
	st->base.db = db;
	st->base.sql = sql;
	st->pg_sql = text;
	st->nparams = nparams;
	st->params = xcalloc((size_t)(nparams > 0 ? nparams : 1), sizeof(*st->params));
	st->types = xcalloc((size_t)(nparams > 0 ? nparams : 1), sizeof(*st->types));
	type_unused_params(st);
	st->row = -1;
	/* (a ROLLBACK is prepared whatever the pipeline's errors were: it
	 * is what undoes them; anything else returns the first of them) */
	enum db_rc rc = pipeline_end(pdb);
	if (rc != DB_OK && is_rollback(text))
		rc = DB_OK;
	if (rc == DB_OK)
		rc = ensure_conn(pdb, text);
	if (rc == DB_OK)
		rc = stmt_prepare_server(st);
	/* Parsing an UPDATE or INSERT takes a lock on its table: one held
	 * elsewhere (a psql session's LOCK TABLE) times out here, at
	 * prepare. That is the statement's result, not a broken statement:
	 * it stays unprepared, the first db_step returns DB_BUSY (where
	 * SQLite reports its lock; the transaction is aborted now, so it
	 * cannot try again) and the next one prepares it (as after a
	 * retype). */
	if (rc == DB_BUSY) {
		st->deferred = rc;
		rc = DB_OK;
	}
	if (rc != DB_OK) {
		stmt_free(st);
		return rc;
	}
	st->next = pdb->stmts;
	if (pdb->stmts != NULL)
		pdb->stmts->prev = st;
	pdb->stmts = st;
	*st_r = &st->base;
	return DB_OK;
}

static void pg_finalize(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	struct pg_db *pdb = (struct pg_db *)base->db;
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		pdb->stmts = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	stmt_deallocate(st);
	stmt_free(st);
}

static struct pg_param *param_at(struct pg_stmt *st, int i)
{
	if (i < 1 || i > st->nparams) {
		char *msg = xasprintf("postgresql: parameter %d out of range (statement has %d)",
				      i, st->nparams);
		set_error((struct pg_db *)st->base.db, msg);
		free(msg);
		return NULL;
	}
	struct pg_param *p = &st->params[i - 1];
	param_clear(p);
	return p;
}

static enum db_rc pg_bind_int64(struct db_stmt *base, int i, int64_t v)
{
	struct pg_param *p = param_at((struct pg_stmt *)base, i);
	if (p == NULL)
		return DB_ERROR;
	p->kind = PARAM_TEXT;
	p->len = snprintf(p->num, sizeof(p->num), "%" PRId64, v);
	p->value = p->num;
	return DB_OK;
}

/* The length of the longest prefix of s that is valid UTF-8 (RFC 3629:
 * no overlong forms, surrogates or code points above U+10FFFF) without a
 * NUL: what a PostgreSQL text value in a UTF8 database may hold. */
static size_t utf8_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned c = u[i];
		if (c >= 0x01 && c < 0x80) {
			i++;
			continue;
		}
		size_t k = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
			 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (k == 0 || i + k > n)
			return i;
		unsigned lo = 0x80, hi = 0xbf;	/* the second byte's range */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (u[i + 1] < lo || u[i + 1] > hi)
			return i;
		for (size_t j = 2; j < k; j++)
			if (u[i + j] < 0x80 || u[i + j] > 0xbf)
				return i;
		i += k;
	}
	return n;
}

/* SQLite keeps any bytes in TEXT; PostgreSQL refuses a value that is not
 * UTF-8 or holds a NUL, which would fail the whole delivery of a message
 * with a raw 8-bit header. The bytes that are neither become U+FFFD in
 * the stored text (header fields indexed for SEARCH and ENVELOPE; the
 * message itself is a blob, kept byte for byte). *n_r: the new length. */
static char *utf8_repair(const char *s, size_t n, size_t good, size_t *n_r)
{
	char *out = xmalloc(n * 3 + 1);
	memcpy(out, s, good);
	size_t o = good;
	for (size_t i = good; i < n;) {
		size_t ok = utf8_prefix(s + i, n - i);
		memcpy(out + o, s + i, ok);
		o += ok;
		i += ok;
		if (i < n) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	*n_r = o;
	return out;
}

static enum db_rc pg_bind_text(struct db_stmt *base, int i, const char *v, int len, bool stable)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	struct pg_param *p = param_at(st, i);
	if (p == NULL)
		return DB_ERROR;
	if (v == NULL)
		return DB_OK;	/* NULL, as on SQLite */
	size_t n = len < 0 ? strlen(v) : (size_t)len;
	if (n > (INT_MAX - 1) / 3) {
		set_error((struct pg_db *)base->db, "postgresql: text too big");
		return DB_TOOBIG;
	}
	p->kind = PARAM_TEXT;
	size_t bad = st->types[i - 1] == PG_OID_BYTEA ? n : utf8_prefix(v, n);
	if (bad < n) {
		p->owned = utf8_repair(v, n, bad, &n);
		p->value = p->owned;
		p->len = (int)n;
		return DB_OK;
	}
	p->len = (int)n;
	if (stable && len < 0) {
		p->value = v;
	} else {
		p->owned = xstrndup(v, n);
		p->value = p->owned;
	}
	return DB_OK;
}

static enum db_rc pg_bind_blob(struct db_stmt *base, int i, const void *v, size_t len, bool stable)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	struct pg_param *p = param_at(st, i);
	if (p == NULL)
		return DB_ERROR;
	if (len > INT_MAX) {
		set_error((struct pg_db *)base->db, "postgresql: blob too big");
		return DB_TOOBIG;
	}
	p->kind = PARAM_BLOB;
	p->len = (int)len;
	if (stable || len == 0) {
		p->value = len == 0 ? "" : v;
	} else {
		p->owned = xmemdup(v, len);
		p->value = p->owned;
	}
	return DB_OK;
}

static enum db_rc pg_bind_null(struct db_stmt *base, int i)
{
	return param_at((struct pg_stmt *)base, i) != NULL ? DB_OK : DB_ERROR;
}

static void pg_clear_bindings(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	for (int i = 0; i < st->nparams; i++)
		param_clear(&st->params[i]);
}

/* A blob bound where the statement has an inferred type: prepare it again
 * with bytea there (see the top of the file). */
static bool retype_needed(const struct pg_stmt *st)
{
	for (int i = 0; i < st->nparams; i++)
		if (st->params[i].kind == PARAM_BLOB && st->types[i] != PG_OID_BYTEA)
			return true;
	return false;
}

/* The bound parameters as libpq takes them. */
struct pg_args {
	const char **values;
	int *lengths, *formats;
};

static void args_make(const struct pg_stmt *st, struct pg_args *a)
{
	int n = st->nparams;
	a->values = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*a->values));
	a->lengths = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*a->lengths));
	a->formats = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*a->formats));
	for (int i = 0; i < n; i++) {
		const struct pg_param *p = &st->params[i];
		a->values[i] = p->kind == PARAM_NULL ? NULL : p->value;
		a->lengths[i] = p->len;
		/* a bytea parameter takes raw bytes, text included */
		a->formats[i] = p->kind != PARAM_NULL && st->types[i] == PG_OID_BYTEA ? 1 : 0;
	}
}

static void args_free(struct pg_args *a)
{
	free(a->values);
	free(a->lengths);
	free(a->formats);
}

static enum db_rc retype_for_blobs(struct pg_stmt *st)
{
	bool again = false;
	for (int i = 0; i < st->nparams; i++) {
		if (st->params[i].kind == PARAM_BLOB && st->types[i] != PG_OID_BYTEA) {
			st->types[i] = PG_OID_BYTEA;
			again = true;
		}
	}
	if (!again && st->prepared)
		return DB_OK;
	stmt_deallocate(st);
	return stmt_prepare_server(st);
}

static enum db_rc pg_step(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	struct pg_db *pdb = (struct pg_db *)base->db;
	if (st->executed) {
		if (st->failed != DB_OK)
			return st->failed;
		if (st->res == NULL || st->row >= st->nrows)
			return DB_DONE;
		if (st->decoded != NULL)
			for (int i = 0; i < st->ncols; i++) {
				free(st->decoded[i]);
				st->decoded[i] = NULL;
			}
		if (++st->row >= st->nrows)
			return DB_DONE;
		return DB_ROW;
	}
	st->executed = true;
	if (st->deferred != DB_OK) {
		enum db_rc deferred = st->deferred;
		st->deferred = DB_OK;
		return st->failed = deferred;
	}
	/* What cannot go down the pipeline (a statement to prepare first, a
	 * connection to remake) ends it first; a ROLLBACK too, and runs
	 * whatever the deferred statements' errors were. */
	bool rollback = is_rollback(st->pg_sql);
	if (pdb->npending > 0 &&
	    (rollback || !st->prepared || retype_needed(st) || conn_lost(pdb))) {
		enum db_rc prc = pipeline_end(pdb);
		if (prc != DB_OK && !rollback)
			return st->failed = prc;
	}
	enum db_rc rc = ensure_conn(pdb, st->pg_sql);
	if (rc == DB_OK)
		rc = retype_for_blobs(st);
	if (rc != DB_OK)
		return st->failed = rc;
	struct pg_args a;
	args_make(st, &a);
	PGresult *res = NULL;
	if (pdb->npending > 0) {
		/* after the deferred ones, then the Sync: one round trip */
		if (PQsendQueryPrepared(pdb->conn, st->name, st->nparams, a.values, a.lengths,
					a.formats, 0) && PQpipelineSync(pdb->conn))
			rc = pipeline_collect(pdb, &res);
		else if (conn_lost(pdb)) {
			pdb->npending = 0; /* a new connection starts outside the pipeline */
			rc = result_error(pdb, NULL);
		} else {
			rc = result_error(pdb, NULL);
			pipeline_end(pdb);
		}
		if (rc == DB_OK && res == NULL) {
			set_error(pdb, "postgresql: the pipeline gave no answer");
			rc = DB_ERROR;
		}
	} else {
		res = PQexecPrepared(pdb->conn, st->name, st->nparams, a.values, a.lengths,
				     a.formats, 0);
		note_txn(pdb);
	}
	args_free(&a);
	if (rc != DB_OK)
		return st->failed = rc;
	ExecStatusType status = PQresultStatus(res);
	if (status == PGRES_COMMAND_OK && commit_rolled_back(st->pg_sql, res)) {
		set_error(pdb, "postgresql: the transaction had failed: COMMIT rolled it back");
		PQclear(res);
		return st->failed = DB_ERROR;
	}
	if (status == PGRES_COMMAND_OK) {
		note_changes(pdb, res);
		PQclear(res);
		return DB_DONE;
	}
	if (status != PGRES_TUPLES_OK) {
		st->failed = result_error(pdb, res);
		PQclear(res);
		return st->failed;
	}
	note_changes(pdb, res);	/* INSERT ... RETURNING */
	st->res = res;
	st->nrows = PQntuples(res);
	st->ncols = PQnfields(res);
	st->decoded = xcalloc((size_t)(st->ncols > 0 ? st->ncols : 1), sizeof(*st->decoded));
	st->decoded_len = xcalloc((size_t)(st->ncols > 0 ? st->ncols : 1),
				  sizeof(*st->decoded_len));
	st->row = 0;
	return st->nrows > 0 ? DB_ROW : DB_DONE;
}

static enum db_rc pg_step_deferred(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	struct pg_db *pdb = (struct pg_db *)base->db;
	/* as db_step when it must wait anyway: a statement to prepare (or
	 * prepare again), a connection to remake, a full pipeline */
	if (st->executed || st->deferred != DB_OK || !st->prepared || retype_needed(st) ||
	    conn_lost(pdb) || pdb->npending >= PG_PIPELINE_MAX ||
	    (pdb->npending == 0 && !PQenterPipelineMode(pdb->conn))) {
		enum db_rc rc = pg_step(base);
		return rc == DB_ROW ? DB_DONE : rc;
	}
	struct pg_args a;
	args_make(st, &a);
	int sent = PQsendQueryPrepared(pdb->conn, st->name, st->nparams, a.values, a.lengths,
				       a.formats, 0);
	args_free(&a);
	st->executed = true;
	if (!sent) {
		st->failed = result_error(pdb, NULL);
		if (pdb->npending == 0 && !conn_lost(pdb))
			PQexitPipelineMode(pdb->conn);
		return st->failed;
	}
	pdb->npending++;
	return DB_DONE;
}

static void pg_reset(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	rows_free(st);
	st->executed = false;
	st->failed = DB_OK;
}

static bool pg_stmt_busy(const struct db_stmt *base)
{
	return ((const struct pg_stmt *)base)->executed;
}

static int pg_column_count(const struct db_stmt *base)
{
	const struct pg_stmt *st = (const struct pg_stmt *)base;
	if (st->res != NULL)
		return st->ncols;
	/* before a step: what the server said the statement returns */
	struct pg_db *pdb = (struct pg_db *)base->db;
	PGresult *desc = PQdescribePrepared(pdb->conn, st->name);
	int n = PQresultStatus(desc) == PGRES_COMMAND_OK ? PQnfields(desc) : 0;
	PQclear(desc);
	return n;
}

/* The current row's value of col, or NULL when there is none / it is NULL. */
static const char *cell(const struct pg_stmt *st, int col)
{
	if (st->res == NULL || st->row < 0 || st->row >= st->nrows || col < 0 ||
	    col >= st->ncols || PQgetisnull(st->res, st->row, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

static enum db_type pg_column_type(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	const char *v = cell(st, col);
	if (v == NULL)
		return DB_TYPE_NULL;
	switch (PQftype(st->res, col)) {
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8:
	case PG_OID_OID:
	case PG_OID_BOOL:	/* SQLite's comparisons are integers */
		return DB_TYPE_INTEGER;
	case PG_OID_BYTEA:
		return DB_TYPE_BLOB;
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		return DB_TYPE_FLOAT;
	case PG_OID_NUMERIC:
		/* sum() of integers is numeric here, an integer on SQLite */
		return strpbrk(v, ".eEN") == NULL ? DB_TYPE_INTEGER : DB_TYPE_FLOAT;
	default:
		return DB_TYPE_TEXT;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The current row's bytea at col, decoded from "\x..." once per row. */
static const char *bytea_value(struct pg_stmt *st, int col, size_t *len_r)
{
	if (st->decoded[col] != NULL) {
		*len_r = st->decoded_len[col];
		return st->decoded[col];
	}
	const char *v = cell(st, col);
	size_t n = (size_t)PQgetlength(st->res, st->row, col);
	char *out;
	size_t len = 0;
	if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
		out = xmalloc((n - 2) / 2 + 1);
		for (size_t i = 2; i + 1 < n; i += 2) {
			int hi = hexval(v[i]), lo = hexval(v[i + 1]);
			if (hi < 0 || lo < 0)
				break;	/* cannot happen with bytea_output = hex */
			out[len++] = (char)(hi << 4 | lo);
		}
	} else {
		out = xmemdup(v, n);	/* not hex: the bytes as sent */
		len = n;
	}
	out[len] = '\0';
	st->decoded[col] = out;
	st->decoded_len[col] = len;
	*len_r = len;
	return out;
}

static int64_t pg_column_int64(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	const char *v = cell(st, col);
	if (v == NULL)
		return 0;
	Oid type = PQftype(st->res, col);
	if (type == PG_OID_BOOL)
		return v[0] == 't';
	if (type == PG_OID_FLOAT4 || type == PG_OID_FLOAT8 ||
	    (type == PG_OID_NUMERIC && strpbrk(v, ".eEN") != NULL)) {
		double d = strtod(v, NULL);
		if (d != d)
			return 0;
		if (d >= 9223372036854775807.0)
			return INT64_MAX;
		if (d <= -9223372036854775808.0)
			return INT64_MIN;
		return (int64_t)d;
	}
	if (type == PG_OID_BYTEA) {
		size_t len;
		v = bytea_value(st, col, &len);
	}
	return strtoll(v, NULL, 10);
}

static const char *pg_column_text(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	const char *v = cell(st, col);
	if (v == NULL)
		return NULL;
	if (PQftype(st->res, col) == PG_OID_BYTEA) {
		size_t len;
		return bytea_value(st, col, &len);
	}
	return v;
}

/* The same bytes as text: a bytea cell decoded, any other cell as sent. */
static const void *pg_column_blob(struct db_stmt *base, int col)
{
	return pg_column_text(base, col);
}

static size_t pg_column_bytes(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	const char *v = cell(st, col);
	if (v == NULL)
		return 0;
	if (PQftype(st->res, col) == PG_OID_BYTEA) {
		size_t len;
		bytea_value(st, col, &len);
		return len;
	}
	return (size_t)PQgetlength(st->res, st->row, col);
}

static enum db_rc pg_bind_column(struct db_stmt *dst, int i, struct db_stmt *src, int col)
{
	switch (pg_column_type(src, col)) {
	case DB_TYPE_NULL:
		return pg_bind_null(dst, i);
	case DB_TYPE_INTEGER:
		return pg_bind_int64(dst, i, pg_column_int64(src, col));
	case DB_TYPE_BLOB:
		return pg_bind_blob(dst, i, pg_column_blob(src, col), pg_column_bytes(src, col),
				    false);
	case DB_TYPE_FLOAT:
	case DB_TYPE_TEXT:
	default:
		return pg_bind_text(dst, i, pg_column_text(src, col),
				    (int)pg_column_bytes(src, col), false);
	}
}

static int64_t pg_changes(struct db *db)
{
	return ((struct pg_db *)db)->changes;
}

static bool pg_in_transaction(struct db *db)
{
	switch (PQtransactionStatus(((struct pg_db *)db)->conn)) {
	case PQTRANS_ACTIVE:
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		return true;
	default:
		return false;
	}
}

static const char *pg_errmsg(struct db *db)
{
	struct pg_db *pdb = (struct pg_db *)db;
	return pdb->errmsg != NULL ? pdb->errmsg : "not an error";
}

const struct db_driver db_pg_driver = {
	.name = "postgresql",
	.backend = DB_POSTGRESQL,
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.bind_column = pg_bind_column,
	.clear_bindings = pg_clear_bindings,
	.step = pg_step,
	.step_deferred = pg_step_deferred,
	.reset = pg_reset,
	.stmt_busy = pg_stmt_busy,
	.column_count = pg_column_count,
	.column_type = pg_column_type,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.column_bytes = pg_column_bytes,
	.changes = pg_changes,
	.in_transaction = pg_in_transaction,
	.errmsg = pg_errmsg,
};
void db_pg_debug_sever(struct db *db)
{
	if (db != NULL && db_backend_of(db) == DB_POSTGRESQL)
		shutdown(PQsocket(((struct pg_db *)db)->conn), SHUT_RDWR);
}
#else
void db_pg_debug_sever(struct db *db)
{
	(void)db;
}
/* Built without libpq: db.c refuses DB_POSTGRESQL. */
typedef int db_pg_not_built;
#endif
