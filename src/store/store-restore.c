/*
 * store-restore: one account back from a backup's database into a live
 * store (`roost restore --account`), in one write transaction through the
 * writer, so sessions see the account either absent or whole.
 *
 * The account must not exist (the command says: delete it first); it
 * gets new account and mailbox ids (AUTOINCREMENT: ids are never handed
 * out twice) and keeps everything a client can see: mailbox names,
 * UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, subscriptions, special-use; each
 * message's UID, MODSEQ, flags, keywords, internal date, POP3 UIDL and
 * state, EMAILID/THREADID; the expunge log (QRESYNC), threads, METADATA,
 * URLAUTH keys, subscriptions, app passwords, SCRAM keys, Sieve scripts
 * and their state, per-account settings. Content
 * already stored (same SHA-256) is shared; new content is indexed again
 * by the indexer (fts = 0). Quota is not checked: the account had this
 * mail; its usage comes over as it was, equal to a recount.
 * Known gap: mail that reached the account after the backup went with
 * the deleted account, and its UIDs can be handed out again under the
 * same UIDVALIDITY (a client that saw them keeps stale cache entries). A
 * replace that keeps the live UIDNEXT and HIGHESTMODSEQ would close it.
 *
 * The source is a struct db: a backup's SQLite file here, or the live
 * store of either backend for `roost store copy` (store-copy.c), which
 * runs the same per-account copy for every account in one transaction.
 * Rows are streamed (store_src_rows), a message's content read one at a
 * time, so memory stays bounded by the largest message.
 */
#include "store/store-backup.h"
#include "store/store-copy.h"
#include "store/store-content.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include "store/store-internal.h"
#include "store/store-private.h"
#include "store/db/db.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct restore_args {
	const char *src_name, *src_what, *address;
	struct db *src;
	int64_t account_id, old_account_id;
	int64_t *map_old, *map_new;
	size_t nmap, cap;
	size_t nmessages;
	int64_t max_objectid;
};

/* Rows of a SELECT on a source connection, one at a time. SQLite steps
 * its statement row by row; PostgreSQL's driver keeps a whole result, so
 * there the SELECT runs as a cursor (inside the caller's transaction on
 * the source), STORE_SRC_FETCH_ROWS rows per FETCH. */
static atomic_uint cursor_serial;

int store_src_rows_open(struct store_src_rows *r, struct db *db, const char *select_sql)
{
	memset(r, 0, sizeof(*r));
	r->db = db;
	if (db_backend_of(db) != DB_POSTGRESQL) {
		r->row = NULL;
		return db_prepare(db, select_sql, &r->query);
	}
	snprintf(r->cursor, sizeof(r->cursor), "roost_src_%u", atomic_fetch_add(&cursor_serial, 1));
	char *sql = xasprintf("DECLARE %s NO SCROLL CURSOR FOR %s", r->cursor, select_sql);
	int rc = db_prepare(db, sql, &r->query);
	free(sql);
	return rc;
}

int store_src_rows_step(struct store_src_rows *r)
{
	if (r->fetch == NULL && db_backend_of(r->db) != DB_POSTGRESQL) {
		r->row = r->query;
		return db_step(r->query);
	}
	if (r->fetch == NULL) {
		int rc = db_step(r->query);	/* DECLARE: opens the cursor */
		if (rc != DB_DONE)
			return rc == DB_ROW ? DB_ERROR : rc;
		r->declared = true;
		char *sql = xasprintf("FETCH FORWARD %d FROM %s", STORE_SRC_FETCH_ROWS, r->cursor);
		rc = db_prepare(r->db, sql, &r->fetch);
		free(sql);
		if (rc != DB_OK)
			return rc;
		r->row = r->fetch;
		r->nbatch = 0;
	}
	int rc = db_step(r->fetch);
	if (rc == DB_DONE && r->nbatch > 0) {
		/* this batch is used up: the next one */
		db_reset(r->fetch);
		r->nbatch = 0;
		rc = db_step(r->fetch);
	}
	if (rc == DB_ROW)
		r->nbatch++;
	return rc;
}

