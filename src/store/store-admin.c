/*
 * store-admin: domains, accounts and aliases, and recipient resolution.
 * Writes go through store_run() as STORE_OP_FUNC ops, so while the daemon
 * runs they are serialised with everything else by its writer.
 */
#include "store/store-ops.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include <string.h>

/* Folders every new account gets (RFC 6154 attributes), all subscribed:
 * clients that show only subscribed folders find them. */
static const struct {
	const char *name, *special_use;
} default_mailboxes[] = {
	{"INBOX", NULL},	 {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},
	{"Trash", "\\Trash"}, {"Junk", "\\Junk"},	 {"Archive", "\\Archive"},
};

/* Each admin write is a STORE_OP_FUNC with its own small argument struct
 * (the op carries a void *; every fn_* below casts back to its own type). */
static enum store_err run_func(struct store *s, enum store_err (*fn)(struct store_txn *, void *, char **),
			       void *args, char **error_r)
{
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = fn;
	op.u.func.arg = args;
	enum store_err err = store_run(s, &op);
	if (err != STORE_OK && error_r != NULL)
		*error_r = op.error ? xstrdup(op.error) : xstrdup(store_strerror(err));
	store_op_clear(&op);
	return err;
}

static int step_done(struct db_stmt *st)
{
	int rc = db_step(st);
	db_reset(st);
	return rc;
}

/* A write statement's result (DONE = done). */
static enum store_err write_err(int rc)
{
	return rc == DB_DONE ? STORE_OK : store_db_err(rc);
}

/* The id of one row named by text: STORE_OK with *id_r, STORE_ENOTFOUND
 * when there is no such row, or the read error (never "absent" then). */
static enum store_err id_by_name(struct db *db, const char *sql, const char *name, int64_t *id_r)
{
	struct db_stmt *st = store_prepare(db, sql);
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, name, -1, true);
	int rc = db_step(st);
	*id_r = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	return store_row_err(rc);
}

static enum store_err domain_id(struct db *db, const char *domain, int64_t *id_r)
{
	return id_by_name(db, "SELECT id FROM domains WHERE name = ?1", domain, id_r);
}

static enum store_err account_id(struct db *db, const char *address, int64_t *id_r)
{
	return id_by_name(db, "SELECT id FROM accounts WHERE address = ?1", address, id_r);
}

/* ---- domains ---- */

struct domain_args {
	const char *domain;	/* lowercased */
};

