/*
 * store-schema: the database schema (the source of truth for the table
 * layout documented in store-private.h), its version check and the
 * upgrade of a database an older roost made.
 *
 * Ids that a session holds (a selected mailbox, its account) are never
 * reused: domains, accounts and mailboxes are AUTOINCREMENT tables, so a
 * new row never takes the id of a deleted one (a stale session keeps
 * pointing at nothing instead of at another account's mail). AUTOINCREMENT
 * rather than a counter in meta: SQLite keeps sqlite_sequence in the same
 * transaction as the insert, and every INSERT path gets it without code.
 * Messages and contents are not: sessions address messages by (mailbox
 * id, UID), UIDs are never reused within a mailbox id, and content ids
 * never leave the store; AUTOINCREMENT there would add a write to every
 * delivery for nothing.
 */
#include "store/store-internal.h"
#include "store/store-fts.h"
#ifdef ROOST_HAVE_PG
#include "store/db/db-pg.h"
#endif
#include "lib/alloc.h"
#include "lib/log.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Version 1: the first schema. Version 2: AUTOINCREMENT ids for domains,
 * accounts and mailboxes; accounts.disabled. Version 3: new tables only
 * (METADATA entries, URLAUTH keys, app passwords and SCRAM keys, the
 * outbound queue, subscriptions). Version 4: new tables only (Sieve
 * scripts and the state delivery keeps for them). Version 5: the column
 * accounts.pop3_mailboxes (ACCOUNTS_V5_SQL). Version 6: the index
 * messages_view (MESSAGES_VIEW_SQL). Version 7: the column
 * queue_messages.requiretls (QUEUE_V7_SQL). Version 8: the column
 * contents.location (CONTENTS_V8_SQL). */
#define SCHEMA_VERSION 8
#define STR_(x) #x
#define STR(x) STR_(x)

/* Version 5: the per-account pop3.mailboxes override ("inbox", "all",
 * NULL = the server's setting). Added by ALTER TABLE in a new database too,
 * so ACCOUNTS_COLUMNS stays what the version 1 upgrade rebuilt. */
#define ACCOUNTS_V5_SQL "ALTER TABLE accounts ADD COLUMN pop3_mailboxes TEXT;"

/* Version 7: a queued message sent with REQUIRETLS (RFC 8689) keeps that
 * flag, so every relay attempt demands TLS from a validated peer that
 * supports it too. Added by ALTER TABLE in a new database too. */
#define QUEUE_V7_SQL                                                           \
	"ALTER TABLE queue_messages ADD COLUMN requiretls INTEGER NOT NULL DEFAULT 0;"

/* Version 8: a content whose bytes are a file of the content directory
 * (store.content = dir:PATH, store-content.h) names it here; its data is
 * then empty. NULL: the bytes are in data. The same on PostgreSQL. */
#define CONTENTS_V8_SQL "ALTER TABLE contents ADD COLUMN location TEXT;"

/* Version 6: SELECT's view build (store_imap_view_rows: uid, flags,
 * modseq, keywords of one mailbox in UID order) reads this index alone,
 * in order, instead of visiting every message row. Cold, on a 5,000-message
 * INBOX in a 1.4 GB database, that took SELECT from 2 s to under 0.1 s:
 * the rows are scattered among other mailboxes' rows and big prefix
 * blobs, the index entries are dense (docs/PERFORMANCE.md). */
#define MESSAGES_VIEW_SQL                                                      \
	"CREATE INDEX IF NOT EXISTS messages_view"                              \
	" ON messages (mailbox_id, uid, flags, modseq, keywords);"

/* Column lists of the tables the upgrade rebuilds: the same text creates
 * them in a new database and in an upgraded one. */
#define DOMAINS_COLUMNS                                                        \
	"(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"    \
	"  catchall TEXT)"
#define ACCOUNTS_COLUMNS                                                       \
	"(id INTEGER PRIMARY KEY AUTOINCREMENT,"                               \
	"  domain_id INTEGER NOT NULL REFERENCES domains(id),"                 \
	"  address TEXT NOT NULL UNIQUE, pwhash TEXT NOT NULL,"                \
	"  quota_bytes INTEGER, quota_messages INTEGER,"                       \
	"  used_bytes INTEGER NOT NULL DEFAULT 0, used_messages INTEGER NOT NULL DEFAULT 0," \
	"  pop3_delete TEXT, created INTEGER NOT NULL,"                        \
	"  disabled INTEGER NOT NULL DEFAULT 0)"
