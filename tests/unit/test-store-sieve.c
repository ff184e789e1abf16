/* test-store-sieve: Sieve scripts per account (one active, quota on the
 * number of scripts, delete of the active one refused, rename) and the
 * delivery state rows (vacation, redirects, duplicates). */
#include "unit.h"
#include "store/store-sieve.h"
#include <stdlib.h>

static const struct store_settings settings = {.default_quota_bytes = -1,
					       .default_quota_messages = -1};

static struct store *new_store(int64_t *a_r, int64_t *b_r)
{
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	struct store *s = NULL;
	CHECK_INT(store_open(dir, &settings, &s, &err), STORE_OK);
	CHECK_INT(store_domain_add(s, "x.test", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "a@x.test", "*", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "b@x.test", "*", &err), STORE_OK);
	struct store_account a;
	CHECK_INT(store_account_get(s, "a@x.test", &a), STORE_OK);
	*a_r = a.id;
	store_account_clear(&a);
	CHECK_INT(store_account_get(s, "b@x.test", &a), STORE_OK);
	*b_r = a.id;
	store_account_clear(&a);
	return s;
}

static enum store_err put(struct store *s, int64_t id, const char *name, const char *text,
			  unsigned max, bool activate)
{
	struct store_sieve_put p = {.account_id = id, .name = name, .content = text,
				    .len = strlen(text), .max_scripts = max, .activate = activate};
	struct store_op op;
	store_sieve_put_init(&op, &p);
	enum store_err err = store_run(s, &op);
	store_op_clear(&op);
	return err;
}

static enum store_err name_op(struct store *s, int which, int64_t id, const char *name,
			      const char *new_name)
{
	struct store_sieve_name n = {.account_id = id, .name = name, .new_name = new_name};
	struct store_op op;
	if (which == 0)
		store_sieve_activate_init(&op, &n);
	else if (which == 1)
		store_sieve_delete_init(&op, &n);
	else
		store_sieve_rename_init(&op, &n);
	enum store_err err = store_run(s, &op);
	store_op_clear(&op);
	return err;
}

TEST(store_sieve_scripts)
{
	int64_t a, b;
	struct store *s = new_store(&a, &b);
	CHECK_INT(put(s, a, "one", "keep;", 2, false), STORE_OK);
	CHECK_INT(put(s, a, "two", "discard;", 2, true), STORE_OK);
	/* a third name passes MAXSCRIPTS; replacing an existing one does not */
	CHECK_INT(put(s, a, "three", "keep;", 2, false), STORE_ELIMIT);
	CHECK_INT(put(s, a, "one", "stop;", 2, false), STORE_OK);
	CHECK_INT(put(s, a, "bad/name", "keep;", 0, false), STORE_EINVAL);
	CHECK_INT(put(s, a, "", "keep;", 0, false), STORE_EINVAL);
	CHECK_INT(put(s, a, "ctl\x01", "keep;", 0, false), STORE_EINVAL);
	CHECK_INT(put(s, 999999, "x", "keep;", 0, false), STORE_ENOTFOUND);

	struct store_sieve_script *list;
	size_t n;
	CHECK_INT(store_sieve_list(s, a, &list, &n), STORE_OK);
	CHECK_INT(n, 2);
	CHECK_STR(list[0].name, "one");
	CHECK(!list[0].active);
	CHECK_INT(list[0].size, 5);
	CHECK(list[1].active);
	store_sieve_list_free(list, n);
	/* the other account sees none of them */
	CHECK_INT(store_sieve_list(s, b, &list, &n), STORE_OK);
	CHECK_INT(n, 0);
	store_sieve_list_free(list, n);
	char *text, *name;
	size_t len;
	CHECK_INT(store_sieve_get(s, b, "one", &text, &len, NULL), STORE_ENOTFOUND);
	CHECK_INT(store_sieve_get_active(s, b, &name, &text, &len), STORE_ENOTFOUND);
	CHECK_INT(name_op(s, 0, b, "one", NULL), STORE_ENOTFOUND);
	CHECK_INT(name_op(s, 1, b, "one", NULL), STORE_ENOTFOUND);

	bool active = true;
	CHECK_INT(store_sieve_get(s, a, "one", &text, &len, &active), STORE_OK);
	CHECK_STR(text, "stop;");
	CHECK(!active);
	free(text);
	CHECK_INT(store_sieve_get_active(s, a, &name, &text, &len), STORE_OK);
	CHECK_STR(name, "two");
	CHECK_STR(text, "discard;");
	free(name);
	free(text);

	/* one active at a time */
	CHECK_INT(name_op(s, 0, a, "one", NULL), STORE_OK);
	CHECK_INT(store_sieve_get_active(s, a, &name, &text, &len), STORE_OK);
	CHECK_STR(name, "one");
	free(name);
	free(text);
	CHECK_INT(name_op(s, 1, a, "one", NULL), STORE_EINUSE);
	CHECK_INT(name_op(s, 1, a, "two", NULL), STORE_OK);
	CHECK_INT(name_op(s, 1, a, "two", NULL), STORE_ENOTFOUND);
	CHECK_INT(name_op(s, 0, a, "nope", NULL), STORE_ENOTFOUND);
	/* the failed activation rolled back: "one" is still active */
	CHECK_INT(store_sieve_get_active(s, a, &name, &text, &len), STORE_OK);
	free(name);
	free(text);
	CHECK_INT(put(s, a, "other", "keep;", 0, false), STORE_OK);
	CHECK_INT(name_op(s, 2, a, "one", "other"), STORE_EEXISTS);
	CHECK_INT(name_op(s, 2, a, "one", "a/b"), STORE_EINVAL);
	CHECK_INT(name_op(s, 2, a, "one", "renamed"), STORE_OK);
	CHECK_INT(store_sieve_get_active(s, a, &name, &text, &len), STORE_OK);
	CHECK_STR(name, "renamed");
	free(name);
	free(text);
	CHECK_INT(name_op(s, 0, a, NULL, NULL), STORE_OK);
	CHECK_INT(store_sieve_get_active(s, a, &name, &text, &len), STORE_ENOTFOUND);
	/* the account's scripts go with it */
	char *err = NULL;
	CHECK_INT(store_account_del(s, "a@x.test", &err), STORE_OK);
	CHECK_INT(store_sieve_list(s, a, &list, &n), STORE_OK);
	CHECK_INT(n, 0);
	store_sieve_list_free(list, n);
	store_close(&s);
}

