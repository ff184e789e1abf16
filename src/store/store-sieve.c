/* store-sieve: see store-sieve.h. Tables sieve_scripts, sieve_vacation,
 * sieve_redirects, sieve_duplicates (store-schema.c, version 4). */
#include "store/store-sieve.h"
#include "store/store-internal.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

bool store_sieve_name_valid(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;
	if (len == 0 || len > STORE_SIEVE_MAX_NAME)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/')
			return false;
	return true;
}

void store_sieve_list_free(struct store_sieve_script *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

enum store_err store_sieve_list(struct store *s, int64_t account_id,
				struct store_sieve_script **list_r, size_t *n_r)
{
	*list_r = NULL;
	*n_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT name, active, updated, length(content) FROM sieve_scripts"
		" WHERE account_id = ?1 ORDER BY name");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	struct store_sieve_script *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		list[n].name = xstrdup(db_column_text(st, 0));
		list[n].active = db_column_int(st, 1) != 0;
		list[n].updated = db_column_int64(st, 2);
		list[n].size = (size_t)db_column_int64(st, 3);
		n++;
	}
	db_reset(st);
	enum store_err err = store_read_err(rc);
	if (err != STORE_OK) {
		store_sieve_list_free(list, n);
		return err;
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

static char *column_text_dup(struct db_stmt *st, int col, size_t *len_r)
{
	size_t len = (size_t)db_column_bytes(st, col);
	const void *v = db_column_blob(st, col);
	char *out = xmalloc(len + 1);
	if (len > 0)
		memcpy(out, v, len);
	out[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return out;
}

enum store_err store_sieve_get(struct store *s, int64_t account_id, const char *name,
			       char **content_r, size_t *len_r, bool *active_r)
{
	*content_r = NULL;
	*len_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT content, active FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, name, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*content_r = column_text_dup(st, 0, len_r);
		if (active_r != NULL)
			*active_r = db_column_int(st, 1) != 0;
	}
	db_reset(st);
	return store_row_err(rc);
}

enum store_err store_sieve_get_active(struct store *s, int64_t account_id, char **name_r,
				      char **content_r, size_t *len_r)
{
	*name_r = NULL;
	*content_r = NULL;
	*len_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT name, content FROM sieve_scripts WHERE account_id = ?1 AND active != 0");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*name_r = xstrdup(db_column_text(st, 0));
		*content_r = column_text_dup(st, 1, len_r);
	}
	db_reset(st);
	return store_row_err(rc);
}

/* Run a statement that takes no result rows; rows changed through *n_r. */
static enum store_err exec_done(struct db *db, struct db_stmt *st, int *n_r)
{
	int rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return store_step_err(rc);
	if (n_r != NULL)
		*n_r = db_changes(db);
	return STORE_OK;
}