static enum store_err fn_domain_add(struct store_txn *txn, void *arg, char **error_r)
{
	const struct domain_args *a = arg;
	int64_t id;
	enum store_err err = domain_id(txn->db, a->domain, &id);
	if (err == STORE_OK) {
		*error_r = xasprintf("domain %s already exists", a->domain);
		return STORE_EEXISTS;
	}
	if (err != STORE_ENOTFOUND)
		return err;
	struct db_stmt *st = store_prepare(txn->db, "INSERT INTO domains (name) VALUES (?1)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->domain, -1, true);
	return write_err(step_done(st));
}

static char *lower_domain(const char *domain, char **error_r)
{
	if (!domain_valid(domain)) {
		*error_r = xasprintf("invalid domain name '%s'", domain);
		return NULL;
	}
	char *d = xstrdup(domain);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

enum store_err store_domain_add(struct store *s, const char *domain, char **error_r)
{
	char *d = lower_domain(domain, error_r);
	if (d == NULL)
		return STORE_EINVAL;
	struct domain_args a = {.domain = d};
	enum store_err err = run_func(s, fn_domain_add, &a, error_r);
	free(d);
	return err;
}

static enum store_err fn_domain_del(struct store_txn *txn, void *arg, char **error_r)
{
	const struct domain_args *a = arg;
	int64_t id;
	enum store_err err = domain_id(txn->db, a->domain, &id);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("no such domain %s", a->domain);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(txn->db, "SELECT count(*) FROM accounts WHERE domain_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	int64_t n = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc != DB_ROW)
		return store_db_err(rc);
	if (n > 0) {
		*error_r = xasprintf("domain %s still has %lld account(s); delete them first", a->domain,
				     (long long)n);
		return STORE_EPERM;
	}
	st = store_prepare(txn->db, "DELETE FROM aliases WHERE alias LIKE '%@' || ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->domain, -1, true);
	if ((err = write_err(step_done(st))) != STORE_OK)
		return err;
	st = store_prepare(txn->db, "DELETE FROM domains WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	return write_err(step_done(st));
}

enum store_err store_domain_del(struct store *s, const char *domain, char **error_r)
{
	char *d = lower_domain(domain, error_r);
	if (d == NULL)
		return STORE_EINVAL;
	struct domain_args a = {.domain = d};
	enum store_err err = run_func(s, fn_domain_del, &a, error_r);
	free(d);
	return err;
}

enum store_err store_domain_list(struct store *s, char ***names_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(store_reader(s), "SELECT name FROM domains ORDER BY name");
	if (st == NULL)
		return STORE_ETEMP;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		names = xgrow(names, &cap, n + 1, sizeof(*names));
		names[n++] = xstrdup(db_column_text(st, 0));
	}
	db_reset(st);
	if (rc != DB_DONE) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return store_read_err(rc);
	}
	*names_r = names;
	*n_r = n;
	return STORE_OK;
}

enum store_err store_domain_hosted(struct store *s, const char *domain, bool *hosted_r)
{
	*hosted_r = false;
	char *err_text = NULL;
	char *d = lower_domain(domain, &err_text);
	free(err_text);
	if (d == NULL)
		return STORE_OK; /* not a domain name: certainly not hosted */
	int64_t id;
	enum store_err err = domain_id(store_reader(s), d, &id);
	free(d);
	if (err == STORE_ENOTFOUND)
		return STORE_OK;
	*hosted_r = err == STORE_OK;
	return err;
}

struct catchall_args {
	const char *domain;	/* lowercased */
	const char *address;	/* normalised, or NULL: off */
};

static enum store_err fn_domain_catchall(struct store_txn *txn, void *arg, char **error_r)
{
	const struct catchall_args *a = arg;
	int64_t id;
	enum store_err err = domain_id(txn->db, a->domain, &id);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("no such domain %s", a->domain);
	if (err != STORE_OK)
		return err;
	if (a->address != NULL) {
		err = account_id(txn->db, a->address, &id);
		if (err == STORE_ENOTFOUND)
			*error_r = xasprintf("no such account %s", a->address);
		if (err != STORE_OK)
			return err;
	}
	struct db_stmt *st = store_prepare(txn->db, "UPDATE domains SET catchall = ?2 WHERE name = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->domain, -1, true);
	db_bind_text(st, 2, a->address, -1, true);
	return write_err(step_done(st));
}

enum store_err store_domain_catchall(struct store *s, const char *domain, const char *address,
				     char **error_r)
{
	char *d = lower_domain(domain, error_r);
	if (d == NULL)
		return STORE_EINVAL;
	char *addr = NULL;
	if (address != NULL) {
		const char *why;
		if ((addr = address_normalize(address, &why)) == NULL) {
			*error_r = xasprintf("%s: %s", address, why);
			free(d);
			return STORE_EINVAL;
		}
	}
	struct catchall_args a = {.domain = d, .address = addr};
	enum store_err err = run_func(s, fn_domain_catchall, &a, error_r);
	free(d);
	free(addr);
	return err;
}

/* ---- accounts ---- */

struct account_add_args {
	const char *address;	/* normalised */
	const char *pwhash;
};

static enum store_err fn_account_add(struct store_txn *txn, void *arg, char **error_r)
{
	const struct account_add_args *a = arg;
	const char *domain = address_domain(a->address);
	int64_t did, id;
	enum store_err err = domain_id(txn->db, domain, &did);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("domain %s is not hosted here (roost domain add %s)", domain, domain);
	if (err != STORE_OK)
		return err;
	err = account_id(txn->db, a->address, &id);
	if (err == STORE_OK) {
		*error_r = xasprintf("account %s already exists", a->address);
		return STORE_EEXISTS;
	}
	if (err != STORE_ENOTFOUND)
		return err;
	struct db_stmt *st = store_prepare(txn->db,
		"INSERT INTO accounts (domain_id, address, pwhash, created) VALUES (?1, ?2, ?3, ?4)"
		" RETURNING id");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, did);
	db_bind_text(st, 2, a->address, -1, true);
	db_bind_text(st, 3, a->pwhash, -1, true);
	db_bind_int64(st, 4, store_now());
	err = store_insert_id(st, &id);
	if (err != STORE_OK)
		return err;
	for (size_t i = 0; i < sizeof(default_mailboxes) / sizeof(default_mailboxes[0]); i++) {
		err = store_mailbox_insert(txn, id, default_mailboxes[i].name,
					   default_mailboxes[i].special_use, NULL);
		if (err == STORE_OK)
			err = store_subscription_set(txn, id, default_mailboxes[i].name, true);
		if (err != STORE_OK)
			return err;
	}
	return STORE_OK;
}

static char *normalize_or_error(const char *address, char **error_r)
{
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL)
		*error_r = xasprintf("invalid address '%s': %s", address, why);
	return addr;
}

enum store_err store_account_add(struct store *s, const char *address, const char *pwhash,
				 char **error_r)
{
	char *addr = normalize_or_error(address, error_r);
	if (addr == NULL)
		return STORE_EINVAL;
	struct account_add_args a = {.address = addr, .pwhash = pwhash};
	enum store_err err = run_func(s, fn_account_add, &a, error_r);
	free(addr);
	return err;
}

/* The id of an existing account, with the admin's message when absent. */
static enum store_err existing_account(struct store_txn *txn, const char *address, int64_t *id_r,
				       char **error_r)
{
	enum store_err err = account_id(txn->db, address, id_r);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("no such account %s", address);
	return err;
}

struct account_del_args {
	const char *address;	/* normalised */
};

static enum store_err fn_account_del(struct store_txn *txn, void *arg, char **error_r)
{
	const struct account_del_args *a = arg;
	int64_t id;
	enum store_err err = existing_account(txn, a->address, &id, error_r);
	if (err != STORE_OK)
		return err;
	/* Empty every mailbox first so content references are released. */
	int64_t *mbs = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *st = store_prepare(txn->db, "SELECT id FROM mailboxes WHERE account_id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		mbs = xgrow(mbs, &cap, n + 1, sizeof(*mbs));
		mbs[n++] = db_column_int64(st, 0);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		free(mbs);
		return store_db_err(rc);
	}
	for (size_t i = 0; i < n && err == STORE_OK; i++) {
		struct store_op x;
		store_op_init(&x, STORE_OP_EXPUNGE);
		x.u.expunge.account_id = id;
		x.u.expunge.mailbox_id = mbs[i];
		err = store_op_expunge(txn, &x);
		store_op_clear(&x);
		if (err != STORE_OK)
			break;
		if (store_txn_touch_mailbox(txn, mbs[i]) == 0) {
			err = STORE_ETEMP;
			break;
		}
		st = store_prepare(txn->db, "DELETE FROM expunged WHERE mailbox_id = ?1");
		if (st == NULL) {
			err = STORE_ETEMP;
			break;
		}
		db_bind_int64(st, 1, mbs[i]);
		err = write_err(step_done(st));
	}
	free(mbs);
	if (err != STORE_OK)
		return err;
	static const char *const sqls[] = {
		"DELETE FROM mailboxes WHERE account_id = ?1",
		"DELETE FROM accounts WHERE id = ?1",
		"DELETE FROM threads WHERE account_id = ?1",
		"DELETE FROM app_passwords WHERE account_id = ?1",
		"DELETE FROM scram_keys WHERE account_id = ?1",
		"DELETE FROM submission_settings WHERE account_id = ?1",
		"DELETE FROM subscriptions WHERE account_id = ?1",
	};
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		st = store_prepare(txn->db, sqls[i]);
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, id);
		if ((err = write_err(step_done(st))) != STORE_OK)
			return err;
	}
	static const char *const by_address[] = {
		"DELETE FROM aliases WHERE target = ?1",
		"UPDATE domains SET catchall = NULL WHERE catchall = ?1",
	};
	for (size_t i = 0; i < 2; i++) {
		st = store_prepare(txn->db, by_address[i]);
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_text(st, 1, a->address, -1, true);
		if ((err = write_err(step_done(st))) != STORE_OK)
			return err;
	}
	return STORE_OK;
}

