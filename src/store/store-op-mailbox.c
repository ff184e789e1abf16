/*
 * store-op-mailbox: CREATE, DELETE, RENAME, SUBSCRIBE. Names are UTF-8
 * with '/' as the hierarchy separator; "INBOX" is matched in any case
 * and always stored as "INBOX". A new mailbox (also one recreated under
 * an old name) gets a new UIDVALIDITY, so clients never confuse the two.
 *
 * Subscriptions are names (RFC 3501 6.3.6): CREATE does not subscribe,
 * DELETE does not unsubscribe ("The server MUST NOT unilaterally remove an
 * existing mailbox name from the subscription list"), SUBSCRIBE takes a
 * name with no mailbox. RENAME, on which the RFCs are silent, carries the
 * subscriptions of the old names to the new ones, as Cyrus does: the
 * client asked for the mailbox to be known by the new name.
 */
#include "store/store-ops.h"
#include "lib/alloc.h"
#include <string.h>
#include <strings.h>

static bool is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

bool store_mailbox_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > STORE_MAX_MAILBOX_NAME)
		return false;
	int depth = 1;
	const char *comp = name;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == '\0') {
			size_t n = (size_t)(name + i - comp);
			if (n == 0 || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			if (c == '/' && ++depth > STORE_MAX_MAILBOX_DEPTH)
				return false;
			comp = name + i + 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		/* IMAP list wildcards cannot be part of a name. */
		if (c == '*' || c == '%')
			return false;
	}
	/* Valid UTF-8 (no overlongs, no surrogates). */
	const unsigned char *p = (const unsigned char *)name;
	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		int n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (*p == 0xc0 || *p == 0xc1) || *p > 0xf4)
			return false;
		uint32_t cp = *p & (0x3f >> n);
		for (int k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* The mailbox's id, 0 when there is none, -1 when it could not be read
 * (a failed read is never "no such mailbox"). */
static int64_t find_mailbox(struct db *db, int64_t account_id, const char *name)
{
	struct db_stmt *st = store_prepare(db, "SELECT id FROM mailboxes WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, is_inbox(name) ? "INBOX" : name, -1, true);
	int rc = db_step(st);
	int64_t id = rc == DB_ROW ? db_column_int64(st, 0) : rc == DB_DONE ? 0 : -1;
	db_reset(st);
	return id;
}

enum store_err store_mailbox_insert(struct store_txn *txn, int64_t account_id, const char *name,
				    const char *special_use, int64_t *id_r)
{
	struct db_stmt *st = store_prepare(txn->db, "SELECT count(*) FROM mailboxes WHERE account_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	int64_t count = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc != DB_ROW)
		return store_step_err(rc);
	if (count >= STORE_MAX_MAILBOXES)
		return STORE_ELIMIT;
	uint32_t uidvalidity = 0;
	enum store_err err = store_next_uidvalidity(txn->db, &uidvalidity);
	if (err != STORE_OK)
		return err;
	st = store_prepare(txn->db,
		"INSERT INTO mailboxes (account_id, name, uidvalidity, special_use)"
		" VALUES (?1, ?2, ?3, ?4) RETURNING id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, name, -1, true);
	db_bind_int64(st, 3, uidvalidity);
	db_bind_text(st, 4, special_use, -1, true);
	int64_t id = 0;
	err = store_insert_id(st, &id);
	if (err == STORE_OK && id_r != NULL)
		*id_r = id;
	return err;
}

static bool special_use_valid(const char *s)
{
	static const char *const known[] = {"\\All", "\\Archive", "\\Drafts", "\\Flagged",
					    "\\Junk", "\\Sent", "\\Trash", NULL};
	for (int i = 0; known[i]; i++)
		if (strcasecmp(s, known[i]) == 0)
			return true;
	return false;
}

enum store_err store_op_mailbox_create(struct store_txn *txn, struct store_op *op)
{
	struct store_mailbox_op *m = &op->u.mailbox;
	if (!store_mailbox_name_valid(m->name))
		return STORE_EINVAL;
	if (m->special_use != NULL && !special_use_valid(m->special_use))
		return STORE_EINVAL;
	int64_t existing = find_mailbox(txn->db, m->account_id, m->name);
	if (existing != 0)
		return existing < 0 ? STORE_ETEMP : STORE_EEXISTS;
	/* Create missing parents (RFC 9051 6.3.4 "SHOULD create superiors"). */
	char *path = xstrdup(m->name);
	enum store_err err = STORE_OK;
	for (char *slash = strchr(path, '/'); slash != NULL && err == STORE_OK;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		int64_t parent = find_mailbox(txn->db, m->account_id, path);
		if (parent < 0)
			err = STORE_ETEMP;
		else if (parent == 0)
			err = store_mailbox_insert(txn, m->account_id, is_inbox(path) ? "INBOX" : path,
						   NULL, NULL);
		*slash = '/';
	}
	free(path);
	if (err == STORE_OK)
		err = store_mailbox_insert(txn, m->account_id, m->name, m->special_use, &m->mailbox_id);
	if (err == STORE_OK) {
		store_txn_touch_mailbox(txn, m->mailbox_id);
		store_txn_mailbox_event(txn, m->account_id, m->mailbox_id, STORE_MAILBOX_CREATED);
	}
	return err;
}

/* Remove every message of a mailbox (quota and content refs follow). */
static enum store_err empty_mailbox(struct store_txn *txn, int64_t mailbox_id)
{
	int64_t account_id = 0;
	enum store_err err = store_mailbox_owner(txn, mailbox_id, &account_id);
	if (err != STORE_OK)
		return err;
	struct store_op x;
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.account_id = account_id;
	x.u.expunge.mailbox_id = mailbox_id;
	err = store_op_expunge(txn, &x);
	store_op_clear(&x);
	return err;
}

enum store_err store_op_mailbox_delete(struct store_txn *txn, struct store_op *op)
{
	struct store_mailbox_op *m = &op->u.mailbox;
	if (is_inbox(m->name))
		return STORE_EPERM;
	int64_t id = find_mailbox(txn->db, m->account_id, m->name);
	if (id <= 0)
		return id < 0 ? STORE_ETEMP : STORE_ENOTFOUND;
	enum store_err err = empty_mailbox(txn, id);
	if (err != STORE_OK)
		return err;
	/* Tell watchers (selected sessions) before the row goes away. */
	store_txn_touch_mailbox(txn, id);
	store_txn_mailbox_event(txn, m->account_id, id, STORE_MAILBOX_DELETED);
	static const char *const sqls[] = {
		"DELETE FROM expunged WHERE mailbox_id = ?1",
		"DELETE FROM mailboxes WHERE id = ?1",
	};
	for (size_t i = 0; i < 2; i++) {
		struct db_stmt *st = store_prepare(txn->db, sqls[i]);
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, id);
		int rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return store_db_err(rc);
	}
	m->mailbox_id = id;
	return STORE_OK;
}

/* RENAME INBOX: move its messages to a new mailbox; INBOX stays, empty
 * (RFC 9051 6.3.6). */
static enum store_err rename_inbox(struct store_txn *txn, struct store_mailbox_op *m, int64_t inbox)
{
	int64_t dst;
	enum store_err err = store_mailbox_insert(txn, m->account_id, m->new_name, NULL, &dst);
	if (err != STORE_OK)
		return err;
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *st = store_prepare(txn->db, "SELECT uid FROM messages WHERE mailbox_id = ?1 ORDER BY uid");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, inbox);
	while (db_step(st) == DB_ROW) {
		uids = xgrow(uids, &cap, n + 1, sizeof(*uids));
		uids[n++] = (uint32_t)db_column_int64(st, 0);
	}
	db_reset(st);
	struct store_op c;
	store_op_init(&c, STORE_OP_COPY);
	c.u.copy.account_id = m->account_id;
	c.u.copy.src_mailbox_id = inbox;
	c.u.copy.dst_mailbox_id = dst;
	c.u.copy.uids = uids;
	c.u.copy.nuids = n;
	c.u.copy.move = true;
	err = store_op_copy(txn, &c);
	store_op_clear(&c);
	free(uids);
	m->mailbox_id = dst;
	/* INBOX stays; the messages are in a new mailbox */
	if (err == STORE_OK)
		store_txn_mailbox_event(txn, m->account_id, dst, STORE_MAILBOX_CREATED);
	return err;
}

/* Past STORE_MAX_MAILBOX_NAME bytes or STORE_MAX_MAILBOX_DEPTH levels? */
static bool name_over_limits(const char *name)
{
	size_t len = strlen(name);
	int depth = 1;
	for (size_t i = 0; i < len; i++)
		depth += name[i] == '/';
	return len > STORE_MAX_MAILBOX_NAME || depth > STORE_MAX_MAILBOX_DEPTH;
}

/* Why a name is refused: over a limit (STORE_ELIMIT) or malformed. */
static enum store_err name_error(const char *name)
{
	return name_over_limits(name) ? STORE_ELIMIT : STORE_EINVAL;
}

/* Every child of m->name ("old/...") becomes "new/...": each new name must
 * be a valid one within the limits, or nothing is renamed. Otherwise a
 * rename could move a hierarchy to where it can no longer be selected,
 * renamed back or deleted. */
static enum store_err children_fit(struct store_txn *txn, const struct store_mailbox_op *m)
{
	struct db_stmt *st = store_prepare(txn->db,
		"SELECT name FROM mailboxes"
		" WHERE account_id = ?1 AND substr(name, 1, length(?2) + 1) = ?2 || '/'");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, m->account_id);
	db_bind_text(st, 2, m->name, -1, true);
	size_t oldlen = strlen(m->name);
	enum store_err err = STORE_OK;
	int rc;
	while (err == STORE_OK && (rc = db_step(st)) == DB_ROW) {
		const char *child = db_column_text(st, 0);
		if (child == NULL || strlen(child) <= oldlen) {
			err = STORE_ECORRUPT;
			break;
		}
		char *renamed = xasprintf("%s%s", m->new_name, child + oldlen);
		if (!store_mailbox_name_valid(renamed))
			err = name_error(renamed);
		free(renamed);
	}
	if (err == STORE_OK && rc != DB_DONE)
		err = store_step_err(rc);
	db_reset(st);
	return err;
}

/* A name below ?2 ("old/..."), in the rename statements below. */
#define UNDER_OLD_NAME "substr(name, 1, length(?2) + 1) = ?2 || '/'"

/* One statement of a RENAME: ?1 the account, ?2 the old name, ?3 the new. */
static enum store_err rename_step(struct store_txn *txn, const struct store_mailbox_op *m,
				  const char *sql)
{
	struct db_stmt *st = store_prepare(txn->db, sql);
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, m->account_id);
	db_bind_text(st, 2, m->name, -1, true);
	db_bind_text(st, 3, m->new_name, -1, true);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

static enum store_err rename_subscriptions(struct store_txn *txn, const struct store_mailbox_op *m);

enum store_err store_op_mailbox_rename(struct store_txn *txn, struct store_op *op)
{
	struct store_mailbox_op *m = &op->u.mailbox;
	if (is_inbox(m->new_name))
		return STORE_EEXISTS;
	if (!store_mailbox_name_valid(m->new_name))
		return name_error(m->new_name);
	int64_t id = find_mailbox(txn->db, m->account_id, m->name);
	if (id <= 0)
		return id < 0 ? STORE_ETEMP : STORE_ENOTFOUND;
	int64_t existing = find_mailbox(txn->db, m->account_id, m->new_name);
	if (existing != 0)
		return existing < 0 ? STORE_ETEMP : STORE_EEXISTS;
	if (is_inbox(m->name))
		return rename_inbox(txn, m, id);
	size_t oldlen = strlen(m->name);
	if (strncmp(m->new_name, m->name, oldlen) == 0 && m->new_name[oldlen] == '/')
		return STORE_EINVAL; /* into its own child */
	enum store_err err = children_fit(txn, m);
	if (err != STORE_OK)
		return err;
	/* The mailbox and every child ("old/..." -> "new/..."). UIDVALIDITY is
	 * kept: the messages and UIDs are the same ones. */
	err = rename_step(txn, m,
		"UPDATE mailboxes SET name = ?3 || substr(name, length(?2) + 1)"
		" WHERE account_id = ?1 AND (name = ?2 OR " UNDER_OLD_NAME ")");
	if (err != STORE_OK)
		return err;
	if ((err = rename_subscriptions(txn, m)) != STORE_OK)
		return err;
	/* Create missing parents of the new name. */
	char *path = xstrdup(m->new_name);
	for (char *slash = strchr(path, '/'); slash != NULL && err == STORE_OK;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		int64_t parent = find_mailbox(txn->db, m->account_id, path);
		if (parent < 0)
			err = STORE_ETEMP;
		else if (parent == 0)
			err = store_mailbox_insert(txn, m->account_id, path, NULL, NULL);
		*slash = '/';
	}
	free(path);
	store_txn_touch_mailbox(txn, id);
	store_txn_mailbox_event(txn, m->account_id, id, STORE_MAILBOX_RENAMED);
	m->mailbox_id = id;
	return err;
}

enum store_err store_subscription_set(struct store_txn *txn, int64_t account_id, const char *name,
				      bool subscribe)
{
	struct db_stmt *st;
	int rc;
	if (subscribe) {
		st = store_prepare(txn->db, "SELECT count(*) FROM subscriptions WHERE account_id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, account_id);
		rc = db_step(st);
		int64_t count = rc == DB_ROW ? db_column_int64(st, 0) : 0;
		db_reset(st);
		if (rc != DB_ROW)
			return store_step_err(rc);
		if (count >= STORE_MAX_SUBSCRIPTIONS)
			return STORE_ELIMIT;
		st = store_prepare(txn->db,
			"INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?1, ?2)");
	} else {
		st = store_prepare(txn->db,
			"DELETE FROM subscriptions WHERE account_id = ?1 AND name = ?2");
	}
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, is_inbox(name) ? "INBOX" : name, -1, true);
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

/* RENAME: the subscriptions of the old name and of its children move to
 * the new names (see the top of this file). A subscription already under
 * a new name stays one: it is dropped first, so the move never collides
 * (SQLite's UPDATE OR REPLACE in the common dialect). */
static enum store_err rename_subscriptions(struct store_txn *txn, const struct store_mailbox_op *m)
{
	enum store_err err = rename_step(txn, m,
		"DELETE FROM subscriptions WHERE account_id = ?1 AND name IN"
		" (SELECT ?3 || substr(name, length(?2) + 1) FROM subscriptions WHERE account_id = ?1"
		"  AND (name = ?2 OR " UNDER_OLD_NAME "))");
	if (err != STORE_OK)
		return err;
	return rename_step(txn, m,
		"UPDATE subscriptions SET name = ?3 || substr(name, length(?2) + 1)"
		" WHERE account_id = ?1 AND (name = ?2 OR " UNDER_OLD_NAME ")");
}

enum store_err store_op_mailbox_subscribe(struct store_txn *txn, struct store_op *op)
{
	struct store_mailbox_op *m = &op->u.mailbox;
	/* RFC 3501 6.3.6: a name with no mailbox may be subscribed; it must
	 * still be one a mailbox could have. Unsubscribing takes any name, so
	 * whatever is on the list can be taken off it. */
	if (m->subscribe && !is_inbox(m->name) && !store_mailbox_name_valid(m->name))
		return name_error(m->name);
	int64_t id = find_mailbox(txn->db, m->account_id, m->name);
	if (id < 0)
		return STORE_ETEMP;
	enum store_err err = store_subscription_set(txn, m->account_id, m->name, m->subscribe);
	if (err != STORE_OK)
		return err;
	m->mailbox_id = id;
	/* the change feed names mailboxes: a name with none has no event */
	if (id > 0)
		store_txn_mailbox_event(txn, m->account_id, id,
					m->subscribe ? STORE_MAILBOX_SUBSCRIBED
						     : STORE_MAILBOX_UNSUBSCRIBED);
	return STORE_OK;
}