#define MAILBOXES_COLUMNS                                                      \
	"(id INTEGER PRIMARY KEY AUTOINCREMENT,"                               \
	"  account_id INTEGER NOT NULL REFERENCES accounts(id), name TEXT NOT NULL," \
	"  uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL DEFAULT 1,"   \
	"  highestmodseq INTEGER NOT NULL DEFAULT 1, special_use TEXT,"        \
	"  subscribed INTEGER NOT NULL DEFAULT 1,"                             \
	"  recent_uid INTEGER NOT NULL DEFAULT 0,"                             \
	"  nmessages INTEGER NOT NULL DEFAULT 0, nunseen INTEGER NOT NULL DEFAULT 0," \
	"  ndeleted INTEGER NOT NULL DEFAULT 0, nbytes INTEGER NOT NULL DEFAULT 0," \
	"  UNIQUE (account_id, name))"

/* Outbound queue (store-queue.c): one queue_messages row per queued
 * message with its envelope (RFC 3461 ENVID, RET) and its bytes; one
 * queue_rcpts row per remote recipient with its own state, attempts, next
 * attempt and last reply (RFC 3461 NOTIFY bits, ORCPT). account_id is the
 * submitting account (0 = none: bounces, local scripts). state: 0 active,
 * 1 held (`roost queue hold`), 2 bounce requested (`roost queue bounce`).
 * A recipient's status: 0 pending, 1 delivered, 2 failed (bounced). The
 * message row goes when no recipient is pending. The content is kept
 * here, not in contents: queued bytes are transient, need no IMAP index
 * and would otherwise add a reference count every check must explain. */
#define QUEUE_TABLES_SQL                                                       \
	"CREATE TABLE queue_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"   \
	"  account_id INTEGER NOT NULL DEFAULT 0, return_path TEXT NOT NULL,"  \
	"  envid TEXT, ret_full INTEGER NOT NULL DEFAULT 0,"                   \
	"  created INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0,"        \
	"  delay_notified INTEGER NOT NULL DEFAULT 0,"                         \
	"  size INTEGER NOT NULL, message_id TEXT, data BLOB NOT NULL);"       \
	"CREATE TABLE queue_rcpts (id INTEGER PRIMARY KEY,"                    \
	"  queue_id INTEGER NOT NULL REFERENCES queue_messages(id),"           \
	"  address TEXT NOT NULL, domain TEXT NOT NULL, orcpt TEXT,"           \
	"  notify INTEGER NOT NULL DEFAULT 0, status INTEGER NOT NULL DEFAULT 0," \
	"  attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL," \
	"  last_reply TEXT, updated INTEGER NOT NULL DEFAULT 0);"              \
	"CREATE INDEX queue_rcpts_due ON queue_rcpts (status, next_attempt);"  \
	"CREATE INDEX queue_rcpts_msg ON queue_rcpts (queue_id);"

/* A mailbox's counts (STATUS, LIST-STATUS, SELECT) are kept by the
 * database itself, so no code path that adds, removes or re-flags a
 * message can leave them wrong, and reading them is O(1). They name
 * mailboxes, so the upgrade drops them while it rebuilds that table. */
/* METADATA (RFC 5464, store-metadata.c): entries per account, of the
 * server (mailbox_id 0) and of its mailboxes. The triggers remove a
 * mailbox's entries with it and an account's with it; RENAME keeps the
 * mailbox id and so its entries. */
#define METADATA_SQL                                                           \
	"CREATE TABLE metadata (account_id INTEGER NOT NULL, mailbox_id INTEGER NOT NULL," \
	"  name TEXT NOT NULL, value BLOB NOT NULL,"                           \
	"  PRIMARY KEY (account_id, mailbox_id, name)) WITHOUT ROWID;"         \
	"CREATE TRIGGER metadata_mailbox_delete AFTER DELETE ON mailboxes BEGIN" \
	"  DELETE FROM metadata WHERE account_id = OLD.account_id AND mailbox_id = OLD.id;" \
	"  END;"                                                               \
	"CREATE TRIGGER metadata_account_delete AFTER DELETE ON accounts BEGIN" \
	"  DELETE FROM metadata WHERE account_id = OLD.id;"                    \
	"  END;"