enum store_err store_account_del(struct store *s, const char *address, char **error_r)
{
	char *addr = normalize_or_error(address, error_r);
	if (addr == NULL)
		return STORE_EINVAL;
	struct account_del_args a = {.address = addr};
	enum store_err err = run_func(s, fn_account_del, &a, error_r);
	free(addr);
	return err;
}

/* One text column of an existing account (pwhash, pop3_delete). */
struct account_text_args {
	const char *address;	/* normalised */
	const char *sql;	/* UPDATE ... SET col = ?2 WHERE address = ?1 */
	const char *value;
};

static enum store_err fn_account_text(struct store_txn *txn, void *arg, char **error_r)
{
	const struct account_text_args *a = arg;
	int64_t id;
	enum store_err err = existing_account(txn, a->address, &id, error_r);
	if (err != STORE_OK)
		return err;
	struct db_stmt *st = store_prepare(txn->db, a->sql);
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->address, -1, true);
	db_bind_text(st, 2, a->value, -1, true);
	return write_err(step_done(st));
}

static enum store_err set_account_text(struct store *s, const char *address, const char *sql,
				       const char *value, char **error_r)
{
	char *addr = normalize_or_error(address, error_r);
	if (addr == NULL)
		return STORE_EINVAL;
	struct account_text_args a = {.address = addr, .sql = sql, .value = value};
	enum store_err err = run_func(s, fn_account_text, &a, error_r);
	free(addr);
	return err;
}

