/*
 * store-fts: the full-text index SEARCH uses instead of reading messages
 * (SQLite FTS5, trigram tokenizer; on PostgreSQL a table with pg_trgm GIN
 * indexes, db-pg-schema.c). Per content (shared by copies) one row of
 * search_fts(header, body), rowid (content_id) = content id, holding the
 * folded text of mail/search-text.h; per message the folded text of its
 * prefix (the trace fields) in messages.search_prefix. content_index.fts
 * says whether a content is indexed; contents stored while the index was
 * off (setting search.fts = no) are indexed later by `roost reindex`.
 * A PostgreSQL store whose server lacks pg_trgm has no index: SEARCH then
 * reads the messages, as with search.fts = no.
 *
 * A message's prefix text is made on the submitting thread and written with
 * the message. The content's text is indexed afterwards by the indexer
 * thread (store-indexer.c), in batches through the writer: trigram rows
 * cost many page writes, and deliveries must not wait for them. Until
 * then SEARCH reads that content (store_fts_unindexed), so answers never
 * depend on how far the indexer got. The row goes when the content does.
 */
#ifndef ROOST_STORE_FTS_H
#define ROOST_STORE_FTS_H
#include "store/store.h"

/* Contents per reindex transaction: small enough that the daemon's
 * writer is never held for long, big enough to amortise the commit. */
#define STORE_FTS_REINDEX_BATCH 200

/* Is the index kept and used (store_settings.fts_disabled unset, and on
 * PostgreSQL the index there)? Any thread (its read connection). */
bool store_fts_enabled(struct store *s);

enum store_fts_scope {
	STORE_FTS_BODY,		/* the body text */
	STORE_FTS_TEXT,		/* prefix, header or body */
	STORE_FTS_HEADER,	/* one header field (prefix or header) */
};

/* Both reads: STORE_ENOTFOUND when the mailbox is not account_id's. */
/* UIDs (ascending, malloc'd) of the indexed messages of a mailbox whose
 * text in `scope` contains `needle` (folded by search_text_fold()). For
 * STORE_FTS_HEADER, `field` is the folded field name. Messages whose
 * content is not indexed are never returned: see store_fts_unindexed(). */
enum store_err store_fts_search(struct store *s, int64_t account_id, int64_t mailbox_id,
				enum store_fts_scope scope, const char *field, const char *needle,
				size_t nlen, uint32_t **uids_r, size_t *n_r);
/* UIDs (ascending, malloc'd) of the mailbox's messages whose content is
 * not indexed. */
enum store_err store_fts_unindexed(struct store *s, int64_t account_id, int64_t mailbox_id,
				   uint32_t **uids_r, size_t *n_r);

/* (Re)build the index of every content of an account (0: all), in
 * transactions of STORE_FTS_REINDEX_BATCH contents through the writer, so
 * it runs beside a live daemon. *n_r: contents indexed. STORE_EPERM on a
 * PostgreSQL store without the index. */
enum store_err store_fts_reindex(struct store *s, int64_t account_id, size_t *n_r,
				 char **error_r);

/* Index up to `max` contents not indexed yet, in one transaction through
 * the writer (text made on the caller's thread). *n_r: how many. */
enum store_err store_fts_index_pending(struct store *s, size_t max, size_t *n_r);

/* --- inside src/store/ --- */
/* On opening a PostgreSQL store (no-op on SQLite), on its connection
 * outside a transaction: make the index (and CREATE EXTENSION pg_trgm)
 * if it is not there yet; if that fails, warn once and go on without. */
struct db;
void store_fts_pg_schema(struct db *db);
struct store_txn;
struct search_text;
/* Write (replace) a content's index row and mark it indexed. */
enum store_err store_fts_write(struct store_txn *txn, int64_t content_id,
			       const struct search_text *t);
struct store_deliver;
struct store_deliver_priv;
/* On the submitting thread: the content's text (when the index is on)
 * and every target's folded prefix, into p. */
void store_fts_prepare(struct store *s, const struct store_deliver *d,
		       struct store_deliver_priv *p);
void store_fts_release(struct store_deliver_priv *p);
/* Drop a content's index row (its last message is gone; on PostgreSQL
 * the row already went with the content row, ON DELETE CASCADE). */
enum store_err store_fts_delete(struct store_txn *txn, int64_t content_id);
#endif
