/*
 * store-schema: the database schema (the source of truth for the table
 * layout documented in store-private.h) and its version check.
 */
#include "store/store-internal.h"
#include "lib/alloc.h"
#include <string.h>

#define SCHEMA_VERSION "1"

static const char schema_sql[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	"  catchall TEXT);"
	"CREATE TABLE accounts (id INTEGER PRIMARY KEY,"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id),"
	"  address TEXT NOT NULL UNIQUE, pwhash TEXT NOT NULL,"
	"  quota_bytes INTEGER, quota_messages INTEGER,"
	"  used_bytes INTEGER NOT NULL DEFAULT 0, used_messages INTEGER NOT NULL DEFAULT 0,"
	"  pop3_delete TEXT, created INTEGER NOT NULL);"
	"CREATE TABLE aliases (alias TEXT NOT NULL, target TEXT NOT NULL,"
	"  PRIMARY KEY (alias, target)) WITHOUT ROWID;"
	"CREATE TABLE mailboxes (id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,"
	"  uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL DEFAULT 1,"
	"  highestmodseq INTEGER NOT NULL DEFAULT 1, special_use TEXT,"
	"  subscribed INTEGER NOT NULL DEFAULT 1,"
	"  recent_uid INTEGER NOT NULL DEFAULT 0,"
	"  nmessages INTEGER NOT NULL DEFAULT 0, nunseen INTEGER NOT NULL DEFAULT 0,"
	"  ndeleted INTEGER NOT NULL DEFAULT 0, nbytes INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (account_id, name));"
	"CREATE TABLE contents (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL, crlf_size INTEGER NOT NULL, refs INTEGER NOT NULL,"
	"  data BLOB NOT NULL);"
	"CREATE TABLE content_index (content_id INTEGER PRIMARY KEY, envelope TEXT,"
	"  body TEXT, bodystructure TEXT, parts TEXT, subject TEXT, from_addr TEXT,"
	"  to_addr TEXT, cc_addr TEXT, bcc_addr TEXT, message_id TEXT, in_reply_to TEXT,"
	"  references_hdr TEXT, date INTEGER NOT NULL DEFAULT 0,"
	"  header_len INTEGER NOT NULL DEFAULT 0, preview TEXT,"
	"  fts INTEGER NOT NULL DEFAULT 0);"
	/* full-text index (store-fts.h): folded text per content, rowid = content
	 * id; trigram for substring search, case folded by us beforehand */
	"CREATE INDEX content_unindexed ON content_index (content_id) WHERE fts = 0;"
	"CREATE VIRTUAL TABLE search_fts USING fts5(header, body,"
	"  tokenize = 'trigram case_sensitive 1');"
	"CREATE TABLE messages (id INTEGER PRIMARY KEY,"
	"  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id), uid INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 0, keywords TEXT,"
	"  internaldate INTEGER NOT NULL, savedate INTEGER NOT NULL, size INTEGER NOT NULL,"
	"  crlf_size INTEGER NOT NULL,"
	"  content_id INTEGER NOT NULL REFERENCES contents(id), prefix BLOB,"
	"  pop3_uidl TEXT, pop3_hidden INTEGER NOT NULL DEFAULT 0,"
	"  pop3_retrieved INTEGER NOT NULL DEFAULT 0,"
	"  emailid INTEGER NOT NULL DEFAULT 0, threadid INTEGER NOT NULL DEFAULT 0,"
	"  search_prefix TEXT,"
	"  UNIQUE (mailbox_id, uid));"
	"CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);"
	/* A mailbox's counts (STATUS, LIST-STATUS, SELECT) are kept by the
	 * database itself, so no code path that adds, removes or re-flags a
	 * message can leave them wrong, and reading them is O(1). */
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
	"  UPDATE mailboxes SET nmessages = nmessages + 1,"
	"   nunseen = nunseen + ((NEW.flags & 1) = 0), ndeleted = ndeleted + ((NEW.flags & 8) != 0),"
	"   nbytes = nbytes + NEW.size WHERE id = NEW.mailbox_id;"
	"  END;"
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
	"  UPDATE mailboxes SET nmessages = nmessages - 1,"
	"   nunseen = nunseen - ((OLD.flags & 1) = 0), ndeleted = ndeleted - ((OLD.flags & 8) != 0),"
	"   nbytes = nbytes - OLD.size WHERE id = OLD.mailbox_id;"
	"  END;"
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF flags, size, mailbox_id ON messages BEGIN"
	"  UPDATE mailboxes SET nmessages = nmessages - 1,"
	"   nunseen = nunseen - ((OLD.flags & 1) = 0), ndeleted = ndeleted - ((OLD.flags & 8) != 0),"
	"   nbytes = nbytes - OLD.size WHERE id = OLD.mailbox_id;"
	"  UPDATE mailboxes SET nmessages = nmessages + 1,"
	"   nunseen = nunseen + ((NEW.flags & 1) = 0), ndeleted = ndeleted + ((NEW.flags & 8) != 0),"
	"   nbytes = nbytes + NEW.size WHERE id = NEW.mailbox_id;"
	"  END;"
	"CREATE INDEX messages_content ON messages (content_id);"
	"CREATE TABLE expunged (mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL, PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);"
	"INSERT INTO meta VALUES ('schema_version', '" SCHEMA_VERSION "');"
	"INSERT INTO meta VALUES ('uidvalidity', '0');"
	/* OBJECTID (RFC 8474): EMAILID/THREADID numbers come from one
	 * counter; threads maps an account's Message-IDs to their thread. */
	"INSERT INTO meta VALUES ('objectid', '0');"
	"CREATE TABLE threads (account_id INTEGER NOT NULL, message_id TEXT NOT NULL,"
	"  threadid INTEGER NOT NULL, PRIMARY KEY (account_id, message_id)) WITHOUT ROWID;";

enum store_err store_schema_create(sqlite3 *db, char **error_r)
{
	enum store_err err = store_exec(db, "BEGIN", error_r);
	if (err == STORE_OK)
		err = store_exec(db, schema_sql, error_r);
	if (err == STORE_OK)
		return store_exec(db, "COMMIT", error_r);
	store_exec(db, "ROLLBACK", NULL);
	return err;
}

enum store_err store_schema_check(sqlite3 *db, char **error_r)
{
	sqlite3_stmt *st = store_prepare(db, "SELECT value FROM meta WHERE key = 'schema_version'");
	if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
		*error_r = xstrdup("database has no schema version: not a Roost database?");
		return STORE_ETEMP;
	}
	const char *v = (const char *)sqlite3_column_text(st, 0);
	if (v == NULL || strcmp(v, SCHEMA_VERSION) != 0) {
		*error_r = xasprintf("database schema version %s, this roost knows %s", v ? v : "?",
				     SCHEMA_VERSION);
		sqlite3_reset(st);
		return STORE_EPERM;
	}
	sqlite3_reset(st);
	return STORE_OK;
}