enum store_err store_account_passwd(struct store *s, const char *address, const char *pwhash,
				    char **error_r)
{
	return set_account_text(s, address, "UPDATE accounts SET pwhash = ?2 WHERE address = ?1",
				pwhash, error_r);
}

static void bind_quota(struct db_stmt *st, int idx, int64_t v)
{
	if (v == -2)
		db_bind_null(st, idx);
	else
		db_bind_int64(st, idx, v);
}

struct quota_args {
	const char *address;	/* normalised */
	int64_t bytes, messages; /* store.h: -1 unlimited, -2 default, -3 unchanged */
};

static enum store_err fn_quota(struct store_txn *txn, void *arg, char **error_r)
{
	const struct quota_args *a = arg;
	int64_t id;
	enum store_err err = existing_account(txn, a->address, &id, error_r);
	if (err != STORE_OK)
		return err;
	static const char *const sqls[] = {
		"UPDATE accounts SET quota_bytes = ?2 WHERE id = ?1",
		"UPDATE accounts SET quota_messages = ?2 WHERE id = ?1",
	};
	int64_t vals[2] = {a->bytes, a->messages};
	for (int i = 0; i < 2; i++) {
		if (vals[i] == -3)
			continue;
		struct db_stmt *st = store_prepare(txn->db, sqls[i]);
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, id);
		bind_quota(st, 2, vals[i]);
		if ((err = write_err(step_done(st))) != STORE_OK)
			return err;
	}
	return STORE_OK;
}

enum store_err store_account_quota(struct store *s, const char *address, int64_t bytes,
				   int64_t messages, char **error_r)
{
	if (bytes < -3 || messages < -3) {
		*error_r = xstrdup("invalid quota value");
		return STORE_EINVAL;
	}
	char *addr = normalize_or_error(address, error_r);
	if (addr == NULL)
		return STORE_EINVAL;
	struct quota_args a = {.address = addr, .bytes = bytes, .messages = messages};
	enum store_err err = run_func(s, fn_quota, &a, error_r);
	free(addr);
	return err;
}