/* URLAUTH (RFC 4467, store-urlauth.c): each mailbox's access key, per
 * account; gone with the mailbox or the account. */
#define URLAUTH_SQL                                                            \
	"CREATE TABLE urlauth_keys (account_id INTEGER NOT NULL,"              \
	"  mailbox_id INTEGER NOT NULL, key BLOB NOT NULL,"                    \
	"  PRIMARY KEY (account_id, mailbox_id)) WITHOUT ROWID;"               \
	"CREATE TRIGGER urlauth_mailbox_delete AFTER DELETE ON mailboxes BEGIN" \
	"  DELETE FROM urlauth_keys WHERE account_id = OLD.account_id AND mailbox_id = OLD.id;" \
	"  END;"                                                               \
	"CREATE TRIGGER urlauth_account_delete AFTER DELETE ON accounts BEGIN" \
	"  DELETE FROM urlauth_keys WHERE account_id = OLD.id;"                \
	"  END;"

#define MESSAGES_TRIGGERS_SQL                                                  \
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"  \
	"  UPDATE mailboxes SET nmessages = nmessages + 1,"                    \
	"   nunseen = nunseen + ((NEW.flags & 1) = 0), ndeleted = ndeleted + ((NEW.flags & 8) != 0)," \
	"   nbytes = nbytes + NEW.size WHERE id = NEW.mailbox_id;"             \
	"  END;"                                                               \
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"  \
	"  UPDATE mailboxes SET nmessages = nmessages - 1,"                    \
	"   nunseen = nunseen - ((OLD.flags & 1) = 0), ndeleted = ndeleted - ((OLD.flags & 8) != 0)," \
	"   nbytes = nbytes - OLD.size WHERE id = OLD.mailbox_id;"             \
	"  END;"                                                               \
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF flags, size, mailbox_id ON messages BEGIN" \
	"  UPDATE mailboxes SET nmessages = nmessages - 1,"                    \
	"   nunseen = nunseen - ((OLD.flags & 1) = 0), ndeleted = ndeleted - ((OLD.flags & 8) != 0)," \
	"   nbytes = nbytes - OLD.size WHERE id = OLD.mailbox_id;"             \
	"  UPDATE mailboxes SET nmessages = nmessages + 1,"                    \
	"   nunseen = nunseen + ((NEW.flags & 1) = 0), ndeleted = ndeleted + ((NEW.flags & 8) != 0)," \
	"   nbytes = nbytes + NEW.size WHERE id = NEW.mailbox_id;"             \
	"  END;"

/* No id below the highest one ever seen may come back. A deleted row's id
 * can still be named elsewhere (the expunge log, threads), so the counter
 * starts above those too. */
#define SEQUENCES_SQL                                                          \
	"DELETE FROM sqlite_sequence WHERE name IN ('domains', 'accounts', 'mailboxes');" \
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'domains',"            \
	"  max(COALESCE((SELECT max(id) FROM domains), 0),"                    \
	"      COALESCE((SELECT max(domain_id) FROM accounts), 0));"           \
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'accounts',"           \
	"  max(COALESCE((SELECT max(id) FROM accounts), 0),"                   \
	"      COALESCE((SELECT max(account_id) FROM mailboxes), 0),"          \
	"      COALESCE((SELECT max(account_id) FROM threads), 0));"           \
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'mailboxes',"          \
	"  max(COALESCE((SELECT max(id) FROM mailboxes), 0),"                  \
	"      COALESCE((SELECT max(mailbox_id) FROM messages), 0),"           \
	"      COALESCE((SELECT max(mailbox_id) FROM expunged), 0));"

/* Submission and logins (store-auth.c). app_passwords: per-device
 * passwords, a yescrypt hash with a label unique per account; any of them
 * logs in to IMAP, POP3 and submission like the account password, each
 * revoked on its own. scram_keys: SCRAM-SHA-256 (RFC 5802) StoredKey,
 * ServerKey, salt and iteration count of the account password; pwhash is
 * the accounts.pwhash they were derived with, so a changed password makes
 * them stale at once (never used again) until the next PLAIN/LOGIN
 * login derives new ones. submission_settings: per-account overrides of
 * submission settings (save_sent 1/0; no row = the server's setting). */