struct db_stmt *store_src_rows_stmt(struct store_src_rows *r)
{
	return r->query;
}

struct db_stmt *store_src_rows_row(struct store_src_rows *r)
{
	return r->row;
}

void store_src_rows_close(struct store_src_rows *r)
{
	db_finalize(r->fetch);
	db_finalize(r->query);
	if (r->declared) {
		char *sql = xasprintf("CLOSE %s", r->cursor);
		db_exec(r->db, sql, NULL);
		free(sql);
	}
	memset(r, 0, sizeof(*r));
}

static enum store_err done_err(struct db_stmt *st)
{
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

/* map_old is ascending: the mailboxes are read in id order */
static int64_t map_mailbox(const struct restore_args *a, int64_t old)
{
	size_t lo = 0, hi = a->nmap;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->map_old[mid] == old)
			return a->map_new[mid];
		if (a->map_old[mid] < old)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Bind src columns [from, from+n) to dst parameters starting at `param`. */
static void bind_cols(struct db_stmt *dst, int param, struct db_stmt *src, int from, int n)
{
	for (int i = 0; i < n; i++)
		db_bind_column(dst, param + i, src, from + i);
}

/* The same, as text: columns that are bytea on PostgreSQL and text on
 * SQLite (content_index's IMAP renderings) stay text on SQLite. */
static void bind_cols_text(struct db_stmt *dst, int param, struct db_stmt *src, int from, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = db_column_bytes(src, from + i);
		if (db_column_type(src, from + i) == DB_TYPE_BLOB && len <= INT32_MAX)
			db_bind_text(dst, param + i, db_column_blob(src, from + i), (int)len, false);
		else
			db_bind_column(dst, param + i, src, from + i);
	}
}

static enum store_err src_err(struct restore_args *a, int rc, char **error_r)
{
	if (error_r != NULL && *error_r == NULL)
		*error_r = xasprintf("%s: %s", a->src_name, db_errmsg(a->src));
	enum store_err err = store_db_err(rc);
	return err == STORE_OK ? STORE_ETEMP : err;
}

/* Copy the rows of a per-account (?1 = old account id) SELECT into an
 * INSERT whose ?1 is the new account id, ?2 the mapped mailbox id of
 * column 0 (mailbox_col), then the other columns from ?3 on. */
