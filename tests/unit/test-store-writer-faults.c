/*
 * test-store-writer-faults: the group-commit writer when SQLite fails
 * mid-batch. On SQLITE_FULL, IOERR, BUSY or NOMEM SQLite may roll back
 * the whole transaction by itself (sqlite.org/lang_transaction.html,
 * "Response To Errors Within A Transaction"). The ops of the batch that
 * ran before are then undone, and must not be reported done; the ops
 * after must not run outside the batch's transaction (each would commit
 * on its own and then be reported failed: stored, yet retried = twice).
 * An op's report must always match what is stored.
 */
#include "unit.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static const struct store_settings fault_settings = {.default_quota_bytes = 1LL << 30, .default_quota_messages = -1};

static atomic_int gate_entered, gate_open, ops_done;

/* Holds the writer so the next ops queue up into one batch. */
static enum store_err gate_fn(struct store_txn *txn, void *arg, char **error_r)
{
	atomic_store(&gate_entered, 1);
	for (int i = 0; i < 5000 && !atomic_load(&gate_open); i++)
		usleep(1000);
	return STORE_OK;
}

/* What SQLite does on SQLITE_FULL at the wrong moment: the whole
 * transaction is rolled back under the writer's feet. */
static enum store_err lose_txn_fn(struct store_txn *txn, void *arg, char **error_r)
{
	db_exec(store_txn_db(txn), "ROLLBACK", NULL);
	return STORE_ENOSPACE;
}

static void count_done(struct store_op *op, void *ctx)
{
	atomic_fetch_add(&ops_done, 1);
}

static void *loop_main(void *base)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void deliver_op(struct store_op *op, struct store_target *t, int64_t acct, const char *data)
{
	memset(t, 0, sizeof(*t));
	t->account_id = acct;
	store_op_init(op, STORE_OP_DELIVER);
	op->u.deliver.data = data;
	op->u.deliver.len = strlen(data);
	op->u.deliver.targets = t;
	op->u.deliver.ntargets = 1;
}

static void no_report(void *ctx, const char *line)
{
	unit_fail(__FILE__, __LINE__, "check: %s", line);
}

TEST(store_writer_txn_lost_mid_batch)
{
	evthread_use_pthreads();
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	struct store *s = NULL;
	CHECK_INT(store_open(dir, &fault_settings, &s, &err), STORE_OK);
	CHECK_INT(store_domain_add(s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "alice@example.com", "$y$x", &err), STORE_OK);
	struct store_account a;
	CHECK_INT(store_account_get(s, "alice@example.com", &a), STORE_OK);
	struct event_base *base = event_base_new();
	CHECK_INT(store_writer_start(s, base), 0);
	pthread_t loop;
	CHECK_INT(pthread_create(&loop, NULL, loop_main, base), 0);

	struct store_op gate, before, lose, after;
	struct store_target t_before, t_after;
	store_op_init(&gate, STORE_OP_FUNC);
	gate.u.func.fn = gate_fn;
	store_submit(s, &gate, count_done, NULL);
	for (int i = 0; i < 5000 && !atomic_load(&gate_entered); i++)
		usleep(1000);
	CHECK(atomic_load(&gate_entered));
	deliver_op(&before, &t_before, a.id, "Subject: before\r\n\r\nfirst\r\n");
	store_submit(s, &before, count_done, NULL);
	store_op_init(&lose, STORE_OP_FUNC);
	lose.u.func.fn = lose_txn_fn;
	store_submit(s, &lose, count_done, NULL);
	deliver_op(&after, &t_after, a.id, "Subject: after\r\n\r\nsecond\r\n");
	store_submit(s, &after, count_done, NULL);
	atomic_store(&gate_open, 1);
	for (int i = 0; i < 5000 && atomic_load(&ops_done) < 4; i++)
		usleep(1000);
	CHECK_INT(atomic_load(&ops_done), 4);
	CHECK_INT(lose.err, STORE_ENOSPACE);

	/* Reported done <=> stored, for each op of the batch. */
	int reported = (before.err == STORE_OK) + (after.err == STORE_OK);
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get(s, a.id, "INBOX", &mb), STORE_OK);
	CHECK_INT(mb.messages, reported);
	struct store_msg *msgs = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_messages(s, a.id, mb.id, &msgs, &n), STORE_OK);
	for (size_t i = 0; i < n; i++) {
		char *data = NULL;
		size_t len = 0;
		CHECK_INT(store_message_content(s, a.id, mb.id, msgs[i].uid, &data, &len, NULL), STORE_OK);
		bool is_before = data != NULL && strstr(data, "first") != NULL;
		CHECK_INT((is_before ? before.err : after.err), STORE_OK);
		free(data);
	}
	store_msg_list_free(msgs, n);
	store_mailbox_clear(&mb);
	size_t nproblems = 1;
	CHECK_INT(store_check(s, true, no_report, NULL, &nproblems, &err), STORE_OK);
	CHECK_INT(nproblems, 0);

	/* And the writer goes on: the next op commits. */
	struct store_op next;
	struct store_target t_next;
	deliver_op(&next, &t_next, a.id, "Subject: next\r\n\r\nthird\r\n");
	CHECK_INT(store_run(s, &next), STORE_OK);
	CHECK(t_next.uid > 0);

	store_op_clear(&gate);
	store_op_clear(&before);
	store_op_clear(&lose);
	store_op_clear(&after);
	store_op_clear(&next);
	store_account_clear(&a);
	event_base_loopbreak(base);
	pthread_join(loop, NULL);
	store_close(&s);
	event_base_free(base);
}

/* Within one op: the transaction is lost, then the op goes on writing
 * (ignoring the error) and reports success. Nothing it wrote afterwards
 * may commit on its own: the commit hook refuses every commit inside a
 * batch but the batch's own. */
static enum store_err lose_then_write_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct db *db = store_txn_db(txn);
	db_exec(db, "ROLLBACK", NULL);
	int rc = db_exec(db, "INSERT INTO domains (name) VALUES ('sneaky.example')", NULL);
	*(int *)arg = rc;
	return STORE_OK;
}

TEST(store_writer_no_autocommit_inside_an_op)
{
	const char *dir = unit_tmpdir();
	char *err = NULL;
	struct store *s = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	CHECK_INT(store_open(dir, &fault_settings, &s, &err), STORE_OK);
	int rc = -1;
	struct store_op op;
	store_op_init(&op, STORE_OP_FUNC);
	op.u.func.fn = lose_then_write_fn;
	op.u.func.arg = &rc;
	store_run(s, &op);
	store_op_clear(&op);
	CHECK(rc != DB_OK); /* the stray statement could not commit */
	bool hosted = true;
	CHECK_INT(store_domain_hosted(s, "sneaky.example", &hosted), STORE_OK);
	CHECK(!hosted);
	/* and the store still works afterwards */
	CHECK_INT(store_domain_add(s, "fine.example", &err), STORE_OK);
	CHECK_INT(store_domain_hosted(s, "fine.example", &hosted), STORE_OK);
	CHECK(hosted);
	store_close(&s);
}