static enum store_err mark(struct store *s, int64_t id, enum store_sieve_state_kind kind,
			   const char *key, const char *key2, int64_t when, int64_t expire)
{
	struct store_sieve_mark m = {.account_id = id, .kind = kind, .key = key, .key2 = key2,
				     .when = when, .expire_before = expire};
	struct store_op op;
	store_sieve_mark_init(&op, &m);
	enum store_err err = store_run(s, &op);
	store_op_clear(&op);
	return err;
}

TEST(store_sieve_state)
{
	int64_t a, b;
	struct store *s = new_store(&a, &b);
	int64_t when = -1, n = -1;
	CHECK_INT(store_sieve_state_get(s, a, STORE_SIEVE_VACATION, "x@y", "h", &when), STORE_OK);
	CHECK_INT(when, 0);
	CHECK_INT(mark(s, a, STORE_SIEVE_VACATION, "x@y", "h", 1000, 0), STORE_OK);
	CHECK_INT(store_sieve_state_get(s, a, STORE_SIEVE_VACATION, "x@y", "h", &when), STORE_OK);
	CHECK_INT(when, 1000);
	CHECK_INT(store_sieve_state_get(s, a, STORE_SIEVE_VACATION, "x@y", "other", &when), STORE_OK);
	CHECK_INT(when, 0);
	CHECK_INT(store_sieve_state_get(s, b, STORE_SIEVE_VACATION, "x@y", "h", &when), STORE_OK);
	CHECK_INT(when, 0);
	CHECK_INT(mark(s, a, STORE_SIEVE_VACATION, "x@y", "h", 2000, 0), STORE_OK);
	CHECK_INT(store_sieve_state_get(s, a, STORE_SIEVE_VACATION, "x@y", "h", &when), STORE_OK);
	CHECK_INT(when, 2000);

	CHECK_INT(mark(s, a, STORE_SIEVE_REDIRECT, "<m1@x>", "r@far", 100, 0), STORE_OK);
	CHECK_INT(mark(s, a, STORE_SIEVE_REDIRECT, "<m2@x>", "r@far", 200, 0), STORE_OK);
	CHECK_INT(store_sieve_redirects_since(s, a, 150, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(store_sieve_redirects_since(s, b, 0, &n), STORE_OK);
	CHECK_INT(n, 0);
	/* expiry removes the old rows of that account only */
	CHECK_INT(mark(s, b, STORE_SIEVE_REDIRECT, "<m3@x>", "r@far", 50, 0), STORE_OK);
	CHECK_INT(mark(s, a, STORE_SIEVE_REDIRECT, "<m4@x>", "r@far", 300, 150), STORE_OK);
	CHECK_INT(store_sieve_redirects_since(s, a, 0, &n), STORE_OK);
	CHECK_INT(n, 2);
	CHECK_INT(store_sieve_redirects_since(s, b, 0, &n), STORE_OK);
	CHECK_INT(n, 1);

	CHECK_INT(mark(s, a, STORE_SIEVE_DUPLICATE, "id1", NULL, 5, 0), STORE_OK);
	CHECK_INT(store_sieve_state_get(s, a, STORE_SIEVE_DUPLICATE, "id1", NULL, &when), STORE_OK);
	CHECK_INT(when, 5);
	char big[STORE_SIEVE_MAX_KEY + 2];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(mark(s, a, STORE_SIEVE_DUPLICATE, big, NULL, 5, 0), STORE_EINVAL);
	store_close(&s);
}
