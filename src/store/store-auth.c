/*
 * store-auth: app passwords and address ownership (see store-auth.h).
 * Writes are STORE_OP_FUNC ops through store_run(), serialised with
 * everything else by the writer while the daemon runs.
 */
#include "store/store-auth.h"
#include "store/store-ops.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include "mail/header-field.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum store_err run_func(struct store *s,
			       enum store_err (*fn)(struct store_txn *, void *, char **), void *args,
			       char **error_r)
{
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = fn;
	op.u.func.arg = args;
	enum store_err err = store_run(s, &op);
	if (err != STORE_OK && error_r != NULL && *error_r == NULL)
		*error_r = op.error ? xstrdup(op.error) : xstrdup(store_strerror(err));
	store_op_clear(&op);
	return err;
}

static enum store_err account_by_address(struct db *db, const char *addr, int64_t *id_r)
{
	struct db_stmt *st = store_prepare(db, "SELECT id FROM accounts WHERE address = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, addr, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*id_r = db_column_int64(st, 0);
	db_reset(st);
	return store_row_err(rc);
}

static bool label_valid(const char *label)
{
	size_t n = strlen(label);
	if (n == 0 || n > STORE_APP_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (label[i] <= ' ' || label[i] > '~')
			return false;
	return true;
}

struct app_args {
	const char *address;	/* normalised */
	const char *label;
	const char *pwhash;	/* add only */
};

static enum store_err fn_app_add(struct store_txn *txn, void *arg, char **error_r)
{
	const struct app_args *a = arg;
	struct db *db = store_txn_db(txn);
	int64_t id;
	enum store_err err = account_by_address(db, a->address, &id);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("no such account %s", a->address);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(db, "SELECT count(*),"
					     " coalesce(sum(CASE WHEN label = ?2 THEN 1 ELSE 0 END), 0)"
					     " FROM app_passwords WHERE account_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, a->label, -1, true);
	int rc = db_step(st);
	int64_t count = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	int64_t same = rc == DB_ROW ? db_column_int64(st, 1) : 0;
	db_reset(st);
	if ((err = store_row_err(rc)) != STORE_OK)
		return err;
	if (same > 0) {
		*error_r = xasprintf("%s already has an app password labelled %s", a->address,
				     a->label);
		return STORE_EEXISTS;
	}
	if (count >= STORE_APP_PASSWORDS_MAX) {
		*error_r = xasprintf("%s has %d app passwords already (the most allowed)",
				     a->address, STORE_APP_PASSWORDS_MAX);
		return STORE_ELIMIT;
	}
	st = store_prepare(db, "INSERT INTO app_passwords (account_id, label, pwhash, created)"
			       " VALUES (?1, ?2, ?3, ?4)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, a->label, -1, true);
	db_bind_text(st, 3, a->pwhash, -1, true);
	db_bind_int64(st, 4, (int64_t)time(NULL));
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

static enum store_err fn_app_del(struct store_txn *txn, void *arg, char **error_r)
{
	const struct app_args *a = arg;
	struct db *db = store_txn_db(txn);
	int64_t id;
	enum store_err err = account_by_address(db, a->address, &id);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("no such account %s", a->address);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st =
		store_prepare(db, "DELETE FROM app_passwords WHERE account_id = ?1 AND label = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, a->label, -1, true);
	int rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	if (db_changes(db) == 0) {
		*error_r = xasprintf("%s has no app password labelled %s", a->address, a->label);
		return STORE_ENOTFOUND;
	}
	return STORE_OK;
}

static enum store_err app_write(struct store *s, const char *address, const char *label,
				const char *pwhash,
				enum store_err (*fn)(struct store_txn *, void *, char **),
				char **error_r)
{
	*error_r = NULL;
	if (!label_valid(label)) {
		*error_r = xasprintf("a label is 1 to %d printable characters without spaces",
				     STORE_APP_LABEL_MAX);
		return STORE_EINVAL;
	}
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL) {
		*error_r = xasprintf("invalid address '%s': %s", address, why);
		return STORE_EINVAL;
	}
	struct app_args a = {.address = addr, .label = label, .pwhash = pwhash};
	enum store_err err = run_func(s, fn, &a, error_r);
	free(addr);
	return err;
}

enum store_err store_app_password_add(struct store *s, const char *address, const char *label,
				      const char *pwhash, char **error_r)
{
	return app_write(s, address, label, pwhash, fn_app_add, error_r);
}

enum store_err store_app_password_del(struct store *s, const char *address, const char *label,
				      char **error_r)
{
	return app_write(s, address, label, NULL, fn_app_del, error_r);
}

enum store_err store_app_password_list(struct store *s, const char *address,
				       struct store_app_password **list_r, size_t *n_r)
{
	*list_r = NULL;
	*n_r = 0;
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL)
		return STORE_EINVAL;
	struct db *db = store_reader(s);
	int64_t id;
	enum store_err err = account_by_address(db, addr, &id);
	free(addr);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(db, "SELECT label, created FROM app_passwords"
					     " WHERE account_id = ?1 ORDER BY id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	struct store_app_password *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		list[n].label = xstrdup(db_column_text(st, 0));
		list[n].created = db_column_int64(st, 1);
		n++;
	}
	db_reset(st);
	if ((err = store_read_err(rc)) != STORE_OK) {
		store_app_password_list_free(list, n);
		return err;
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

void store_app_password_list_free(struct store_app_password *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].label);
	free(list);
}

enum store_err store_app_password_hashes(struct store *s, int64_t account_id, char ***hashes_r,
					 size_t *n_r)
{
	*hashes_r = NULL;
	*n_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s), "SELECT pwhash FROM app_passwords"
							  " WHERE account_id = ?1 ORDER BY id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	char **hashes = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while (n < STORE_APP_PASSWORDS_MAX && (rc = db_step(st)) == DB_ROW) {
		hashes = xgrow(hashes, &cap, n + 1, sizeof(*hashes));
		hashes[n++] = xstrdup(db_column_text(st, 0));
	}
	if (n == STORE_APP_PASSWORDS_MAX)
		rc = DB_DONE; /* the cap: never more checks than this */
	db_reset(st);
	enum store_err err = store_read_err(rc);
	if (err != STORE_OK) {
		for (size_t i = 0; i < n; i++) {
			wipe(hashes[i], strlen(hashes[i]));
			free(hashes[i]);
		}
		free(hashes);
		return err;
	}
	*hashes_r = hashes;
	*n_r = n;
	return STORE_OK;
}

/* Does `addr` name account_id exactly (account or alias)? */
static enum store_err owned_exact(struct db *db, int64_t account_id, const char *addr,
				  bool *owned_r)
{
	struct db_stmt *st = store_prepare(db,
		"SELECT 1 FROM accounts WHERE id = ?1 AND address = ?2"
		" UNION ALL SELECT 1 FROM aliases JOIN accounts ON accounts.address = aliases.target"
		" WHERE aliases.alias = ?2 AND accounts.id = ?1 LIMIT 1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, addr, -1, true);
	int rc = db_step(st);
	db_reset(st);
	*owned_r = rc == DB_ROW;
	return rc == DB_ROW ? STORE_OK : store_read_err(rc);
}

enum store_err store_address_owned(struct store *s, int64_t account_id, const char *address,
				   bool *owned_r)
{
	*owned_r = false;
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL)
		return STORE_OK; /* not an address at all: nobody's */
	struct db *db = store_reader(s);
	enum store_err err = owned_exact(db, account_id, addr, owned_r);
	const char *domain = address_domain(addr);
	char *plus = strchr(addr, '+');
	if (err == STORE_OK && !*owned_r && plus != NULL && plus < domain - 1) {
		/* user+tag@domain is user@domain's, as it is when receiving */
		char *base = xasprintf("%.*s@%s", (int)(plus - addr), addr, domain);
		err = owned_exact(db, account_id, base, owned_r);
		free(base);
	}
	free(addr);
	return err;
}

struct scram_args {
	int64_t account_id;
	const char *pwhash;
	const struct scram_keys *keys;
};

static enum store_err fn_scram_set(struct store_txn *txn, void *arg, char **error_r)
{
	const struct scram_args *a = arg;
	struct db *db = store_txn_db(txn);
	/* only for an account that still has this password */
	struct db_stmt *st = store_prepare(db,
		"INSERT INTO scram_keys (account_id, pwhash, iterations, salt,"
		" stored_key, server_key) SELECT id, ?2, ?3, ?4, ?5, ?6 FROM accounts"
		" WHERE id = ?1 AND pwhash = ?2"
		" ON CONFLICT (account_id) DO UPDATE SET pwhash = excluded.pwhash,"
		" iterations = excluded.iterations, salt = excluded.salt,"
		" stored_key = excluded.stored_key, server_key = excluded.server_key");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, a->account_id);
	db_bind_text(st, 2, a->pwhash, -1, true);
	db_bind_int64(st, 3, a->keys->iterations);
	db_bind_blob(st, 4, a->keys->salt, SCRAM_SALT_LEN, true);
	db_bind_blob(st, 5, a->keys->stored_key, SCRAM_KEY_LEN, true);
	db_bind_blob(st, 6, a->keys->server_key, SCRAM_KEY_LEN, true);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

enum store_err store_scram_set(struct store *s, int64_t account_id, const char *pwhash,
			       const struct scram_keys *keys)
{
	struct scram_args a = {.account_id = account_id, .pwhash = pwhash, .keys = keys};
	return run_func(s, fn_scram_set, &a, NULL);
}

enum store_err store_scram_get(struct store *s, int64_t account_id, const char *pwhash,
			       struct scram_keys *keys_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT iterations, salt, stored_key, server_key FROM scram_keys"
		" WHERE account_id = ?1 AND pwhash = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, pwhash, -1, true);
	int rc = db_step(st);
	enum store_err err = store_row_err(rc);
	if (rc == DB_ROW) {
		int64_t iter = db_column_int64(st, 0);
		if (db_column_bytes(st, 1) != SCRAM_SALT_LEN ||
		    db_column_bytes(st, 2) != SCRAM_KEY_LEN ||
		    db_column_bytes(st, 3) != SCRAM_KEY_LEN || iter < 1 ||
		    iter > SCRAM_MAX_ITERATIONS) {
			err = STORE_ECORRUPT;
		} else {
			keys_r->iterations = (unsigned)iter;
			memcpy(keys_r->salt, db_column_blob(st, 1), SCRAM_SALT_LEN);
			memcpy(keys_r->stored_key, db_column_blob(st, 2), SCRAM_KEY_LEN);
			memcpy(keys_r->server_key, db_column_blob(st, 3), SCRAM_KEY_LEN);
		}
	}
	db_reset(st);
	return err;
}

enum store_err store_mailbox_special(struct store *s, int64_t account_id, const char *use,
				     int64_t *mailbox_id_r, uint32_t *uidvalidity_r)
{
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT id, uidvalidity FROM mailboxes WHERE account_id = ?1 AND special_use = ?2"
		" ORDER BY id LIMIT 1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, use, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*mailbox_id_r = db_column_int64(st, 0);
		*uidvalidity_r = (uint32_t)db_column_int64(st, 1);
	}
	db_reset(st);
	return store_row_err(rc);
}

enum store_err store_mailbox_saved_since(struct store *s, int64_t account_id,
					 int64_t mailbox_id, int64_t since, size_t max,
					 uint32_t **uids_r, size_t *n_r)
{
	*uids_r = NULL;
	*n_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
		" WHERE m.mailbox_id = ?1 AND b.account_id = ?2 AND m.savedate >= ?3"
		" ORDER BY m.uid DESC LIMIT ?4");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, mailbox_id);
	db_bind_int64(st, 2, account_id);
	db_bind_int64(st, 3, since);
	db_bind_int64(st, 4, (int64_t)max);
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		uids = xgrow(uids, &cap, n + 1, sizeof(*uids));
		uids[n++] = (uint32_t)db_column_int64(st, 0);
	}
	db_reset(st);
	enum store_err err = store_read_err(rc);
	if (err != STORE_OK) {
		free(uids);
		return err;
	}
	*uids_r = uids;
	*n_r = n;
	return STORE_OK;
}