static enum store_err account_exists(struct db *db, int64_t account_id)
{
	struct db_stmt *st = store_prepare(db, "SELECT 1 FROM accounts WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	db_reset(st);
	return store_row_err(rc);
}

static enum store_err deactivate_all(struct db *db, int64_t account_id)
{
	struct db_stmt *st = store_prepare(db,
		"UPDATE sieve_scripts SET active = 0 WHERE account_id = ?1 AND active != 0");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	return exec_done(db, st, NULL);
}

static enum store_err activate_one(struct db *db, int64_t account_id, const char *name)
{
	enum store_err err = deactivate_all(db, account_id);
	if (err != STORE_OK || name == NULL)
		return err;
	struct db_stmt *st = store_prepare(db,
		"UPDATE sieve_scripts SET active = 1 WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, name, -1, true);
	int n = 0;
	err = exec_done(db, st, &n);
	return err != STORE_OK ? err : n == 0 ? STORE_ENOTFOUND : STORE_OK;
}

static enum store_err put_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_sieve_put *p = arg;
	struct db *db = store_txn_db(txn);
	if (!store_sieve_name_valid(p->name) || p->len > STORE_SIEVE_MAX_CONTENT)
		return STORE_EINVAL;
	enum store_err err = account_exists(db, p->account_id);
	if (err != STORE_OK)
		return err;
	if (p->max_scripts > 0) {
		struct db_stmt *st = store_prepare(db,
			"SELECT count(*), COALESCE(sum(CASE WHEN name = ?2 THEN 1 ELSE 0 END), 0) FROM sieve_scripts"
			" WHERE account_id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, p->account_id);
		db_bind_text(st, 2, p->name, -1, true);
		int rc = db_step(st);
		int64_t n = 0, same = 0;
		if (rc == DB_ROW) {
			n = db_column_int64(st, 0);
			same = db_column_int64(st, 1);
		}
		db_reset(st);
		if (rc != DB_ROW)
			return store_step_err(rc);
		if (same == 0 && n >= (int64_t)p->max_scripts) {
			*error_r = xstrdup("too many scripts");
			return STORE_ELIMIT;
		}
	}
	struct db_stmt *st = store_prepare(db,
		"INSERT INTO sieve_scripts (account_id, name, content, active, updated)"
		" VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (account_id, name)"
		" DO UPDATE SET content = excluded.content, updated = excluded.updated");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, p->account_id);
	db_bind_text(st, 2, p->name, -1, true);
	db_bind_blob(st, 3, p->len > 0 ? p->content : "", (int)p->len, true);
	db_bind_int64(st, 4, store_now());
	err = exec_done(db, st, NULL);
	if (err == STORE_OK && p->activate)
		err = activate_one(db, p->account_id, p->name);
	return err;
}

void store_sieve_put_init(struct store_op *op, struct store_sieve_put *p)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = put_fn;
	op->u.func.arg = p;
}

static enum store_err activate_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_sieve_name *n = arg;
	return activate_one(store_txn_db(txn), n->account_id, n->name);
}

void store_sieve_activate_init(struct store_op *op, struct store_sieve_name *n)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = activate_fn;
	op->u.func.arg = n;
}

static enum store_err delete_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_sieve_name *n = arg;
	struct db *db = store_txn_db(txn);
	struct db_stmt *st = store_prepare(db,
		"SELECT active FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, n->account_id);
	db_bind_text(st, 2, n->name, -1, true);
	int rc = db_step(st);
	bool active = rc == DB_ROW && db_column_int(st, 0) != 0;
	db_reset(st);
	enum store_err err = store_row_err(rc);
	if (err != STORE_OK)
		return err;
	if (active)
		return STORE_EINUSE;
	st = store_prepare(db, "DELETE FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, n->account_id);
	db_bind_text(st, 2, n->name, -1, true);
	return exec_done(db, st, NULL);
}

void store_sieve_delete_init(struct store_op *op, struct store_sieve_name *n)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = delete_fn;
	op->u.func.arg = n;
}

static enum store_err rename_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_sieve_name *n = arg;
	struct db *db = store_txn_db(txn);
	if (!store_sieve_name_valid(n->new_name))
		return STORE_EINVAL;
	struct db_stmt *st = store_prepare(db,
		"SELECT 1 FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, n->account_id);
	db_bind_text(st, 2, n->new_name, -1, true);
	int rc = db_step(st);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_EEXISTS;
	if (rc != DB_DONE)
		return store_step_err(rc);
	st = store_prepare(db, "UPDATE sieve_scripts SET name = ?3, updated = ?4"
			       " WHERE account_id = ?1 AND name = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, n->account_id);
	db_bind_text(st, 2, n->name, -1, true);
	db_bind_text(st, 3, n->new_name, -1, true);
	db_bind_int64(st, 4, store_now());
	int changed = 0;
	enum store_err err = exec_done(db, st, &changed);
	return err != STORE_OK ? err : changed == 0 ? STORE_ENOTFOUND : STORE_OK;
}

void store_sieve_rename_init(struct store_op *op, struct store_sieve_name *n)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = rename_fn;
	op->u.func.arg = n;
}

