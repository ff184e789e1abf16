/*
 * store-fts: the full-text index (see store-fts.h). The text itself comes
 * from mail/search-text.c, so what the index answers is what reading the
 * messages would answer; this file only writes it and asks the database.
 *
 * Queries: a needle of 3 characters or more is a phrase of trigrams in
 * FTS5, or LIKE '%needle%' over pg_trgm's GIN indexes on PostgreSQL: both
 * an exact substring test on the folded text. A shorter one cannot use a
 * trigram index and is an instr() (strpos()) over the indexed text of the
 * mailbox's messages (still no message is read). The per-message prefix
 * is searched the same way on messages.search_prefix.
 *
 * PostgreSQL cannot hold a NUL or bytes that are not UTF-8 in text (the
 * driver makes them U+FFFD), but neither reaches it from here: the folded
 * text and needles are valid UTF-8 (search_text_fold() makes bad bytes
 * U+FFFD, on the path that reads messages too) and hold no NUL (a NUL in
 * a message is folded to a space; a needle with one matches nothing), so
 * both backends index and compare the same bytes.
 */
#include "store/store-fts.h"
#include "store/store-content.h"
#include "lib/log.h"
#include "lib/metrics.h"
#ifdef ROOST_HAVE_PG
#include "store/db/db-pg.h"
#endif
#include "store/store-ops.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>

/* Text bytes one reindex batch holds in memory before writing. */
#define FTS_REINDEX_MAX_BYTES ((size_t)64 << 20)

/* On PostgreSQL: is the whole index there (table and trigram indexes)?
 * -1 when the asking failed. */
static int pg_ask_present(struct db *db)
{
#ifdef ROOST_HAVE_PG
	struct db_stmt *st = store_prepare(db, db_pg_fts_present_sql);
	if (st == NULL)
		return -1;
	int rc = db_step(st);
	int present = rc == DB_ROW ? db_column_int64(st, 0) == 1 : -1;
	db_reset(st);
	return present;
#else
	(void)db;
	return 0;
#endif
}

/* Asked once per open store (on the caller's connection), unless the
 * asking fails: a node sees an index made later after a restart. */
static bool pg_index_present(struct store *s, struct db *db)
{
	int known = atomic_load(&s->fts_pg_index);
	if (known != 0)
		return known > 0;
	int present = pg_ask_present(db);
	if (present >= 0)
		atomic_store(&s->fts_pg_index, present ? 1 : -1);
	return present == 1;
}

bool store_fts_enabled(struct store *s)
{
	if (s->settings.fts_disabled)
		return false;
	return !store_on_pg(s) || pg_index_present(s, store_reader(s));
}

void store_fts_pg_schema(struct db *db)
{
#ifdef ROOST_HAVE_PG
	if (db_backend_of(db) != DB_POSTGRESQL || pg_ask_present(db) == 1)
		return;
	/* a store made by a roost without the index, or pg_trgm missing
	 * then: (try to) make it now */
	char *error = NULL;
	enum store_err err = store_exec(db, "BEGIN", &error);
	if (err == STORE_OK)
		err = store_exec(db, db_pg_fts_sql, &error);
	if (err == STORE_OK)
		err = store_exec(db, "COMMIT", &error);
	if (err != STORE_OK) {
		store_exec(db, "ROLLBACK", NULL);
		log_warn("store: no full-text index on PostgreSQL, SEARCH BODY/TEXT read the"
			 " messages (slower, same answers): %s; the index needs the pg_trgm"
			 " extension (CREATE EXTENSION pg_trgm in the store's database)", error);
	} else {
		log_info("store: full-text index (pg_trgm) created; the indexer fills it");
	}
	free(error);
#else
	(void)db;
#endif
}

void store_fts_prepare(struct store *s, const struct store_deliver *d,
		       struct store_deliver_priv *p)
{
	p->nprefix_texts = d->ntargets;
	p->prefix_texts = xcalloc(d->ntargets ? d->ntargets : 1, sizeof(*p->prefix_texts));
	/* prefixes always: they are small, and a content indexed earlier
	 * must not leave a new copy's trace fields unsearchable */
	for (size_t i = 0; i < d->ntargets; i++) {
		const char *pre = d->targets[i].prefix;
		size_t len;
		if (pre != NULL && *pre != '\0')
			p->prefix_texts[i] = search_text_header_folded(pre, strlen(pre), &len);
	}
	/* The content's own text is indexed later, in batches, by the
	 * indexer thread (store_fts_index_pending): trigram rows cost many
	 * page writes, and a delivery must not wait for them. */
	(void)s;
}