#define SUBMISSION_AUTH_SQL \
	"CREATE TABLE app_passwords (id INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  account_id INTEGER NOT NULL, label TEXT NOT NULL, pwhash TEXT NOT NULL," \
	"  created INTEGER NOT NULL, UNIQUE (account_id, label));" \
	"CREATE TABLE scram_keys (account_id INTEGER PRIMARY KEY, pwhash TEXT NOT NULL," \
	"  iterations INTEGER NOT NULL, salt BLOB NOT NULL, stored_key BLOB NOT NULL," \
	"  server_key BLOB NOT NULL);" \
	"CREATE TABLE submission_settings (account_id INTEGER PRIMARY KEY," \
	"  save_sent INTEGER NOT NULL);"

/* Subscriptions (RFC 3501 6.3.6-6.3.9): a list of names, not a flag on
 * mailboxes, since a name may be subscribed with no mailbox (SUBSCRIBE
 * before CREATE) and stays subscribed after DELETE. mailboxes.subscribed
 * is no longer read (version 2 kept it there; the upgrade copies it). */
#define SUBSCRIPTIONS_SQL                                                      \
	"CREATE TABLE subscriptions (account_id INTEGER NOT NULL,"             \
	"  name TEXT NOT NULL, PRIMARY KEY (account_id, name)) WITHOUT ROWID;"

/* Sieve (store-sieve.c): each account's scripts by name, at most one
 * active (a partial unique index: RFC 5804 SETACTIVE); vacation replies
 * sent (RFC 5230 4.2: once per sender and :handle per period);
 * redirects made (the per-day limit, and so a retried delivery does not
 * redirect twice); ids the duplicate test saw (RFC 7352). Every row goes
 * with its account. */
#define SIEVE_SQL                                                              \
	"CREATE TABLE sieve_scripts (account_id INTEGER NOT NULL, name TEXT NOT NULL," \
	"  content BLOB NOT NULL, active INTEGER NOT NULL DEFAULT 0,"          \
	"  updated INTEGER NOT NULL, PRIMARY KEY (account_id, name)) WITHOUT ROWID;" \
	"CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts (account_id)" \
	"  WHERE active != 0;"                                                 \
	"CREATE TABLE sieve_vacation (account_id INTEGER NOT NULL, sender TEXT NOT NULL," \
	"  handle TEXT NOT NULL, sent INTEGER NOT NULL,"                       \
	"  PRIMARY KEY (account_id, sender, handle)) WITHOUT ROWID;"           \
	"CREATE TABLE sieve_redirects (account_id INTEGER NOT NULL, msgid TEXT NOT NULL," \
	"  address TEXT NOT NULL, sent INTEGER NOT NULL,"                      \
	"  PRIMARY KEY (account_id, msgid, address)) WITHOUT ROWID;"           \
	"CREATE INDEX sieve_redirects_time ON sieve_redirects (account_id, sent);" \
	"CREATE TABLE sieve_duplicates (account_id INTEGER NOT NULL, id TEXT NOT NULL," \
	"  seen INTEGER NOT NULL, PRIMARY KEY (account_id, id)) WITHOUT ROWID;" \
	"CREATE TRIGGER sieve_account_delete AFTER DELETE ON accounts BEGIN"   \
	"  DELETE FROM sieve_scripts WHERE account_id = OLD.id;"               \
	"  DELETE FROM sieve_vacation WHERE account_id = OLD.id;"              \
	"  DELETE FROM sieve_redirects WHERE account_id = OLD.id;"             \
	"  DELETE FROM sieve_duplicates WHERE account_id = OLD.id;"            \
	"  END;"