static enum store_err copy_rows(struct store_txn *txn, struct restore_args *a, int64_t old_id,
				const char *select_sql, const char *insert_sql, bool mailbox_col,
				char **error_r)
{
	struct store_src_rows r;
	int rc = store_src_rows_open(&r, a->src, select_sql);
	if (rc != DB_OK) {
		store_src_rows_close(&r);
		return src_err(a, rc, error_r);
	}
	db_bind_int64(store_src_rows_stmt(&r), 1, old_id);
	struct db_stmt *ins = store_prepare(txn->db, insert_sql);
	enum store_err err = ins == NULL ? STORE_ETEMP : STORE_OK;
	while (err == STORE_OK && (rc = store_src_rows_step(&r)) == DB_ROW) {
		struct db_stmt *q = store_src_rows_row(&r);
		int n = db_column_count(q);
		db_bind_int64(ins, 1, a->account_id);
		int first = 0;
		if (mailbox_col) {
			int64_t old_mb = db_column_int64(q, 0);
			/* mailbox 0: the account's own METADATA entries */
			db_bind_int64(ins, 2, old_mb == 0 ? 0 : map_mailbox(a, old_mb));
			first = 1;
		}
		bind_cols(ins, mailbox_col ? 3 : 2, q, first, n - first);
		err = done_err(ins);
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = src_err(a, rc, error_r);
	store_src_rows_close(&r);
	return err;
}

/* One source row for a point query (a few columns of one row). */
static int src_row(struct restore_args *a, const char *sql, int64_t id, struct db_stmt **q_r)
{
	int rc = db_prepare(a->src, sql, q_r);
	if (rc != DB_OK)
		return rc;
	db_bind_int64(*q_r, 1, id);
	return db_step(*q_r);
}

static enum store_err copy_content(struct store_txn *txn, struct restore_args *a,
				   struct db_stmt *m, int64_t *cid_r, char **error_r)
{
	/* m columns 16..19: hash, size, crlf_size, old content id */
	struct db_stmt *st = store_prepare(txn->db, "SELECT id FROM contents WHERE hash = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_column(st, 1, m, 16);
	int rc = db_step(st);
	int64_t cid = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_db_err(rc);
	if (cid != 0) {
		st = store_prepare(txn->db, "UPDATE contents SET refs = refs + 1 WHERE id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, cid);
		*cid_r = cid;
		return done_err(st);
	}
	/* the bytes alone, one content at a time: memory stays bounded by the
	 * largest message, whatever the source's driver buffers */
	struct db_stmt *d = NULL;
	int64_t old_cid = db_column_int64(m, 19);
	rc = src_row(a, "SELECT data, location, size, hash FROM contents WHERE id = ?1", old_cid,
		     &d);
	if (rc != DB_ROW) {
		db_finalize(d);
		return src_err(a, rc == DB_DONE ? DB_CORRUPT : rc, error_r);
	}
	/* Bytes in the content directory (store.content = dir:PATH) are read
	 * from it; this store writes them its own way. A file is never shared
	 * by two stores: deleting from one must not take the other's. */
	const void *bytes = db_column_blob(d, 0);
	size_t nbytes = db_column_bytes(d, 0);
	char *file_bytes = NULL, *location = NULL;
	enum store_err err = STORE_OK;
	if (db_column_type(d, 1) != DB_TYPE_NULL) {
		int64_t size = db_column_int64(d, 2);
		file_bytes = xmalloc(size > 0 ? (size_t)size : 1);
		err = store_content_read(txn->s, db_column_text(d, 1), size, (size_t)size,
					 file_bytes, &nbytes);
		if (err != STORE_OK)
			*error_r = xasprintf("content %lld: its file cannot be read",
					     (long long)old_cid);
		bytes = file_bytes;
	}
	if (err == STORE_OK && store_content_in_files(txn->s) &&
	    db_column_bytes(d, 3) == 32)
		err = store_content_put(txn, db_column_blob(d, 3), bytes, nbytes, &location);
	st = err != STORE_OK ? NULL :
		store_prepare(txn->db, "INSERT INTO contents (hash, size, crlf_size, refs, data,"
				       " location) VALUES (?1, ?2, ?3, 1, ?4, ?5) RETURNING id");
	if (st == NULL) {
		db_finalize(d);
		free(file_bytes);
		free(location);
		return err != STORE_OK ? err : STORE_ETEMP;
	}
	bind_cols(st, 1, m, 16, 3);
	db_bind_blob(st, 4, location != NULL ? "" : bytes != NULL ? bytes : "",
		     location != NULL ? 0 : nbytes, false);
	db_bind_text(st, 5, location, -1, false);
	err = store_insert_id(st, &cid);
	db_finalize(d);
	free(file_bytes);
	free(location);
	if (err != STORE_OK)
		return err;
	struct db_stmt *q = NULL;
	rc = src_row(a, "SELECT envelope, body, bodystructure, parts, subject, from_addr,"
			" to_addr, cc_addr, bcc_addr, message_id, in_reply_to, references_hdr,"
			" date, header_len, preview FROM content_index WHERE content_id = ?1",
		     old_cid, &q);
	if (rc == DB_ROW) {
		/* fts = 0: the indexer adds it to the full-text index */
		st = store_prepare(txn->db,
				   "INSERT INTO content_index (content_id, envelope, body, bodystructure,"
				   " parts, subject, from_addr, to_addr, cc_addr, bcc_addr, message_id,"
				   " in_reply_to, references_hdr, date, header_len, preview, fts)"
				   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
				   " ?14, ?15, ?16, 0)");
		if (st == NULL)
			err = STORE_ETEMP;
		else {
			db_bind_int64(st, 1, cid);
			bind_cols_text(st, 2, q, 0, 4);
			bind_cols(st, 6, q, 4, 11);
			err = done_err(st);
		}
	} else if (rc != DB_DONE) {
		err = src_err(a, rc, error_r);
	}
	db_finalize(q);
	*cid_r = cid;
	return err;
}

static enum store_err copy_messages(struct store_txn *txn, struct restore_args *a, int64_t old_id,
				    char **error_r)
{
	struct store_src_rows r;
	int rc = store_src_rows_open(&r, a->src,
		"SELECT m.mailbox_id, m.uid, m.modseq, m.flags, m.keywords, m.internaldate,"
		" m.savedate, m.size, m.crlf_size, m.prefix, m.pop3_uidl, m.pop3_hidden,"
		" m.pop3_retrieved, m.emailid, m.threadid, m.search_prefix,"
		" c.hash, c.size, c.crlf_size, c.id"
		" FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id"
		" JOIN contents c ON c.id = m.content_id WHERE mb.account_id = ?1");
	if (rc != DB_OK) {
		store_src_rows_close(&r);
		return src_err(a, rc, error_r);
	}
	db_bind_int64(store_src_rows_stmt(&r), 1, old_id);
	enum store_err err = STORE_OK;
	while (err == STORE_OK && (rc = store_src_rows_step(&r)) == DB_ROW) {
		struct db_stmt *m = store_src_rows_row(&r);
		int64_t cid = 0;
		err = copy_content(txn, a, m, &cid, error_r);
		if (err != STORE_OK)
			break;
		struct db_stmt *ins = store_prepare(
			txn->db,
			"INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internaldate,"
			" savedate, size, crlf_size, prefix, pop3_uidl, pop3_hidden, pop3_retrieved,"
			" emailid, threadid, search_prefix, content_id)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
			" ?16, ?17)");
		if (ins == NULL) {
			err = STORE_ETEMP;
			break;
		}
		db_bind_int64(ins, 1, map_mailbox(a, db_column_int64(m, 0)));
		bind_cols(ins, 2, m, 1, 15);
		db_bind_int64(ins, 17, cid);
		err = done_err(ins);
		int64_t e = db_column_int64(m, 13), t = db_column_int64(m, 14);
		if (e > a->max_objectid)
			a->max_objectid = e;
		if (t > a->max_objectid)
			a->max_objectid = t;
		a->nmessages++;
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = src_err(a, rc, error_r);
	store_src_rows_close(&r);
	return err;
}

static enum store_err restore_account(struct store_txn *txn, struct restore_args *a,
				      char **error_r)
{
	const char *at = strrchr(a->address, '@');
	struct db_stmt *st = store_prepare(txn->db, "SELECT id FROM domains WHERE name = ?1");
	if (st == NULL || at == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, at + 1, -1, true);
	int rc = db_step(st);
	int64_t domain_id = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc == DB_DONE) {
		*error_r = xasprintf("domain %s is not hosted (roost domain add %s)", at + 1, at + 1);
		return STORE_ENOTFOUND;
	}
	if (rc != DB_ROW)
		return store_db_err(rc);
	st = store_prepare(txn->db, "SELECT id FROM accounts WHERE address = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->address, -1, true);
	rc = db_step(st);
	db_reset(st);
	if (rc == DB_ROW) {
		*error_r = xasprintf("%s exists: restoring replaces nothing; to replace it, "
				     "roost user del %s (its mail is then gone), then restore",
				     a->address, a->address);
		return STORE_EEXISTS;
	}
	if (rc != DB_DONE)
		return store_db_err(rc);

	struct db_stmt *q = NULL;
	rc = db_prepare(a->src, "SELECT id, address, pwhash, quota_bytes, quota_messages, used_bytes,"
				" used_messages, pop3_delete, created, disabled, pop3_mailboxes FROM accounts"
				" WHERE address = ?1", &q);
	if (rc != DB_OK) {
		db_finalize(q);
		return src_err(a, rc, error_r);
	}
	db_bind_text(q, 1, a->address, -1, true);
	rc = db_step(q);
	if (rc != DB_ROW) {
		db_finalize(q);
		if (rc == DB_DONE) {
			*error_r = xasprintf("%s is not in %s", a->address, a->src_what);
			return STORE_ENOTFOUND;
		}
		return src_err(a, rc, error_r);
	}
	int64_t old_id = db_column_int64(q, 0);
	a->old_account_id = old_id;
	st = store_prepare(txn->db,
			   "INSERT INTO accounts (domain_id, address, pwhash, quota_bytes, quota_messages,"
			   " used_bytes, used_messages, pop3_delete, created, disabled, pop3_mailboxes)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id");
	enum store_err err = st == NULL ? STORE_ETEMP : STORE_OK;
	if (err == STORE_OK) {
		db_bind_int64(st, 1, domain_id);
		bind_cols(st, 2, q, 1, 10);
		err = store_insert_id(st, &a->account_id);
	}
	db_finalize(q);
	if (err != STORE_OK)
		return err;

	struct store_src_rows r;
	rc = store_src_rows_open(&r, a->src,
				 "SELECT id, name, uidvalidity, uidnext, highestmodseq, special_use,"
				 " subscribed, recent_uid FROM mailboxes WHERE account_id = ?1"
				 " ORDER BY id");
	if (rc != DB_OK) {
		store_src_rows_close(&r);
		return src_err(a, rc, error_r);
	}
	db_bind_int64(store_src_rows_stmt(&r), 1, old_id);
	while (err == STORE_OK && (rc = store_src_rows_step(&r)) == DB_ROW) {
		q = store_src_rows_row(&r);
		if (a->nmap >= STORE_MAX_MAILBOXES) {
			*error_r = xasprintf("%s: %s has more than %d mailboxes", a->src_name,
					     a->address, STORE_MAX_MAILBOXES);
			err = STORE_ELIMIT;
			break;
		}
		st = store_prepare(txn->db,
				   "INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext,"
				   " highestmodseq, special_use, subscribed, recent_uid)"
				   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id");
		if (st == NULL) {
			err = STORE_ETEMP;
			break;
		}
		db_bind_int64(st, 1, a->account_id);
		bind_cols(st, 2, q, 1, 7);
		int64_t new_id = 0;
		err = store_insert_id(st, &new_id);
		if (err != STORE_OK)
			break;
		a->map_old = xgrow(a->map_old, &a->cap, a->nmap + 1, sizeof(*a->map_old));
		a->map_new = xrealloc(a->map_new, a->cap * sizeof(*a->map_new));
		a->map_old[a->nmap] = db_column_int64(q, 0);
		a->map_new[a->nmap++] = new_id;
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = src_err(a, rc, error_r);
	store_src_rows_close(&r);
	if (err == STORE_OK)
		err = copy_messages(txn, a, old_id, error_r);
	static const struct {
		const char *select, *insert;
		bool mailbox;
	} tables[] = {
		{"SELECT e.mailbox_id, e.uid, e.modseq FROM expunged e JOIN mailboxes mb"
		 " ON mb.id = e.mailbox_id WHERE mb.account_id = ?1",
		 "INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?2, ?3, ?4)", true},
		{"SELECT message_id, threadid FROM threads WHERE account_id = ?1",
		 "INSERT INTO threads (account_id, message_id, threadid) VALUES (?1, ?2, ?3)", false},
		{"SELECT mailbox_id, name, value FROM metadata WHERE account_id = ?1",
		 "INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES (?1, ?2, ?3, ?4)",
		 true},
		{"SELECT mailbox_id, key FROM urlauth_keys WHERE account_id = ?1",
		 "INSERT INTO urlauth_keys (account_id, mailbox_id, key) VALUES (?1, ?2, ?3)", true},
		{"SELECT label, pwhash, created FROM app_passwords WHERE account_id = ?1",
		 "INSERT INTO app_passwords (account_id, label, pwhash, created)"
		 " VALUES (?1, ?2, ?3, ?4)", false},
		{"SELECT pwhash, iterations, salt, stored_key, server_key FROM scram_keys"
		 " WHERE account_id = ?1",
		 "INSERT INTO scram_keys (account_id, pwhash, iterations, salt, stored_key,"
		 " server_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", false},
		{"SELECT name FROM subscriptions WHERE account_id = ?1",
		 "INSERT INTO subscriptions (account_id, name) VALUES (?1, ?2)", false},
		{"SELECT save_sent FROM submission_settings WHERE account_id = ?1",
		 "INSERT INTO submission_settings (account_id, save_sent) VALUES (?1, ?2)", false},
		/* Sieve scripts and their delivery state (schema 4) */
		{"SELECT name, content, active, updated FROM sieve_scripts WHERE account_id = ?1",
		 "INSERT INTO sieve_scripts (account_id, name, content, active, updated)"
		 " VALUES (?1, ?2, ?3, ?4, ?5)", false},
		{"SELECT sender, handle, sent FROM sieve_vacation WHERE account_id = ?1",
		 "INSERT INTO sieve_vacation (account_id, sender, handle, sent) VALUES (?1, ?2, ?3, ?4)",
		 false},
		{"SELECT msgid, address, sent FROM sieve_redirects WHERE account_id = ?1",
		 "INSERT INTO sieve_redirects (account_id, msgid, address, sent)"
		 " VALUES (?1, ?2, ?3, ?4)", false},
		{"SELECT id, seen FROM sieve_duplicates WHERE account_id = ?1",
		 "INSERT INTO sieve_duplicates (account_id, id, seen) VALUES (?1, ?2, ?3)", false},
	};
	for (size_t i = 0; err == STORE_OK && i < sizeof(tables) / sizeof(tables[0]); i++)
		err = copy_rows(txn, a, old_id, tables[i].select, tables[i].insert,
				tables[i].mailbox, error_r);
	if (err == STORE_OK) {
		/* EMAILID/THREADID are never handed out again */
		st = store_prepare(txn->db, "UPDATE meta SET value = CAST(?1 AS TEXT)"
					    " WHERE key = 'objectid' AND CAST(value AS BIGINT) < ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, a->max_objectid);
		err = done_err(st);
	}
	return err;
}

static enum store_err fn_restore(struct store_txn *txn, void *arg, char **error_r)
{
	return restore_account(txn, arg, error_r);
}

enum store_err store_restore_account_txn(struct store_txn *txn, struct db *src,
					 const char *src_name, const char *address,
					 struct store_restore_result *result_r, char **error_r)
{
	struct restore_args a = {.src_name = src_name, .src_what = src_name, .address = address,
				 .src = src};
	enum store_err err = restore_account(txn, &a, error_r);
	result_r->old_account_id = a.old_account_id;
	result_r->new_account_id = a.account_id;
	result_r->nmailboxes = a.nmap;
	result_r->nmessages = a.nmessages;
	free(a.map_old);
	free(a.map_new);
	return err;
}

enum store_err store_restore_account(struct store *s, const char *db_path, const char *address,
				     size_t *nmailboxes_r, size_t *nmessages_r, char **error_r)
{
	/* an open store is at this roost's version (store_open upgrades it
	 * or refuses), on either backend */
	long live_version = store_schema_current(), version = 0;
	enum store_err err = store_backup_schema_version(db_path, &version, error_r);
	if (err != STORE_OK)
		return err;
	if (version != live_version) {
		*error_r = xasprintf("the backup has schema version %ld, this server %ld: restore "
				     "the whole backup elsewhere, then move the account", version,
				     live_version);
		return STORE_EINVAL;
	}
	struct restore_args a = {.src_name = db_path, .src_what = "the backup", .address = address};
	/* A backup is a SQLite file whatever the live store's backend is. */
	if (db_open(DB_SQLITE, db_path, DB_OPEN_READONLY, &a.src, error_r) != DB_OK)
		return STORE_ETEMP;
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = fn_restore;
	op.u.func.arg = &a;
	err = store_run(s, &op);
	if (err != STORE_OK)
		*error_r = op.error ? xstrdup(op.error) : xstrdup(store_strerror(err));
	store_op_clear(&op);
	db_close(a.src);
	*nmailboxes_r = a.nmap;
	*nmessages_r = a.nmessages;
	free(a.map_old);
	free(a.map_new);
	return err;
}