void store_fts_release(struct store_deliver_priv *p)
{
	for (size_t i = 0; i < p->nprefix_texts; i++)
		free(p->prefix_texts[i]);
	free(p->prefix_texts);
	p->prefix_texts = NULL;
	p->nprefix_texts = 0;
	if (p->has_text)
		search_text_clear(&p->text);
	p->has_text = false;
}

static enum store_err step_done(struct db_stmt *st)
{
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

static enum store_err fts_delete(struct db *db, int64_t content_id)
{
	/* PostgreSQL: the row went with its content (ON DELETE CASCADE);
	 * there may be no search_fts at all (no pg_trgm) */
	if (db_backend_of(db) != DB_SQLITE)
		return STORE_OK;
	struct db_stmt *st = store_prepare(db, "DELETE FROM search_fts WHERE rowid = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, content_id);
	return step_done(st);
}

static enum store_err fts_write(struct db *db, int64_t content_id, const struct search_text *t,
				bool replace)
{
	struct db_stmt *st;
	enum store_err err;
	bool pg = db_backend_of(db) == DB_POSTGRESQL;
	if (replace && !pg) {
		if ((err = fts_delete(db, content_id)) != STORE_OK)
			return err;
	}
	/* FTS5 has no upsert; a plain table does */
	st = pg ? store_prepare(db,
		"INSERT INTO search_fts (content_id, header, body) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (content_id) DO UPDATE SET header = excluded.header,"
		" body = excluded.body") :
		store_prepare(db, "INSERT INTO search_fts (rowid, header, body) VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, content_id);
	db_bind_text(st, 2, t->header, (int)t->header_len, true);
	db_bind_text(st, 3, t->body, (int)t->body_len, true);
	if ((err = step_done(st)) != STORE_OK)
		return err;
	st = store_prepare(db, "UPDATE content_index SET fts = 1 WHERE content_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, content_id);
	return step_done(st);
}

enum store_err store_fts_write(struct store_txn *txn, int64_t content_id,
			       const struct search_text *t)
{
	return fts_write(store_txn_db(txn), content_id, t, false);
}

enum store_err store_fts_delete(struct store_txn *txn, int64_t content_id)
{
	return fts_delete(store_txn_db(txn), content_id);
}

/* --- queries --- */

static size_t utf8_chars(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* `{cols} : "needle"` with quotes doubled (FTS5 query syntax, strings). */
static char *match_expr(const char *cols, const char *needle, size_t nlen)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_printf(&b, "%s : \"", cols);
	for (size_t i = 0; i < nlen; i++) {
		if (needle[i] == '"')
			buf_putc(&b, '"');
		buf_putc(&b, needle[i]);
	}
	buf_putc(&b, '"');
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

struct uid_list {
	uint32_t *uids;
	size_t n, cap;
};

static void uid_add(struct uid_list *l, uint32_t uid)
{
	l->uids = xgrow(l->uids, &l->cap, l->n + 1, sizeof(*l->uids));
	l->uids[l->n++] = uid;
}

/* The mailbox, if it is the account's (?4): a row of another account can
 * never come back, even if the caller skipped store_mailbox_owned(). */
#define OWNED_MAILBOX "(SELECT id FROM mailboxes WHERE id = ?1 AND account_id = ?4)"

static const char *const sql_long[] = {
	[STORE_FTS_BODY] =
		"SELECT m.uid, NULL, NULL FROM messages m WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND m.content_id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?2)"
		" ORDER BY m.uid",
	[STORE_FTS_TEXT] =
		"SELECT m.uid, NULL, NULL FROM messages m WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND (m.content_id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?2)"
		" OR instr(m.search_prefix, ?3) > 0) ORDER BY m.uid",
	[STORE_FTS_HEADER] =
		"SELECT m.uid, f.header, m.search_prefix FROM messages m"
		" LEFT JOIN search_fts f ON f.rowid = m.content_id WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND (m.content_id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?2)"
		" OR instr(m.search_prefix, ?3) > 0) ORDER BY m.uid",
};

static const char *const sql_short[] = {
	[STORE_FTS_BODY] =
		"SELECT m.uid, NULL, NULL FROM messages m JOIN search_fts f ON f.rowid = m.content_id"
		" WHERE m.mailbox_id = " OWNED_MAILBOX " AND ?2 IS NOT NULL AND instr(f.body, ?3) > 0"
		" ORDER BY m.uid",
	[STORE_FTS_TEXT] =
		"SELECT m.uid, NULL, NULL FROM messages m JOIN search_fts f ON f.rowid = m.content_id"
		" WHERE m.mailbox_id = " OWNED_MAILBOX " AND ?2 IS NOT NULL AND (instr(f.header, ?3) > 0"
		" OR instr(f.body, ?3) > 0 OR instr(m.search_prefix, ?3) > 0) ORDER BY m.uid",
	[STORE_FTS_HEADER] =
		"SELECT m.uid, f.header, m.search_prefix FROM messages m"
		" JOIN search_fts f ON f.rowid = m.content_id WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND ?2 IS NOT NULL AND (instr(f.header, ?3) > 0 OR instr(m.search_prefix, ?3) > 0)"
		" ORDER BY m.uid",
};

static const char *const match_cols[] = {
	[STORE_FTS_BODY] = "body", [STORE_FTS_TEXT] = "{header body}", [STORE_FTS_HEADER] = "header",
};

/* PostgreSQL: ?2 is the LIKE pattern of the needle (like_pattern), which
 * pg_trgm's GIN indexes search_fts_header/_body answer; ?3 the needle. */
static const char *const pg_long[] = {
	[STORE_FTS_BODY] =
		"SELECT m.uid, NULL, NULL FROM messages m WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND m.content_id IN (SELECT content_id FROM search_fts WHERE body LIKE ?2)"
		" ORDER BY m.uid",
	[STORE_FTS_TEXT] =
		"SELECT m.uid, NULL, NULL FROM messages m WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND (m.content_id IN (SELECT content_id FROM search_fts"
		" WHERE header LIKE ?2 OR body LIKE ?2)"
		" OR strpos(m.search_prefix, ?3) > 0) ORDER BY m.uid",
	[STORE_FTS_HEADER] =
		"SELECT m.uid, f.header, m.search_prefix FROM messages m"
		" LEFT JOIN search_fts f ON f.content_id = m.content_id"
		" WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND (m.content_id IN (SELECT content_id FROM search_fts WHERE header LIKE ?2)"
		" OR strpos(m.search_prefix, ?3) > 0) ORDER BY m.uid",
};

/* strpos(), not LIKE: a trigram index would scan whole for these */
static const char *const pg_short[] = {
	[STORE_FTS_BODY] =
		"SELECT m.uid, NULL, NULL FROM messages m"
		" JOIN search_fts f ON f.content_id = m.content_id"
		" WHERE m.mailbox_id = " OWNED_MAILBOX " AND strpos(f.body, ?3) > 0"
		" ORDER BY m.uid",
	[STORE_FTS_TEXT] =
		"SELECT m.uid, NULL, NULL FROM messages m"
		" JOIN search_fts f ON f.content_id = m.content_id"
		" WHERE m.mailbox_id = " OWNED_MAILBOX " AND (strpos(f.header, ?3) > 0"
		" OR strpos(f.body, ?3) > 0 OR strpos(m.search_prefix, ?3) > 0) ORDER BY m.uid",
	[STORE_FTS_HEADER] =
		"SELECT m.uid, f.header, m.search_prefix FROM messages m"
		" JOIN search_fts f ON f.content_id = m.content_id"
		" WHERE m.mailbox_id = " OWNED_MAILBOX ""
		" AND (strpos(f.header, ?3) > 0 OR strpos(m.search_prefix, ?3) > 0)"
		" ORDER BY m.uid",
};

/* '%needle%' with LIKE's own characters escaped by its default escape,
 * the backslash: the needle matches as a plain substring. */
static char *like_pattern(const char *needle, size_t nlen)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_putc(&b, '%');
	for (size_t i = 0; i < nlen; i++) {
		if (needle[i] == '\\' || needle[i] == '%' || needle[i] == '_')
			buf_putc(&b, '\\');
		buf_putc(&b, needle[i]);
	}
	buf_putc(&b, '%');
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

static const char *col_text(struct db_stmt *st, int i, size_t *len_r)
{
	const char *t = db_column_text(st, i);
	*len_r = t != NULL ? (size_t)db_column_bytes(st, i) : 0;
	return t;
}

enum store_err store_fts_search(struct store *s, int64_t account_id, int64_t mailbox_id,
				enum store_fts_scope scope, const char *field, const char *needle,
				size_t nlen, uint32_t **uids_r, size_t *n_r)
{
	struct uid_list l = {0};
	*uids_r = NULL;
	*n_r = 0;
	struct db *db = store_reader(s);
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	/* the indexed text never holds NUL (search-text.c makes it a space) */
	if (memchr(needle, '\0', nlen) != NULL)
		return STORE_OK;
	bool use_match = utf8_chars(needle, nlen) >= 3;
	bool pg = store_on_pg(s);
	struct db_stmt *st = store_prepare(db, pg ? (use_match ? pg_long[scope] : pg_short[scope])
					      : (use_match ? sql_long[scope] : sql_short[scope]));
	if (st == NULL)
		return STORE_ETEMP;
	char *expr = pg ? like_pattern(needle, nlen) : match_expr(match_cols[scope], needle, nlen);
	db_bind_int64(st, 1, mailbox_id);
	db_bind_text(st, 2, expr, -1, true);
	db_bind_text(st, 3, needle, (int)nlen, true);
	db_bind_int64(st, 4, account_id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		uint32_t uid = (uint32_t)db_column_int64(st, 0);
		if (scope == STORE_FTS_HEADER) {
			/* the field's own value must hold the needle */
			size_t hl, pl;
			const char *h = col_text(st, 1, &hl), *p = col_text(st, 2, &pl);
			if (!search_text_header_find(p, pl, field, needle, nlen) &&
			    !search_text_header_find(h, hl, field, needle, nlen))
				continue;
		}
		uid_add(&l, uid);
	}
	db_reset(st);
	free(expr);
	if (rc != DB_DONE) {
		free(l.uids);
		return store_read_err(rc);
	}
	*uids_r = l.uids;
	*n_r = l.n;
	return STORE_OK;
}

enum store_err store_fts_unindexed(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint32_t **uids_r, size_t *n_r)
{
	struct uid_list l = {0};
	struct db *db = store_reader(s);
	enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
	if (err != STORE_OK)
		return err;
	/* CROSS JOIN keeps SQLite from walking the whole mailbox and probing
	 * content_index per message (80 ms at 100,000 messages): the partial
	 * index content_unindexed holds only the backlog, usually nothing.
	 * PostgreSQL has no CROSS JOIN ... ON; its planner weighs both ways. */
	struct db_stmt *st = store_on_pg(s) ?
		store_prepare(db,
		"SELECT m.uid FROM content_index i JOIN messages m"
		" ON m.content_id = i.content_id"
		" WHERE i.fts = 0 AND m.mailbox_id = " OWNED_MAILBOX " ORDER BY m.uid") :
		store_prepare(db,
		"SELECT m.uid FROM content_index i CROSS JOIN messages m"
		" ON m.content_id = i.content_id"
		" WHERE i.fts = 0 AND m.mailbox_id = " OWNED_MAILBOX " ORDER BY m.uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 4, account_id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		uid_add(&l, (uint32_t)db_column_int64(st, 0));
	db_reset(st);
	if (rc != DB_DONE) {
		free(l.uids);
		return store_read_err(rc);
	}
	*uids_r = l.uids;
	*n_r = l.n;
	return STORE_OK;
}

/* --- reindex --- */

struct reindex_prefix {
	int64_t message_id;
	char *text;
};

struct reindex_item {
	int64_t content_id;
	struct search_text text;
	struct reindex_prefix *prefixes;
	size_t nprefixes, cap;
};

struct reindex_batch {
	struct reindex_item *items;
	size_t n, cap;
	bool pending_only;	/* the indexer's batch, not a full reindex */
};

static void batch_clear(struct reindex_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		search_text_clear(&b->items[i].text);
		for (size_t j = 0; j < b->items[i].nprefixes; j++)
			free(b->items[i].prefixes[j].text);
		free(b->items[i].prefixes);
	}
	b->n = 0;
}

/* The trace-field prefixes of a content's messages, folded. */
static enum store_err read_prefixes(struct db *db, struct reindex_item *it)
{
	struct db_stmt *st = store_prepare(db,
		"SELECT id, prefix FROM messages WHERE content_id = ?1 AND prefix IS NOT NULL");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, it->content_id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *p = db_column_blob(st, 1);
		size_t plen = (size_t)db_column_bytes(st, 1), len;
		it->prefixes = xgrow(it->prefixes, &it->cap, it->nprefixes + 1, sizeof(*it->prefixes));
		it->prefixes[it->nprefixes].message_id = db_column_int64(st, 0);
		it->prefixes[it->nprefixes++].text =
			search_text_header_folded(p != NULL ? p : "", plen, &len);
	}
	db_reset(st);
	return store_read_err(rc);
}

/* Read and make the text of the next contents after *last (on the
 * caller's thread and read connection: the writer only writes). */
static enum store_err batch_read(struct store *s, int64_t account_id, int64_t *last,
				 struct reindex_batch *b, bool pending_only, size_t limit)
{
	struct db *db = store_reader(s);
	struct db_stmt *st = pending_only ?
		/* the partial index content_unindexed keeps this cheap */
		store_prepare(db,
		"SELECT c.id, c.data, i.parts, c.location, c.size FROM content_index i"
		" JOIN contents c ON c.id = i.content_id WHERE i.fts = 0 AND i.content_id > ?1"
		" AND ?2 = 0 ORDER BY i.content_id LIMIT ?3") :
		store_prepare(db,
		"SELECT c.id, c.data, i.parts, c.location, c.size FROM contents c"
		" JOIN content_index i ON i.content_id = c.id WHERE c.id > ?1"
		" AND (?2 = 0 OR EXISTS (SELECT 1 FROM messages m JOIN mailboxes x"
		" ON x.id = m.mailbox_id WHERE m.content_id = c.id AND x.account_id = ?2))"
		" ORDER BY c.id LIMIT ?3");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, *last);
	db_bind_int64(st, 2, account_id);
	db_bind_int64(st, 3, (int64_t)limit);
	size_t bytes = 0;
	int rc;
	while (bytes < FTS_REINDEX_MAX_BYTES && (rc = db_step(st)) == DB_ROW) {
		b->items = xgrow(b->items, &b->cap, b->n + 1, sizeof(*b->items));
		struct reindex_item *it = &b->items[b->n++];
		memset(it, 0, sizeof(*it));
		it->content_id = db_column_int64(st, 0);
		const char *data = db_column_blob(st, 1);
		size_t len = (size_t)db_column_bytes(st, 1);
		const char *parts = db_column_text(st, 2);
		/* store.content = dir:PATH: the bytes are in a file */
		char *file = NULL;
		if (db_column_type(st, 3) != DB_TYPE_NULL) {
			int64_t size = db_column_int64(st, 4);
			file = xmalloc(size > 0 ? (size_t)size : 1);
			enum store_err err = store_content_read(s, db_column_text(st, 3), size,
								(size_t)size, file, &len);
			if (err != STORE_OK) {
				free(file);
				b->n--;
				db_reset(st);
				return err;
			}
			data = file;
		}
		search_text_build(&it->text, NULL, 0, data != NULL ? data : "", len,
				  parts != NULL ? parts : "");
		free(file);
		bytes += it->text.header_len + it->text.body_len;
		*last = it->content_id;
	}
	if (bytes >= FTS_REINDEX_MAX_BYTES)
		rc = DB_DONE;
	db_reset(st);
	if (rc != DB_DONE)
		return store_read_err(rc);
	/* prefixes were indexed at delivery; a full reindex redoes them */
	for (size_t i = 0; i < b->n && !pending_only; i++) {
		enum store_err err = read_prefixes(db, &b->items[i]);
		if (err != STORE_OK)
			return err;
	}
	return STORE_OK;
}

static enum store_err batch_write(struct store_txn *txn, void *arg, char **error_r)
{
	struct reindex_batch *b = arg;
	struct db *db = store_txn_db(txn);
	for (size_t i = 0; i < b->n; i++) {
		struct reindex_item *it = &b->items[i];
		/* expunged since it was read: its row must not come back; and
		 * another node's indexer may have done it meanwhile */
		struct db_stmt *st = store_prepare(db,
			"SELECT i.fts FROM contents c JOIN content_index i ON i.content_id = c.id"
			" WHERE c.id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, it->content_id);
		int rc = db_step(st);
		bool done = rc == DB_ROW && db_column_int64(st, 0) != 0;
		db_reset(st);
		if (rc == DB_DONE || (done && b->pending_only))
			continue;
		if (rc != DB_ROW)
			return store_db_err(rc);
		enum store_err err = fts_write(db, it->content_id, &it->text, true);
		if (err != STORE_OK)
			return err;
		for (size_t j = 0; j < it->nprefixes; j++) {
			st = store_prepare(db, "UPDATE messages SET search_prefix = ?2 WHERE id = ?1");
			if (st == NULL)
				return STORE_ETEMP;
			db_bind_int64(st, 1, it->prefixes[j].message_id);
			db_bind_text(st, 2, it->prefixes[j].text, -1, true);
			if ((err = step_done(st)) != STORE_OK)
				return err;
		}
	}
	(void)error_r;
	return STORE_OK;
}

enum store_err store_fts_reindex(struct store *s, int64_t account_id, size_t *n_r,
				 char **error_r)
{
	struct reindex_batch b = {0};
	int64_t last = 0;
	enum store_err err = STORE_OK;
	*n_r = 0;
	if (store_on_pg(s) && !pg_index_present(s, store_reader(s))) {
		if (error_r != NULL)
			*error_r = xstrdup("this PostgreSQL store has no full-text index (the pg_trgm"
					   " extension was missing when it was opened: see the log);"
					   " SEARCH reads the messages");
		return STORE_EPERM;
	}
	for (;;) {
		if ((err = batch_read(s, account_id, &last, &b, false, STORE_FTS_REINDEX_BATCH)) !=
			    STORE_OK ||
		    b.n == 0)
			break;
		struct store_op op;
		store_op_init(&op, STORE_OP_FUNC);
		op.u.func.fn = batch_write;
		op.u.func.arg = &b;
		err = store_run(s, &op);
		if (err != STORE_OK && error_r != NULL)
			*error_r = xstrdup(op.error != NULL ? op.error : store_strerror(err));
		store_op_clear(&op);
		if (err != STORE_OK)
			break;
		*n_r += b.n;
		batch_clear(&b);
	}
	batch_clear(&b);
	free(b.items);
	return err;
}

enum store_err store_fts_backlog(struct store *s, int64_t *n_r)
{
	*n_r = 0;
	if (!store_fts_enabled(s))
		return STORE_OK;
	/* the partial index content_unindexed holds exactly these rows */
	struct db_stmt *st = store_prepare(store_reader(s),
					 "SELECT count(*) FROM content_index WHERE fts = 0");
	if (st == NULL)
		return STORE_ETEMP;
	int rc = db_step(st);
	if (rc == DB_ROW)
		*n_r = db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_row_err(rc);
}

enum store_err store_fts_index_pending(struct store *s, size_t max, size_t *n_r)
{
	struct reindex_batch b = {0};
	int64_t last = 0;
	*n_r = 0;
	if (!store_fts_enabled(s))
		return STORE_OK;
	b.pending_only = true;
	enum store_err err = batch_read(s, 0, &last, &b, true, max);
	if (err == STORE_OK && b.n > 0) {
		struct store_op op;
		store_op_init(&op, STORE_OP_FUNC);
		op.u.func.fn = batch_write;
		op.u.func.arg = &b;
		err = store_run(s, &op);
		store_op_clear(&op);
		if (err == STORE_OK)
			*n_r = b.n;
		if (err == STORE_OK)
			metrics_add("roost_indexer_contents_total", NULL, NULL, (int64_t)b.n);
	}
	batch_clear(&b);
	free(b.items);
	return err;
}