static const char schema_sql[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE domains " DOMAINS_COLUMNS ";"
	"CREATE TABLE accounts " ACCOUNTS_COLUMNS ";"
	"CREATE TABLE aliases (alias TEXT NOT NULL, target TEXT NOT NULL,"
	"  PRIMARY KEY (alias, target)) WITHOUT ROWID;"
	"CREATE TABLE mailboxes " MAILBOXES_COLUMNS ";"
	"CREATE TABLE contents (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL, crlf_size INTEGER NOT NULL, refs INTEGER NOT NULL,"
	"  data BLOB NOT NULL);"
	CONTENTS_V8_SQL
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
	MESSAGES_TRIGGERS_SQL
	"CREATE INDEX messages_content ON messages (content_id);"
	"CREATE TABLE expunged (mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL, PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);"
	"INSERT INTO meta VALUES ('schema_version', '" STR(SCHEMA_VERSION) "');"
	"INSERT INTO meta VALUES ('uidvalidity', '0');"
	/* OBJECTID (RFC 8474): EMAILID/THREADID numbers come from one
	 * counter; threads maps an account's Message-IDs to their thread. */
	"INSERT INTO meta VALUES ('objectid', '0');"
	"CREATE TABLE threads (account_id INTEGER NOT NULL, message_id TEXT NOT NULL,"
	"  threadid INTEGER NOT NULL, PRIMARY KEY (account_id, message_id)) WITHOUT ROWID;"
	/* METADATA (RFC 5464) */
	METADATA_SQL
	/* URLAUTH (RFC 4467) */
	URLAUTH_SQL
	/* submission: app passwords, SCRAM keys, per-account settings */
	SUBMISSION_AUTH_SQL
	/* the outbound queue */
	QUEUE_TABLES_SQL
	/* subscriptions (RFC 3501 6.3.6-6.3.9) */
	SUBSCRIPTIONS_SQL
	/* Sieve scripts and delivery state */
	SIEVE_SQL
	/* pop3.mailboxes per account */
	ACCOUNTS_V5_SQL
	/* the covering index of SELECT */
	MESSAGES_VIEW_SQL
	/* REQUIRETLS on queued messages */
	QUEUE_V7_SQL;

/*
 * Upgrades, each from one version to the next, all run in one transaction.
 * SQLite's ALTER TABLE cannot add AUTOINCREMENT, so a table is rebuilt:
 * create the new one, copy every row with its id, drop the old one, rename
 * (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
 * Changes"). The triggers on messages name mailboxes and are recreated.
 * UIDs, UIDVALIDITY, MODSEQs and counts are columns copied as they are.
 */
static const char upgrade_1_sql[] =
	"DROP TRIGGER messages_count_insert;"
	"DROP TRIGGER messages_count_delete;"
	"DROP TRIGGER messages_count_update;"
	"CREATE TABLE domains_v2 " DOMAINS_COLUMNS ";"
	"INSERT INTO domains_v2 (id, name, catchall) SELECT id, name, catchall FROM domains;"
	"DROP TABLE domains;"
	"ALTER TABLE domains_v2 RENAME TO domains;"
	"CREATE TABLE accounts_v2 " ACCOUNTS_COLUMNS ";"
	"INSERT INTO accounts_v2 (id, domain_id, address, pwhash, quota_bytes, quota_messages,"
	"  used_bytes, used_messages, pop3_delete, created)"
	" SELECT id, domain_id, address, pwhash, quota_bytes, quota_messages,"
	"  used_bytes, used_messages, pop3_delete, created FROM accounts;"
	"DROP TABLE accounts;"
	"ALTER TABLE accounts_v2 RENAME TO accounts;"
	"CREATE TABLE mailboxes_v2 " MAILBOXES_COLUMNS ";"
	"INSERT INTO mailboxes_v2 (id, account_id, name, uidvalidity, uidnext, highestmodseq,"
	"  special_use, subscribed, recent_uid, nmessages, nunseen, ndeleted, nbytes)"
	" SELECT id, account_id, name, uidvalidity, uidnext, highestmodseq,"
	"  special_use, subscribed, recent_uid, nmessages, nunseen, ndeleted, nbytes"
	" FROM mailboxes;"
	"DROP TABLE mailboxes;"
	"ALTER TABLE mailboxes_v2 RENAME TO mailboxes;"
	MESSAGES_TRIGGERS_SQL
	SEQUENCES_SQL
	"UPDATE meta SET value = '2' WHERE key = 'schema_version';";

/* Version 3 adds tables only. */
static const char upgrade_2_to_3[] =
	/* METADATA (RFC 5464) */
	METADATA_SQL
	/* URLAUTH (RFC 4467) */
	URLAUTH_SQL
	/* submission: app passwords, SCRAM keys, per-account settings */
	SUBMISSION_AUTH_SQL
	/* the outbound queue */
	QUEUE_TABLES_SQL
	/* subscriptions: the names subscribed in version 2 */
	SUBSCRIPTIONS_SQL
	"INSERT INTO subscriptions (account_id, name)"
	" SELECT account_id, name FROM mailboxes WHERE subscribed != 0;"
	"UPDATE meta SET value = '3' WHERE key = 'schema_version';";

/* Version 4 adds tables only. */
static const char upgrade_3_to_4[] =
	SIEVE_SQL
	"UPDATE meta SET value = '4' WHERE key = 'schema_version';";

/* Version 5 adds one nullable column. */
static const char upgrade_4_to_5[] =
	ACCOUNTS_V5_SQL
	"UPDATE meta SET value = '5' WHERE key = 'schema_version';";

/* Version 6 adds one index. */
static const char upgrade_5_to_6[] =
	MESSAGES_VIEW_SQL
	"UPDATE meta SET value = '6' WHERE key = 'schema_version';";

/* Version 7 adds one column with a default. */
static const char upgrade_6_to_7[] =
	QUEUE_V7_SQL
	"UPDATE meta SET value = '7' WHERE key = 'schema_version';";

/* Version 8 adds one nullable column (store.content = dir:PATH). */
static const char upgrade_7_to_8[] =
	CONTENTS_V8_SQL
	"UPDATE meta SET value = '8' WHERE key = 'schema_version';";

/* upgrades[i] takes a database from version i + 1 to i + 2 */
static const char *const upgrades[] = {upgrade_1_sql, upgrade_2_to_3, upgrade_3_to_4,
					 upgrade_4_to_5, upgrade_5_to_6, upgrade_6_to_7,
					 upgrade_7_to_8};
#ifdef ROOST_HAVE_PG
_Static_assert(DB_PG_SCHEMA_VERSION == SCHEMA_VERSION, "db-pg-schema.c lags store-schema.c");
#endif
_Static_assert(sizeof(upgrades) / sizeof(upgrades[0]) == SCHEMA_VERSION - 1,
	       "one upgrade per schema version");

enum store_err store_schema_create(struct db *db, char **error_r)
{
	const char *sql = schema_sql;
#ifdef ROOST_HAVE_PG
	if (db_backend_of(db) == DB_POSTGRESQL)
		sql = db_pg_schema_sql;
#endif
	enum store_err err = store_exec(db, "BEGIN", error_r);
	if (err == STORE_OK)
		err = store_exec(db, sql, error_r);
	if (err == STORE_OK)
		return store_exec(db, "COMMIT", error_r);
	store_exec(db, "ROLLBACK", NULL);
	return err;
}

/* The database's schema version: STORE_OK with *version_r, or an error
 * (a database without one is not Roost's). */
static enum store_err read_version(struct db *db, long *version_r, char **error_r)
{
	struct db_stmt *st = NULL;
	int rc = db_prepare(db, "SELECT value FROM meta WHERE key = 'schema_version'", &st);
	if (rc == DB_OK)
		rc = db_step(st);
	if (rc != DB_ROW) {
		enum store_err err = rc == DB_DONE || rc == DB_ERROR
					     ? STORE_EPERM : store_db_err(rc);
		if (err == STORE_EPERM)
			*error_r = xstrdup("database has no schema version: not a Roost database?");
		else
			*error_r = xasprintf("database: reading the schema version: %s",
					     db_errmsg(db));
		db_finalize(st);
		return err == STORE_OK ? STORE_ETEMP : err;
	}
	const char *v = db_column_text(st, 0);
	char *end = NULL;
	errno = 0;
	long version = v != NULL ? strtol(v, &end, 10) : 0;
	bool ok = v != NULL && end != v && *end == '\0' && errno == 0 && version >= 1;
	if (!ok)
		*error_r = xasprintf("database schema version \"%.32s\" is not a number",
				     v != NULL ? v : "");
	db_finalize(st);
	if (!ok)
		return STORE_ECORRUPT;
	*version_r = version;
	return STORE_OK;
}

/* A copy of the database as it is, next to it, before it is upgraded:
 * roost.db.v<old>-<unixtime>.bak, readable by the owner only (it holds
 * the password hashes). VACUUM INTO writes a consistent snapshot. */
static enum store_err backup(struct db *db, const char *db_path, long version, char **error_r)
{
	char *path = xasprintf("%s.v%ld-%" PRId64 ".bak", db_path, version, store_now());
	/* VACUUM INTO accepts an empty file: create it first with its mode */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = xasprintf("backup before the schema upgrade: %s: %s", path,
				     strerror(errno));
		free(path);
		return STORE_ETEMP;
	}
	close(fd);
	struct db_stmt *st = NULL;
	int rc = db_prepare(db, "VACUUM INTO ?1", &st);
	if (rc == DB_OK) {
		db_bind_text(st, 1, path, -1, true);
		rc = db_step(st);
	}
	db_finalize(st);
	if (rc != DB_DONE && rc != DB_OK) {
		*error_r = xasprintf("backup before the schema upgrade: %s: %s", path,
				     db_errmsg(db));
		unlink(path);
		free(path);
		return store_db_err(rc) == STORE_OK ? STORE_ETEMP : store_db_err(rc);
	}
	log_info("store: schema version %ld backed up to %s", version, path);
	free(path);
	return STORE_OK;
}