enum store_err store_sent_duplicate(struct store *s, int64_t account_id, int64_t mailbox_id,
				    const char *data, size_t len, uint32_t *uid_r)
{
	*uid_r = 0;
	char *mid = NULL, *from = NULL;
	if (header_field_sent_identity(data, len, &mid, &from) < 0)
		return STORE_OK; /* no identity: never a duplicate */
	uint32_t *uids = NULL;
	size_t n = 0;
	enum store_err err = store_mailbox_saved_since(s, account_id, mailbox_id,
						       (int64_t)time(NULL) - STORE_SENT_DEDUP_WINDOW_S,
						       STORE_SENT_DEDUP_CANDIDATES, &uids, &n);
	for (size_t i = 0; err == STORE_OK && i < n && *uid_r == 0; i++) {
		char *content = NULL, *m2 = NULL, *f2 = NULL;
		size_t clen = 0, plen = 0;
		err = store_message_content(s, account_id, mailbox_id, uids[i], &content, &clen,
					    &plen);
		if (err == STORE_ENOTFOUND) {
			err = STORE_OK; /* expunged meanwhile */
			continue;
		}
		if (err == STORE_OK &&
		    header_field_sent_identity(content + plen, clen - plen, &m2, &f2) == 0 &&
		    strcmp(m2, mid) == 0 && strcmp(f2, from) == 0)
			*uid_r = uids[i];
		free(m2);
		free(f2);
		free(content);
	}
	free(uids);
	free(mid);
	free(from);
	return err;
}

