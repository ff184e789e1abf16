/* test-store-queue: the outbound queue's rows: add, due, results with a
 * DSN in the same op, removal when nothing is pending, admin actions. */
#include "unit.h"
#include "store/store-queue.h"
#include <stdlib.h>
#include <time.h>

static const struct store_settings settings = {.default_quota_bytes = -1,
					       .default_quota_messages = -1};

static struct store *new_store(void)
{
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	struct store *s = NULL;
	CHECK_INT(store_open(dir, &settings, &s, &err), STORE_OK);
	return s;
}

static void done_cb(void *ctx, enum store_err err, int64_t id)
{
	int64_t *out = ctx;
	out[0] = err;
	out[1] = id;
}

static size_t problems(struct store *s)
{
	size_t n = 99;
	CHECK_INT(store_check(s, true, NULL, NULL, &n, NULL), STORE_OK);
	return n;
}


TEST(store_queue_add_due_update)
{
	struct store *s = new_store();
	static const char msg[] = "Message-ID: <q@x>\r\nSubject: s\r\n\r\nbody\r\n";
	struct store_queue_rcpt r[2] = {{"a@Remote.test", "rfc822;A@remote.test", STORE_QUEUE_NOTIFY_FAILURE},
					{"b@other.test", NULL, 0}};
	int64_t id = 0;
	CHECK_INT(store_queue_add_wait(s, 0, "me@x", "ENV1", STORE_QUEUE_RET_FULL | STORE_QUEUE_REQUIRETLS,
				       r, 2, msg, sizeof(msg) - 1, &id),
		  STORE_OK);
	CHECK(id > 0);
	struct store_queue_msg *list;
	size_t n;
	CHECK_INT(store_queue_due(s, time(NULL) + 1, 0, 10, &list, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(list[0].nrcpts, 2);
	CHECK_STR(list[0].message_id, "<q@x>");
	CHECK_STR(list[0].envid, "ENV1");
	CHECK(list[0].ret_full);
	CHECK(list[0].requiretls);
	CHECK_STR(list[0].rcpts[0].domain, "remote.test");
	CHECK_STR(list[0].rcpts[0].orcpt, "rfc822;A@remote.test");
	int64_t r0 = list[0].rcpts[0].rcpt_id, r1 = list[0].rcpts[1].rcpt_id;
	store_queue_msg_list_free(list, n);

	/* one recipient delivered, one deferred: still queued, not due */
	int64_t later = time(NULL) + 3600;
	struct store_queue_result res[2] = {{r0, STORE_QUEUE_SENT, 0, "250 ok"},
					    {r1, STORE_QUEUE_PENDING, later, "451 later"}};
	struct store_queue_update u = {.queue_id = id, .results = res, .n_results = 2};
	int64_t out[2] = {-1, -1};
	store_queue_update(s, &u, done_cb, out);
	CHECK_INT(out[0], STORE_OK);
	CHECK_INT(out[1], 0);
	CHECK_INT(store_queue_due(s, time(NULL) + 1, 0, 10, &list, &n), STORE_OK);
	CHECK_INT(n, 0);
	free(list);
	int64_t when = 0;
	CHECK_INT(store_queue_next_due(s, &when), STORE_OK);
	CHECK_INT(when, later);
	CHECK_INT(problems(s), 0);

	/* the last one fails, with a DSN in the same op: the message goes,
	 * the DSN is queued */
	struct store_queue_rcpt to = {"me@x", NULL, 0};
	struct store_queue_new dsn = {.return_path = "", .rcpts = &to, .n_rcpts = 1,
				      .data = "dsn\r\n", .len = 5};
	struct store_queue_result fail = {r1, STORE_QUEUE_FAILED, 0, "550 no"};
	struct store_queue_update u2 = {.queue_id = id, .results = &fail, .n_results = 1, .dsn = &dsn};
	store_queue_update(s, &u2, done_cb, out);
	CHECK_INT(out[0], STORE_OK);
	CHECK(out[1] > id);
	struct store_queue_msg m;
	CHECK_INT(store_queue_get(s, id, &m), STORE_ENOTFOUND);
	CHECK_INT(store_queue_get(s, out[1], &m), STORE_OK);
	CHECK_STR(m.return_path, "");
	store_queue_msg_clear(&m);
	int64_t nm = 0, np = 0;
	CHECK_INT(store_queue_count(s, &nm, &np), STORE_OK);
	CHECK_INT(nm, 1);
	CHECK_INT(np, 1);
	CHECK_INT(problems(s), 0);
	store_close(&s);
}

TEST(store_queue_admin_and_check)
{
	struct store *s = new_store();
	struct store_queue_rcpt r = {"a@remote.test", NULL, 0};
	int64_t id = 0;
	CHECK_INT(store_queue_add_wait(s, 0, "me@x", NULL, 0, &r, 1, "x\r\n", 3, &id), STORE_OK);
	size_t changed = 0;
	CHECK_INT(store_queue_admin(s, id, STORE_QUEUE_HOLD, &changed), STORE_OK);
	CHECK_INT(changed, 1);
	struct store_queue_msg *list;
	size_t n;
	CHECK_INT(store_queue_due(s, time(NULL) + 1, 0, 10, &list, &n), STORE_OK);
	CHECK_INT(n, 0); /* held: never due */
	free(list);
	int64_t when;
	CHECK_INT(store_queue_next_due(s, &when), STORE_ENOTFOUND);
	CHECK_INT(store_queue_admin(s, id, STORE_QUEUE_RELEASE, &changed), STORE_OK);
	CHECK_INT(store_queue_due(s, time(NULL) + 1, 0, 10, &list, &n), STORE_OK);
	CHECK_INT(n, 1);
	store_queue_msg_list_free(list, n);
	CHECK_INT(store_queue_admin(s, id + 100, STORE_QUEUE_HOLD, &changed), STORE_ENOTFOUND);
	/* no recipients at all is refused */
	CHECK_INT(store_queue_add_wait(s, 0, "me@x", NULL, 0, &r, 0, "x", 1, NULL), STORE_EINVAL);
	CHECK_INT(store_queue_admin(s, 0, STORE_QUEUE_DELETE, &changed), STORE_OK);
	CHECK_INT(changed, 1);
	CHECK_INT(store_queue_get(s, id, &(struct store_queue_msg){0}), STORE_ENOTFOUND);
	CHECK_INT(problems(s), 0);
	store_close(&s);
}