enum store_err store_account_pop3_delete(struct store *s, const char *address, const char *mode,
					 char **error_r)
{
	if (mode != NULL && strcmp(mode, "expunge") != 0 && strcmp(mode, "hide") != 0) {
		*error_r = xasprintf("pop3 delete mode must be expunge, hide or default, not '%s'", mode);
		return STORE_EINVAL;
	}
	return set_account_text(s, address, "UPDATE accounts SET pop3_delete = ?2 WHERE address = ?1",
				mode, error_r);
}

/* Typed arguments of store_account_set_disabled(). */
struct disabled_args {
	const char *address;
	bool disabled;
};

static enum store_err fn_set_disabled(struct store_txn *txn, void *arg, char **error_r)
{
	struct disabled_args *a = arg;
	struct db_stmt *st = store_prepare(txn->db, "UPDATE accounts SET disabled = ?2 WHERE address = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->address, -1, true);
	db_bind_int(st, 2, a->disabled ? 1 : 0);
	int rc = db_step(st);
	int changed = db_changes(txn->db);
	db_reset(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	if (changed == 0) {
		*error_r = xasprintf("no such account %s", a->address);
		return STORE_ENOTFOUND;
	}
	return STORE_OK;
}

enum store_err store_account_set_disabled(struct store *s, const char *address, bool disabled,
					  char **error_r)
{
	char *addr = normalize_or_error(address, error_r);
	if (addr == NULL)
		return STORE_EINVAL;
	struct disabled_args a = {.address = addr, .disabled = disabled};
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = fn_set_disabled;
	op.u.func.arg = &a;
	enum store_err err = store_run(s, &op);
	if (err != STORE_OK && error_r != NULL)
		*error_r = op.error ? xstrdup(op.error) : xstrdup(store_strerror(err));
	store_op_clear(&op);
	free(addr);
	return err;
}

/* ---- account reads ---- */

#define ACCOUNT_COLUMNS \
	"SELECT id, address, quota_bytes, quota_messages, used_bytes, used_messages, pop3_delete," \
	" disabled FROM accounts "

static void account_from_row(struct store *s, struct db_stmt *st, struct store_account *a)
{
	memset(a, 0, sizeof(*a));
	a->id = db_column_int64(st, 0);
	a->address = xstrdup(db_column_text(st, 1));
	a->quota_is_default = db_column_type(st, 2) == DB_TYPE_NULL;
	a->quota_bytes = store_effective_quota(s, db_column_int64(st, 2), a->quota_is_default, true);
	a->quota_messages = store_effective_quota(s, db_column_int64(st, 3),
						  db_column_type(st, 3) == DB_TYPE_NULL, false);
	a->used_bytes = db_column_int64(st, 4);
	a->used_messages = db_column_int64(st, 5);
	if (db_column_type(st, 6) != DB_TYPE_NULL)
		a->pop3_delete = xstrdup(db_column_text(st, 6));
	a->disabled = db_column_int(st, 7) != 0;
}

void store_account_clear(struct store_account *a)
{
	xfree(&a->address);
	xfree(&a->pop3_delete);
}

void store_account_list_free(struct store_account *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_account_clear(&list[i]);
	free(list);
}

enum store_err store_account_get(struct store *s, const char *address, struct store_account *a_r)
{
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL)
		return STORE_EINVAL;
	struct db_stmt *st = store_prepare(store_reader(s), ACCOUNT_COLUMNS "WHERE address = ?1");
	if (st == NULL) {
		free(addr);
		return STORE_ETEMP;
	}
	db_bind_text(st, 1, addr, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW)
		account_from_row(s, st, a_r);
	db_reset(st);
	free(addr);
	return store_row_err(rc);
}

enum store_err store_account_get_by_id(struct store *s, int64_t id, struct store_account *a_r)
{
	struct db_stmt *st = store_prepare(store_reader(s), ACCOUNT_COLUMNS "WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		account_from_row(s, st, a_r);
	db_reset(st);
	return store_row_err(rc);
}

enum store_err store_account_list(struct store *s, struct store_account **list_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(store_reader(s), ACCOUNT_COLUMNS "ORDER BY address");
	if (st == NULL)
		return STORE_ETEMP;
	struct store_account *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		account_from_row(s, st, &list[n++]);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		store_account_list_free(list, n);
		return store_read_err(rc);
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

enum store_err store_account_auth(struct store *s, const char *address, int64_t *id_r, char **pwhash_r,
				  bool *disabled_r)
{
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL)
		return STORE_ENOTFOUND;
	struct db_stmt *st = store_prepare(store_reader(s),
					 "SELECT id, pwhash, disabled FROM accounts WHERE address = ?1");
	if (st == NULL) {
		free(addr);
		return STORE_ETEMP;
	}
	db_bind_text(st, 1, addr, -1, true);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*id_r = db_column_int64(st, 0);
		*pwhash_r = xstrdup(db_column_text(st, 1));
		if (disabled_r != NULL)
			*disabled_r = db_column_int(st, 2) != 0;
	}
	db_reset(st);
	free(addr);
	return store_row_err(rc);
}

/* ---- aliases ---- */

struct alias_args {
	const char *alias;	/* normalised */
	const char *target;	/* normalised; del: NULL = every target */
};

static enum store_err fn_alias_add(struct store_txn *txn, void *arg, char **error_r)
{
	const struct alias_args *a = arg;
	const char *domain = address_domain(a->alias);
	int64_t id;
	enum store_err err = domain_id(txn->db, domain, &id);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("domain %s is not hosted here", domain);
	if (err != STORE_OK)
		return err;
	err = account_id(txn->db, a->target, &id);
	if (err == STORE_ENOTFOUND)
		*error_r = xasprintf("alias target %s is not an account here", a->target);
	if (err != STORE_OK)
		return err;
	err = account_id(txn->db, a->alias, &id);
	if (err == STORE_OK) {
		*error_r = xasprintf("%s is an account; an alias cannot shadow it", a->alias);
		return STORE_EEXISTS;
	}
	if (err != STORE_ENOTFOUND)
		return err;
	struct db_stmt *st = store_prepare(txn->db, "INSERT OR IGNORE INTO aliases (alias, target) VALUES (?1, ?2)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->alias, -1, true);
	db_bind_text(st, 2, a->target, -1, true);
	return write_err(step_done(st));
}

enum store_err store_alias_add(struct store *s, const char *alias, const char *target, char **error_r)
{
	char *al = normalize_or_error(alias, error_r);
	if (al == NULL)
		return STORE_EINVAL;
	char *tg = normalize_or_error(target, error_r);
	if (tg == NULL) {
		free(al);
		return STORE_EINVAL;
	}
	struct alias_args a = {.alias = al, .target = tg};
	enum store_err err = run_func(s, fn_alias_add, &a, error_r);
	free(al);
	free(tg);
	return err;
}

static enum store_err fn_alias_del(struct store_txn *txn, void *arg, char **error_r)
{
	const struct alias_args *a = arg;
	struct db_stmt *st = store_prepare(txn->db,
		"DELETE FROM aliases WHERE alias = ?1 AND (CAST(?2 AS TEXT) IS NULL OR target = ?2)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, a->alias, -1, true);
	db_bind_text(st, 2, a->target, -1, true);
	int rc = step_done(st);
	if (rc != DB_DONE)
		return store_db_err(rc);
	if (db_changes(txn->db) == 0) {
		*error_r = xasprintf("no such alias %s%s%s", a->alias, a->target ? " -> " : "",
				     a->target ? a->target : "");
		return STORE_ENOTFOUND;
	}
	return STORE_OK;
}

enum store_err store_alias_del(struct store *s, const char *alias, const char *target, char **error_r)
{
	char *al = normalize_or_error(alias, error_r);
	if (al == NULL)
		return STORE_EINVAL;
	char *tg = NULL;
	if (target != NULL && (tg = normalize_or_error(target, error_r)) == NULL) {
		free(al);
		return STORE_EINVAL;
	}
	struct alias_args a = {.alias = al, .target = tg};
	enum store_err err = run_func(s, fn_alias_del, &a, error_r);
	free(al);
	free(tg);
	return err;
}

enum store_err store_alias_list(struct store *s, struct store_alias **list_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(store_reader(s), "SELECT alias, target FROM aliases ORDER BY alias, target");
	if (st == NULL)
		return STORE_ETEMP;
	struct store_alias *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		list[n].alias = xstrdup(db_column_text(st, 0));
		list[n].target = xstrdup(db_column_text(st, 1));
		n++;
	}
	db_reset(st);
	if (rc != DB_DONE) {
		store_alias_list_free(list, n);
		return store_read_err(rc);
	}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

void store_alias_list_free(struct store_alias *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].alias);
		free(list[i].target);
	}
	free(list);
}