struct save_sent_args {
	const char *address;	/* normalised */
	int mode;
};

static enum store_err fn_save_sent(struct store_txn *txn, void *arg, char **error_r)
{
	const struct save_sent_args *a = arg;
	struct db *db = store_txn_db(txn);
	int64_t id;
	enum store_err err = account_by_address(db, a->address, &id);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("no such account %s", a->address);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(db, a->mode < 0
		? "DELETE FROM submission_settings WHERE account_id = ?1"
		: "INSERT INTO submission_settings (account_id, save_sent) VALUES (?1, ?2)"
		  " ON CONFLICT (account_id) DO UPDATE SET save_sent = excluded.save_sent");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	if (a->mode >= 0)
		db_bind_int(st, 2, a->mode);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

enum store_err store_save_sent_set(struct store *s, const char *address, int mode,
				   char **error_r)
{
	*error_r = NULL;
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL) {
		*error_r = xasprintf("invalid address '%s': %s", address, why);
		return STORE_EINVAL;
	}
	struct save_sent_args a = {.address = addr, .mode = mode};
	enum store_err err = run_func(s, fn_save_sent, &a, error_r);
	free(addr);
	return err;
}

enum store_err store_save_sent_get(struct store *s, int64_t account_id, int *mode_r)
{
	*mode_r = -1;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT save_sent FROM submission_settings WHERE account_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*mode_r = db_column_int(st, 0) != 0;
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? STORE_OK : store_read_err(rc);
}
