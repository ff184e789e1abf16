/* store-metadata: see store-metadata.h. Table metadata (store-schema.c):
 * (account_id, mailbox_id, name) -> value; mailbox_id 0 = the server. */
#include "store/store-metadata.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

void store_metadata_entries_free(struct store_metadata_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].value);
	}
	free(list);
}

/* Entries and octets (names + values) held now, for the account and for
 * the one mailbox. */
static enum store_err count_usage(struct db *db, int64_t account_id, int64_t mailbox_id,
				  int64_t *account_n_r, int64_t *account_bytes_r,
				  int64_t *mailbox_n_r)
{
	struct db_stmt *st = store_prepare(db,
		"SELECT count(*), COALESCE(sum(length(name) + length(value)), 0),"
		" COALESCE(sum(CASE WHEN mailbox_id = ?2 THEN 1 ELSE 0 END), 0)"
		" FROM metadata WHERE account_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_int64(st, 2, mailbox_id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*account_n_r = db_column_int64(st, 0);
		*account_bytes_r = db_column_int64(st, 1);
		*mailbox_n_r = db_column_int64(st, 2);
	}
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_step_err(rc);
}

static enum store_err set_one(struct db *db, const struct store_metadata_set *set,
			      const struct store_metadata_entry *e)
{
	struct db_stmt *st;
	if (e->value == NULL)
		st = store_prepare(db, "DELETE FROM metadata WHERE account_id = ?1"
				       " AND mailbox_id = ?2 AND name = ?3");
	else
		st = store_prepare(db, "INSERT INTO metadata (account_id, mailbox_id, name, value)"
				       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, mailbox_id,"
				       " name) DO UPDATE SET value = excluded.value");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, set->account_id);
	db_bind_int64(st, 2, set->mailbox_id);
	db_bind_text(st, 3, e->name, -1, true);
	if (e->value != NULL)
		db_bind_blob(st, 4, e->len > 0 ? e->value : "", (int)e->len, true);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_step_err(rc);
}

/* Runs in the writer's savepoint: a limit passed by the last entry undoes
 * the earlier ones too (RFC 5464 4.3: all or nothing). */
static enum store_err set_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_metadata_set *set = arg;
	struct db *db = store_txn_db(txn);
	set->too_large = false;
	for (size_t i = 0; i < set->nentries; i++) {
		const struct store_metadata_entry *e = &set->entries[i];
		if (strlen(e->name) > STORE_METADATA_MAX_NAME)
			return STORE_EINVAL;
		if (e->value != NULL && e->len > STORE_METADATA_MAX_VALUE) {
			set->too_large = true;
			return STORE_ELIMIT;
		}
	}
	if (set->mailbox_id != 0) {
		enum store_err err = store_mailbox_owned(db, set->account_id, set->mailbox_id);
		if (err != STORE_OK)
			return err;
	}
	for (size_t i = 0; i < set->nentries; i++) {
		enum store_err err = set_one(db, set, &set->entries[i]);
		if (err != STORE_OK)
			return err;
	}
	int64_t n = 0, bytes = 0, mbn = 0;
	enum store_err err = count_usage(db, set->account_id, set->mailbox_id, &n, &bytes, &mbn);
	if (err != STORE_OK)
		return err;
	if (n > STORE_METADATA_MAX_ACCOUNT_ENTRIES || bytes > STORE_METADATA_MAX_ACCOUNT_BYTES ||
	    mbn > STORE_METADATA_MAX_MAILBOX_ENTRIES) {
		*error_r = xstrdup("metadata limit of the account or mailbox reached");
		return STORE_ELIMIT;
	}
	return STORE_OK;
}

void store_metadata_set_init(struct store_op *op, struct store_metadata_set *set)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = set_fn;
	op->u.func.arg = set;
	set->too_large = false;
}

enum store_err store_metadata_get(struct store *s, int64_t account_id, int64_t mailbox_id,
				  const char *name, int depth,
				  struct store_metadata_entry **list_r, size_t *n_r)
{
	*list_r = NULL;
	*n_r = 0;
	struct db *db = store_reader(s);
	if (mailbox_id != 0) {
		enum store_err err = store_mailbox_owned(db, account_id, mailbox_id);
		if (err != STORE_OK)
			return err;
	}
	/* descendants of P are the names in (P "/", P "0"): '0' follows '/' */
	struct db_stmt *st = store_prepare(db,
		"SELECT name, value FROM metadata WHERE account_id = ?1 AND mailbox_id = ?2"
		" AND (name = ?3 OR (?4 AND name > ?3 || '/' AND name < ?3 || '0'))"
		" ORDER BY name");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_int64(st, 2, mailbox_id);
	db_bind_text(st, 3, name, -1, true);
	db_bind_int(st, 4, depth != 0);
	size_t plen = strlen(name), n = 0, cap = 0;
	struct store_metadata_entry *list = NULL;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *en = db_column_text(st, 0);
		/* depth 1: children only, not grandchildren */
		if (depth == 1 && strlen(en) > plen && strchr(en + plen + 1, '/') != NULL)
			continue;
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		size_t len = (size_t)db_column_bytes(st, 1);
		const void *v = db_column_blob(st, 1);
		list[n].name = xstrdup(en);
		list[n].value = xmalloc(len + 1);
		if (len > 0)
			memcpy(list[n].value, v, len);
		list[n].value[len] = '\0';
		list[n].len = len;
		n++;
	}
	db_reset(st);
	enum store_err err = store_read_err(rc);
	if (err != STORE_OK) {
		store_metadata_entries_free(list, n);
		return err;
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}