/* ---- resolution ---- */

static void add_id(int64_t **ids, size_t *n, size_t *cap, int64_t id)
{
	for (size_t i = 0; i < *n; i++)
		if ((*ids)[i] == id)
			return;
	*ids = xgrow(*ids, cap, *n + 1, sizeof(**ids));
	(*ids)[(*n)++] = id;
}

/* Account or alias targets for one exact address. STORE_OK also when
 * nothing matched (*n unchanged); a read error is returned as such. */
static enum store_err lookup_exact(struct db *db, const char *addr, int64_t **ids, size_t *n,
				   size_t *cap)
{
	int64_t id;
	enum store_err err = account_id(db, addr, &id);
	if (err == STORE_OK) {
		add_id(ids, n, cap, id);
		return STORE_OK;
	}
	if (err != STORE_ENOTFOUND)
		return err;
	struct db_stmt *st = store_prepare(db,
		"SELECT accounts.id FROM aliases JOIN accounts ON accounts.address = aliases.target"
		" WHERE aliases.alias = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, addr, -1, true);
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		add_id(ids, n, cap, db_column_int64(st, 0));
	db_reset(st);
	return store_read_err(rc);
}

enum store_err store_resolve(struct store *s, const char *address, int64_t **account_ids_r, size_t *n_r)
{
	const char *why;
	char *addr = address_normalize(address, &why);
	*account_ids_r = NULL;
	*n_r = 0;
	if (addr == NULL)
		return STORE_EINVAL;
	struct db *db = store_reader(s);
	const char *domain = address_domain(addr);
	struct db_stmt *st = store_prepare(db, "SELECT catchall FROM domains WHERE name = ?1");
	if (st == NULL) {
		free(addr);
		return STORE_ETEMP;
	}
	db_bind_text(st, 1, domain, -1, true);
	int rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		free(addr);
		/* only a domain really absent is a relay attempt */
		return rc == DB_DONE ? STORE_EPERM : store_read_err(rc);
	}
	char *catchall = db_column_type(st, 0) == DB_TYPE_NULL ? NULL :
		xstrdup(db_column_text(st, 0));
	db_reset(st);

	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	enum store_err err = lookup_exact(db, addr, &ids, &n, &cap);
	char *plus = strchr(addr, '+');
	if (err == STORE_OK && n == 0 && plus != NULL && plus < domain - 1) {
		/* user+tag@domain -> user@domain */
		char *base = xasprintf("%.*s@%s", (int)(plus - addr), addr, domain);
		err = lookup_exact(db, base, &ids, &n, &cap);
		free(base);
	}
	if (err == STORE_OK && n == 0 && catchall != NULL)
		err = lookup_exact(db, catchall, &ids, &n, &cap);
	free(catchall);
	free(addr);
	if (err != STORE_OK) {
		free(ids);
		return err;
	}
	*account_ids_r = ids;
	*n_r = n;
	return n > 0 ? STORE_OK : STORE_ENOTFOUND;
}