/* The SQL of each state kind: [kind][0] read, [1] write, [2] expire. The
 * duplicate table has one key: ?3 is not in its text nor bound. */
static const char *const state_sql[][3] = {
	[STORE_SIEVE_VACATION] = {
		"SELECT sent FROM sieve_vacation WHERE account_id = ?1 AND sender = ?2"
		" AND handle = ?3",
		"INSERT INTO sieve_vacation (account_id, sender, handle, sent) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (account_id, sender, handle) DO UPDATE SET sent = excluded.sent",
		"DELETE FROM sieve_vacation WHERE account_id = ?1 AND sent < ?2",
	},
	[STORE_SIEVE_REDIRECT] = {
		"SELECT sent FROM sieve_redirects WHERE account_id = ?1 AND msgid = ?2"
		" AND address = ?3",
		"INSERT INTO sieve_redirects (account_id, msgid, address, sent) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (account_id, msgid, address) DO UPDATE SET sent = excluded.sent",
		"DELETE FROM sieve_redirects WHERE account_id = ?1 AND sent < ?2",
	},
	[STORE_SIEVE_DUPLICATE] = {
		"SELECT seen FROM sieve_duplicates WHERE account_id = ?1 AND id = ?2",
		"INSERT INTO sieve_duplicates (account_id, id, seen) VALUES (?1, ?2, ?4)"
		" ON CONFLICT (account_id, id) DO UPDATE SET seen = excluded.seen",
		"DELETE FROM sieve_duplicates WHERE account_id = ?1 AND seen < ?2",
	},
};

enum store_err store_sieve_state_get(struct store *s, int64_t account_id,
				     enum store_sieve_state_kind kind, const char *key,
				     const char *key2, int64_t *when_r)
{
	*when_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s), state_sql[kind][0]);
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_text(st, 2, key, -1, true);
	if (kind != STORE_SIEVE_DUPLICATE)
		db_bind_text(st, 3, key2 != NULL ? key2 : "", -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*when_r = db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? STORE_OK : store_read_err(rc);
}

enum store_err store_sieve_redirects_since(struct store *s, int64_t account_id, int64_t since,
					   int64_t *n_r)
{
	*n_r = 0;
	struct db_stmt *st = store_prepare(store_reader(s),
		"SELECT count(*) FROM sieve_redirects WHERE account_id = ?1 AND sent >= ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_int64(st, 2, since);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*n_r = db_column_int64(st, 0);
	db_reset(st);
	return store_row_err(rc) == STORE_ENOTFOUND ? STORE_ETEMP : store_row_err(rc);
}

static enum store_err mark_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_sieve_mark *m = arg;
	struct db *db = store_txn_db(txn);
	const char *key2 = m->key2 != NULL ? m->key2 : "";
	if (m->key == NULL || strlen(m->key) > STORE_SIEVE_MAX_KEY ||
	    strlen(key2) > STORE_SIEVE_MAX_KEY)
		return STORE_EINVAL;
	enum store_err err;
	if (m->expire_before > 0) {
		struct db_stmt *st = store_prepare(db, state_sql[m->kind][2]);
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, m->account_id);
		db_bind_int64(st, 2, m->expire_before);
		if ((err = exec_done(db, st, NULL)) != STORE_OK)
			return err;
	}
	struct db_stmt *st = store_prepare(db, state_sql[m->kind][1]);
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, m->account_id);
	db_bind_text(st, 2, m->key, -1, true);
	if (m->kind != STORE_SIEVE_DUPLICATE)
		db_bind_text(st, 3, key2, -1, true);
	db_bind_int64(st, 4, m->when);
	return exec_done(db, st, NULL);
}

void store_sieve_mark_init(struct store_op *op, struct store_sieve_mark *m)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = mark_fn;
	op->u.func.arg = m;
}
