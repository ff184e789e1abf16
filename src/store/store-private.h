/*
 * store-private: shared by the files of src/store/ only. Nothing outside
 * src/store/ includes this or sees SQL.
 *
 * Schema (see store-schema.c, the source of truth):
 *   meta(key, value)                     schema version, uidvalidity counter
 *   domains(id, name, catchall)          ids of domains, accounts and
 *                                        mailboxes: AUTOINCREMENT, never reused
 *   accounts(id, domain_id, address, pwhash, quota_bytes, quota_messages,
 *            used_bytes, used_messages, pop3_delete, created, disabled)
 *            quota_* NULL = server default, -1 = unlimited
 *   aliases(alias, target)
 *   mailboxes(id, account_id, name, uidvalidity, uidnext, highestmodseq,
 *             special_use, subscribed, recent_uid)
 *            recent_uid: highest UID claimed as \Recent, on disk (store-recent.c)
 *            subscribed: unread since schema 3 (subscriptions)
 *   subscriptions(account_id, name)   subscribed names, mailbox or not
 *   contents(id, hash, size, refs, data)         immutable, deduplicated
 *   content_index(content_id, envelope, body, bodystructure, parts, subject,
 *             from_addr, to_addr, cc_addr, bcc_addr, message_id, in_reply_to,
 *             references_hdr, date, header_len, preview)  computed once per content
 *   messages(id, mailbox_id, uid, modseq, flags, keywords, internaldate,
 *            savedate, size, content_id, prefix, pop3_uidl, pop3_hidden,
 *            pop3_retrieved, emailid, threadid)  size = length(prefix) + contents.size
 *            emailid/threadid: OBJECTID numbers (store-msg-extra.c), kept by COPY/MOVE
 *   search_fts(header, body)  FTS5 trigram, rowid = content id; folded text
 *            (store-fts.c); content_index.fts = 1 once indexed,
 *            messages.search_prefix = the prefix's folded text
 *   threads(account_id, message_id, threadid)  Message-ID -> thread (store-msg-extra.c)
 *   expunged(mailbox_id, uid, modseq)   the expunge log (QRESYNC, feeds)
 *   metadata(account_id, mailbox_id, name, value)  METADATA entries (RFC 5464,
 *            store-metadata.c); mailbox_id 0 = the server's
 *   urlauth_keys(account_id, mailbox_id, key)  URLAUTH access keys (store-urlauth.c)
 *   sieve_scripts(account_id, name, content, active, updated)  Sieve scripts,
 *            at most one active per account (store-sieve.c)
 *   sieve_vacation, sieve_redirects, sieve_duplicates  Sieve delivery state
 */
#ifndef ROOST_STORE_PRIVATE_H
#define ROOST_STORE_PRIVATE_H
#include "store/store.h"
#include "store/db/db.h"
#include "store/store-fault.h"

/* This thread's read connection (opened on first use, closed at exit). */
struct db *store_reader(struct store *s);
/* The write connection inside a STORE_OP_FUNC / op run. */
struct db *store_txn_db(struct store_txn *txn);
/* Mark a mailbox changed in this transaction: the change feed fires for it
 * after commit. Returns the mailbox's next MODSEQ (same for the whole op). */
uint64_t store_txn_touch_mailbox(struct store_txn *txn, int64_t mailbox_id);

/* Prepared statement helpers: prepare (cached per thread and connection,
 * keyed by the SQL text's address: pass string literals) or log+fail.
 * The statement comes back reset with no bindings. It stays valid until
 * its connection closes (the cache never evicts), so nested reads may
 * prepare as many others as they like; the same SQL text, though, is one
 * statement: do not prepare it again while stepping it. */
struct db_stmt *store_prepare(struct db *db, const char *sql);
/* Run one parameterless statement through the cache (hot paths:
 * SAVEPOINT, RELEASE, BEGIN, COMMIT). `sql` must be a string literal. */
enum store_err store_step_sql(struct db *db, const char *sql);
/* The same with db_step_deferred (db.h): for a statement whose error may
 * surface at the next one that waits for an answer. */
enum store_err store_step_sql_deferred(struct db *db, const char *sql);
/* Prepare `sql` (?1 = mailbox id, ?2 = UID, ?3 = account id: the SQL
 * must join the mailbox and require its account_id = ?3) on this thread's
 * read connection and step to its one row: STORE_OK with *st_r on the row
 * (the caller resets it), STORE_ENOTFOUND (no such message in a mailbox
 * of that account), or another error (STORE_ETEMP...). */
enum store_err store_message_row(struct store *s, const char *sql, int64_t account_id,
				 int64_t mailbox_id, uint32_t uid, struct db_stmt **st_r);
/* Is mailbox_id one of account_id's mailboxes? STORE_OK, STORE_ENOTFOUND
 * (absent, or another account's), or the read error. On any connection. */
enum store_err store_mailbox_owned(struct db *db, int64_t account_id, int64_t mailbox_id);
/* A read's db_step result as a store error (the error discipline,
 * store.h): store_read_err() for a statement whose DONE is success (a
 * list), store_row_err() for one that must give a row (DONE = absent:
 * STORE_ENOTFOUND). Anything else is STORE_ECORRUPT for a broken file,
 * else STORE_ETEMP (busy, locked, I/O: retry later). */
enum store_err store_read_err(int rc);
enum store_err store_row_err(int rc);
/* Columns a and b of the current row (a message's prefix and content, or
 * part of it) joined into one malloc'd NUL-terminated buffer. */
char *store_join_columns(struct db_stmt *st, int a, int b, size_t *len_r, size_t *a_len_r);
/* The same for a message: column a its prefix, b its content's data and
 * loc its location (store-content.h): when loc is not NULL the bytes are
 * read from that file, `size` of them (the row's), at most max. */
enum store_err store_join_content(struct store *s, struct db_stmt *st, int a, int b, int loc,
				  int64_t size, size_t max, char **data_r, size_t *len_r,
				  size_t *a_len_r);
/* Step an INSERT ... RETURNING id and reset it: STORE_OK with the new
 * row's id in *id_r, or the error (a constraint: STORE_EEXISTS). New ids
 * come back this way on every backend, never from a last-insert-id call. */
enum store_err store_insert_id(struct db_stmt *st, int64_t *id_r);
/* Map a db.h result code to a store error. */
enum store_err store_db_err(int rc);
/* The error of a step that did not return what the caller needed (say
 * DB_ROW where only DB_DONE may come): never STORE_OK. */
enum store_err store_step_err(int rc);
#endif