static enum store_err upgrade(struct db *db, long from, char **error_r)
{
	enum store_err err = store_exec(db, "BEGIN IMMEDIATE", error_r);
	if (err != STORE_OK)
		return err;
	/* another process may have upgraded it since we looked */
	long version = 0;
	err = read_version(db, &version, error_r);
	for (long v = version; err == STORE_OK && v < SCHEMA_VERSION; v++)
		err = store_exec(db, upgrades[v - 1], error_r);
	if (err == STORE_OK)
		err = store_exec(db, "COMMIT", error_r);
	if (err != STORE_OK) {
		store_exec(db, "ROLLBACK", NULL);
		return err;
	}
	if (version < SCHEMA_VERSION)
		log_info("store: schema upgraded from version %ld to %d", from, SCHEMA_VERSION);
	return STORE_OK;
}

/* PostgreSQL: its own upgrade texts (db-pg-schema.c), in one transaction
 * under an advisory lock, so nodes that start at once upgrade it once. No
 * copy is made first: the database's own backups (pg_dump, base backups)
 * are the admin's, and the transaction leaves it as it was on failure. */
static enum store_err upgrade_pg(struct db *db, const char *db_path, long from, char **error_r)
{
#ifdef ROOST_HAVE_PG
	if (from < DB_PG_SCHEMA_FIRST) {
		*error_r = xasprintf("%s has schema version %ld: a PostgreSQL store begins at %d",
				     db_path, from, DB_PG_SCHEMA_FIRST);
		return STORE_ECORRUPT;
	}
	log_info("store: %s has schema version %ld, upgrading to %d", db_path, from,
		 SCHEMA_VERSION);
	enum store_err err = store_exec(db, "BEGIN; SELECT pg_advisory_xact_lock(7162003)",
					error_r);
	long version = 0;
	if (err == STORE_OK)
		err = read_version(db, &version, error_r);
	for (long v = version; err == STORE_OK && v < SCHEMA_VERSION; v++)
		err = store_exec(db, db_pg_upgrades[v - DB_PG_SCHEMA_FIRST], error_r);
	if (err == STORE_OK)
		err = store_exec(db, "COMMIT", error_r);
	if (err != STORE_OK) {
		store_exec(db, "ROLLBACK", NULL);
		return err;
	}
	if (version < SCHEMA_VERSION)
		log_info("store: schema upgraded from version %ld to %d", from, SCHEMA_VERSION);
	store_fts_pg_schema(db);
	return STORE_OK;
#else
	(void)db;
	*error_r = xasprintf("%s: this roost was built without PostgreSQL", db_path);
	(void)from;
	return STORE_EPERM;
#endif
}

long store_schema_current(void)
{
	return SCHEMA_VERSION;
}

enum store_err store_schema_check(struct db *db, const char *db_path, char **error_r)
{
	long version = 0;
	enum store_err err = read_version(db, &version, error_r);
	if (err != STORE_OK)
		return err;
	if (version == SCHEMA_VERSION) {
		/* PostgreSQL's full-text index is made apart (it needs pg_trgm) */
		store_fts_pg_schema(db);
		return STORE_OK;
	}
	if (version > SCHEMA_VERSION) {
		*error_r = xasprintf("database schema version %ld is newer than this roost knows"
				     " (%d): run a newer roost", version, SCHEMA_VERSION);
		return STORE_EPERM;
	}
	if (db_backend_of(db) != DB_SQLITE)
		return upgrade_pg(db, db_path, version, error_r);
	log_info("store: %s has schema version %ld, upgrading to %d", db_path, version,
		 SCHEMA_VERSION);
	err = backup(db, db_path, version, error_r);
	if (err == STORE_OK)
		err = upgrade(db, version, error_r);
	return err;
}
