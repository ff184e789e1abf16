/*
 * test-store: the storage contract: UID/MODSEQ monotonicity, the
 * expunge log, quota exactness under 8 concurrent writers, content sharing
 * between copies, the change feed, and crash safety.
 */
#include "unit.h"
#include "store/store.h"
#include "store/delivery.h"
#include "lib/alloc.h"
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct store_settings default_settings = {.default_quota_bytes = 1LL << 30, .default_quota_messages = -1};

static struct store *new_store(const struct store_settings *settings)
{
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	struct store *s = NULL;
	CHECK_INT(store_open(dir, settings ? settings : &default_settings, &s, &err), STORE_OK);
	CHECK_INT(store_domain_add(s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "alice@example.com", "$y$x", &err), STORE_OK);
	CHECK_INT(store_account_add(s, "bob@example.com", "$y$x", &err), STORE_OK);
	return s;
}

static int64_t account(struct store *s, const char *addr)
{
	struct store_account a;
	CHECK_INT(store_account_get(s, addr, &a), STORE_OK);
	int64_t id = a.id;
	store_account_clear(&a);
	return id;
}

static int64_t mailbox(struct store *s, int64_t acct, const char *name)
{
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get(s, acct, name, &mb), STORE_OK);
	int64_t id = mb.id;
	store_mailbox_clear(&mb);
	return id;
}

static const char msg1[] = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";

static enum store_err deliver(struct store *s, int64_t acct, int64_t mbox, const char *data,
			      uint32_t *uid_r)
{
	struct store_target t = {.account_id = acct, .mailbox_id = mbox};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = data;
	op.u.deliver.len = strlen(data);
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	enum store_err err = store_run(s, &op);
	if (uid_r)
		*uid_r = t.uid;
	store_op_clear(&op);
	return err;
}

static void check_usage_is_recount(struct store *s, int64_t acct)
{
	struct store_account a;
	CHECK_INT(store_account_get_by_id(s, acct, &a), STORE_OK);
	int64_t bytes = -1, msgs = -1;
	CHECK_INT(store_quota_recount(s, acct, &bytes, &msgs), STORE_OK);
	CHECK_INT(a.used_bytes, bytes);
	CHECK_INT(a.used_messages, msgs);
	store_account_clear(&a);
}

TEST(store_new_account_has_default_mailboxes)
{
	struct store *s = new_store(NULL);
	struct store_mailbox *list;
	size_t n;
	CHECK_INT(store_mailbox_list(s, account(s, "alice@example.com"), &list, &n), STORE_OK);
	CHECK_INT(n, 6);
	const char *want[] = {"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"};
	for (size_t i = 0; i < n && i < 6; i++)
		CHECK_STR(list[i].name, want[i]);
	CHECK_STR(list[4].special_use, "\\Sent");
	CHECK(list[0].special_use == NULL);
	CHECK(list[0].uidvalidity != 0);
	store_mailbox_list_free(list, n);
	store_close(&s);
}

TEST(store_uid_modseq_monotonic)
{
	struct store *s = new_store(NULL);
	int64_t acct = account(s, "alice@example.com");
	int64_t inbox = mailbox(s, acct, "INBOX");
	uint32_t last_uid = 0;
	uint64_t last_modseq = 0;
	for (int i = 0; i < 20; i++) {
		uint32_t uid;
		CHECK_INT(deliver(s, acct, 0, msg1, &uid), STORE_OK);
		CHECK(uid > last_uid);
		last_uid = uid;
		struct store_mailbox mb;
		CHECK_INT(store_mailbox_get_by_id(s, acct, inbox, &mb), STORE_OK);
		CHECK(mb.highestmodseq > last_modseq);
		CHECK_INT(mb.uidnext, uid + 1);
		last_modseq = mb.highestmodseq;
		store_mailbox_clear(&mb);
	}
	/* Expunge the newest: its UID is never handed out again. */
	struct store_op x;
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.account_id = acct;
	x.u.expunge.mailbox_id = inbox;
	x.u.expunge.uids = &last_uid;
	x.u.expunge.nuids = 1;
	CHECK_INT(store_run(s, &x), STORE_OK);
	CHECK_INT(x.u.expunge.nexpunged, 1);
	store_op_clear(&x);
	uint32_t uid;
	CHECK_INT(deliver(s, acct, 0, msg1, &uid), STORE_OK);
	CHECK(uid > last_uid);
	store_close(&s);
}

TEST(store_flags_and_expunge_log)
{
	struct store *s = new_store(NULL);
	int64_t acct = account(s, "alice@example.com");
	int64_t inbox = mailbox(s, acct, "INBOX");
	uint32_t uids[3];
	for (int i = 0; i < 3; i++)
		CHECK_INT(deliver(s, acct, 0, msg1, &uids[i]), STORE_OK);
	struct store_mailbox mb;
	store_mailbox_get_by_id(s, acct, inbox, &mb);
	uint64_t before = mb.highestmodseq;
	store_mailbox_clear(&mb);

	/* \Deleted on the first two, a keyword on the third */
	struct store_op f;
	store_op_init(&f, STORE_OP_FLAGS);
	f.u.flags.account_id = acct;
	f.u.flags.mailbox_id = inbox;
	f.u.flags.uids = uids;
	f.u.flags.nuids = 2;
	f.u.flags.mode = STORE_FLAGS_ADD;
	f.u.flags.flags = STORE_FLAG_DELETED | STORE_FLAG_SEEN;
	CHECK_INT(store_run(s, &f), STORE_OK);
	CHECK_INT(f.u.flags.nchanged, 2);
	CHECK(f.u.flags.changed_modseq[0] > before);
	uint64_t flag_modseq = f.u.flags.changed_modseq[0];
	store_op_clear(&f);
	/* the same change again changes nothing and takes no MODSEQ */
	store_op_init(&f, STORE_OP_FLAGS);
	f.u.flags.account_id = acct;
	f.u.flags.mailbox_id = inbox;
	f.u.flags.uids = uids;
	f.u.flags.nuids = 2;
	f.u.flags.mode = STORE_FLAGS_ADD;
	f.u.flags.flags = STORE_FLAG_SEEN;
	CHECK_INT(store_run(s, &f), STORE_OK);
	CHECK_INT(f.u.flags.nchanged, 0);
	store_op_clear(&f);
	/* UNCHANGEDSINCE older than the message's MODSEQ: refused */
	store_op_init(&f, STORE_OP_FLAGS);
	f.u.flags.account_id = acct;
	f.u.flags.mailbox_id = inbox;
	f.u.flags.uids = uids;
	f.u.flags.nuids = 1;
	f.u.flags.mode = STORE_FLAGS_ADD;
	f.u.flags.keywords = "$Forwarded";
	f.u.flags.unchangedsince = before;
	CHECK_INT(store_run(s, &f), STORE_OK);
	CHECK_INT(f.u.flags.nmodified, 1);
	CHECK_INT(f.u.flags.nchanged, 0);
	store_op_clear(&f);
	store_op_init(&f, STORE_OP_FLAGS);
	f.u.flags.account_id = acct;
	f.u.flags.mailbox_id = inbox;
	f.u.flags.uids = &uids[2];
	f.u.flags.nuids = 1;
	f.u.flags.mode = STORE_FLAGS_ADD;
	f.u.flags.keywords = "$Forwarded $forwarded Work";
	CHECK_INT(store_run(s, &f), STORE_OK);
	store_op_clear(&f);

	struct store_op x;
	store_op_init(&x, STORE_OP_EXPUNGE);
	x.u.expunge.account_id = acct;
	x.u.expunge.mailbox_id = inbox;
	x.u.expunge.only_deleted = true;
	CHECK_INT(store_run(s, &x), STORE_OK);
	CHECK_INT(x.u.expunge.nexpunged, 2);
	uint64_t expunge_modseq = x.u.expunge.modseq;
	CHECK(expunge_modseq > flag_modseq);
	store_op_clear(&x);

	struct store_msg *changed;
	size_t nchanged, nvanished;
	uint32_t *vanished;
	CHECK_INT(store_mailbox_changes(s, acct, inbox, before, &changed, &nchanged, &vanished, &nvanished), STORE_OK);
	CHECK_INT(nvanished, 2);
	CHECK_INT(vanished[0], uids[0]);
	CHECK_INT(vanished[1], uids[1]);
	CHECK_INT(nchanged, 1);
	CHECK_INT(changed[0].uid, uids[2]);
	CHECK_STR(changed[0].keywords, "$Forwarded Work");
	store_msg_list_free(changed, nchanged);
	free(vanished);
	/* since the expunge: nothing */
	CHECK_INT(store_mailbox_changes(s, acct, inbox, expunge_modseq, &changed, &nchanged, &vanished, &nvanished), STORE_OK);
	CHECK_INT(nchanged + nvanished, 0);
	store_msg_list_free(changed, nchanged);
	free(vanished);
	check_usage_is_recount(s, acct);
	store_close(&s);
}

TEST(store_content_shared_between_copies)
{
	struct store *s = new_store(NULL);
	int64_t alice = account(s, "alice@example.com"), bob = account(s, "bob@example.com");
	struct delivery d;
	delivery_init(&d, "sender@example.org", NULL);
	CHECK_INT(delivery_add_rcpt(&d, s, "alice@example.com"), STORE_OK);
	CHECK_INT(delivery_add_rcpt(&d, s, "bob@example.com"), STORE_OK);
	CHECK_INT(delivery_add_rcpt(&d, s, "Alice+news@Example.COM"), STORE_OK); /* same account */
	CHECK_INT(d.nrcpts, 2);
	delivery_prepare(&d, msg1, strlen(msg1));
	CHECK_INT(store_run(s, &d.op), STORE_OK);
	delivery_finish(&d);
	CHECK_INT(d.rcpts[0].err, STORE_OK);
	CHECK_INT(d.rcpts[1].err, STORE_OK);
	uint32_t uid = d.rcpts[0].uid;
	delivery_free(&d);
	/* COPY to Archive */
	struct store_op c;
	store_op_init(&c, STORE_OP_COPY);
	c.u.copy.account_id = alice;
	c.u.copy.src_mailbox_id = mailbox(s, alice, "INBOX");
	c.u.copy.dst_mailbox_id = mailbox(s, alice, "Archive");
	c.u.copy.uids = &uid;
	c.u.copy.nuids = 1;
	CHECK_INT(store_run(s, &c), STORE_OK);
	CHECK_INT(c.u.copy.ncopied, 1);
	store_op_clear(&c);

	sqlite3 *db;
	char *path = xasprintf("%s/roost.db", unit_tmpdir_current());
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT count(*), sum(refs) FROM contents", -1, &st, NULL);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 1); /* one content row */
	CHECK_INT(sqlite3_column_int(st, 1), 3); /* three messages use it */
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);

	/* Each copy still has its own trace headers */
	char *data;
	size_t len, plen;
	CHECK_INT(store_message_content(s, bob, mailbox(s, bob, "INBOX"), 1, &data, &len, &plen), STORE_OK);
	CHECK(strstr(data, "Delivered-To: bob@example.com\r\n") != NULL);
	CHECK(strcmp(data + plen, msg1) == 0);
	free(data);
	check_usage_is_recount(s, alice);
	check_usage_is_recount(s, bob);
	store_close(&s);
}

TEST(store_resolve_alias_plus_catchall)
{
	struct store *s = new_store(NULL);
	char *err = NULL;
	int64_t *ids;
	size_t n;
	CHECK_INT(store_resolve(s, "nobody@example.com", &ids, &n), STORE_ENOTFOUND);
	CHECK_INT(store_resolve(s, "alice@other.org", &ids, &n), STORE_EPERM);
	CHECK_INT(store_alias_add(s, "team@example.com", "alice@example.com", &err), STORE_OK);
	CHECK_INT(store_alias_add(s, "team@example.com", "bob@example.com", &err), STORE_OK);
	CHECK_INT(store_resolve(s, "TEAM@example.com", &ids, &n), STORE_OK);
	CHECK_INT(n, 2);
	free(ids);
	CHECK_INT(store_resolve(s, "bob+tag@example.com", &ids, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(ids[0], account(s, "bob@example.com"));
	free(ids);
	CHECK_INT(store_domain_catchall(s, "example.com", "bob@example.com", &err), STORE_OK);
	CHECK_INT(store_resolve(s, "nobody@example.com", &ids, &n), STORE_OK);
	CHECK_INT(ids[0], account(s, "bob@example.com"));
	free(ids);
	CHECK_INT(store_alias_add(s, "x@other.org", "bob@example.com", &err), STORE_ENOTFOUND);
	free(err);
	store_close(&s);
}

TEST(store_quota_refuses_and_keeps_usage)
{
	struct store_settings small = {.default_quota_bytes = 200, .default_quota_messages = -1};
	struct store *s = new_store(&small);
	int64_t acct = account(s, "alice@example.com");
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_OK);
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_OK);
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_OK);
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_OK);
	/* 4 * 46 = 184 bytes used; a fifth would exceed 200 */
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_ENOQUOTA);
	struct store_account a;
	store_account_get_by_id(s, acct, &a);
	CHECK_INT(a.used_messages, 4);
	CHECK_INT(a.used_bytes, 4 * (int64_t)strlen(msg1));
	store_account_clear(&a);
	char *err = NULL;
	CHECK_INT(store_account_quota(s, "alice@example.com", -3, 4, &err), STORE_OK);
	CHECK_INT(store_account_quota(s, "alice@example.com", -1, -3, &err), STORE_OK);
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_ENOQUOTA); /* message count now */
	CHECK_INT(store_account_quota(s, "alice@example.com", -1, -1, &err), STORE_OK);
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_OK);
	check_usage_is_recount(s, acct);
	store_close(&s);
}

/* --- concurrency: 8 writers through the group-commit writer --- */

struct writer_arg {
	struct store *s;
	int64_t acct;
	int ok, full;
};

static void *writer_thread(void *p)
{
	struct writer_arg *w = p;
	for (int i = 0; i < 40; i++) {
		char msg[200];
		snprintf(msg, sizeof(msg), "Subject: %p %d\r\n\r\n%0100d\r\n", (void *)w, i, i);
		enum store_err err = deliver(w->s, w->acct, 0, msg, NULL);
		if (err == STORE_OK)
			w->ok++;
		else if (err == STORE_ENOQUOTA)
			w->full++;
	}
	return NULL;
}

static void *loop_thread(void *base)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

TEST(store_quota_exact_under_8_concurrent_writers)
{
	evthread_use_pthreads();
	struct store_settings settings = {.default_quota_bytes = 20000, .default_quota_messages = -1};
	struct store *s = new_store(&settings);
	int64_t acct = account(s, "alice@example.com");
	struct event_base *base = event_base_new();
	CHECK_INT(store_writer_start(s, base), 0);
	pthread_t loop;
	CHECK_INT(pthread_create(&loop, NULL, loop_thread, base), 0);
	struct writer_arg args[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (struct writer_arg){s, acct, 0, 0};
		CHECK_INT(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
	}
	int ok = 0, full = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].ok;
		full += args[i].full;
	}
	CHECK_INT(ok + full, 320);
	CHECK(full > 0); /* 320 * ~120 bytes does not fit in 20000 */
	struct store_account a;
	store_account_get_by_id(s, acct, &a);
	CHECK(a.used_bytes <= 20000);
	CHECK_INT(a.used_messages, ok);
	store_account_clear(&a);
	check_usage_is_recount(s, acct);
	struct store_stats stats;
	store_get_stats(s, &stats);
	CHECK(stats.commits < stats.ops); /* group commit actually grouped */
	event_base_loopbreak(base);
	pthread_join(loop, NULL);
	store_close(&s);
	event_base_free(base);
}

/* --- change feed --- */

struct feed_seen {
	int calls;
	int64_t mailbox;
	uint64_t modseq;
	struct event_base *base;
};

static void on_change(void *ctx, int64_t mailbox_id, uint64_t modseq)
{
	struct feed_seen *f = ctx;
	f->calls++;
	f->mailbox = mailbox_id;
	f->modseq = modseq;
	event_base_loopbreak(f->base);
}

static void on_done(struct store_op *op, void *ctx)
{
	(void)op;
	(*(int *)ctx)++;
}

TEST(store_change_feed_delivery)
{
	evthread_use_pthreads();
	struct store *s = new_store(NULL);
	int64_t alice = account(s, "alice@example.com"), bob = account(s, "bob@example.com");
	int64_t inbox = mailbox(s, alice, "INBOX");
	struct event_base *base = event_base_new();
	store_writer_start(s, base);
	struct feed_seen mine = {.base = base}, all = {.base = base}, other = {.base = base};
	struct store_watch *w1 = store_watch_add(s, alice, inbox, on_change, &mine);
	struct store_watch *w2 = store_watch_add(s, alice, 0, on_change, &all);
	struct store_watch *w3 = store_watch_add(s, bob, 0, on_change, &other);
	/* bob's session naming alice's mailbox id: never told (store.h) */
	struct feed_seen spy = {.base = base};
	struct store_watch *w4 = store_watch_add(s, bob, inbox, on_change, &spy);

	struct store_target t = {.account_id = alice};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = msg1;
	op.u.deliver.len = strlen(msg1);
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	int done = 0;
	store_submit(s, &op, on_done, &done);
	struct timeval tv = {5, 0};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	CHECK_INT(done, 1);
	CHECK_INT(op.err, STORE_OK);
	CHECK_INT(mine.calls, 1);
	CHECK_INT(all.calls, 1);
	CHECK_INT(other.calls, 0);
	CHECK_INT(spy.calls, 0);
	CHECK_INT(mine.mailbox, inbox);
	CHECK_INT(mine.modseq, t.modseq);
	store_op_clear(&op);
	store_watch_remove(&w1);
	store_watch_remove(&w2);
	store_watch_remove(&w3);
	store_watch_remove(&w4);
	CHECK(w1 == NULL);
	store_close(&s);
	event_base_free(base);
}

/* --- crash safety: SIGKILL mid-delivery --- */

TEST(store_crash_leaves_no_half_message)
{
	struct store *s = new_store(NULL);
	int64_t acct = account(s, "alice@example.com");
	store_close(&s);
	const char *dir = unit_tmpdir_current();
	for (int round = 0; round < 3; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct store *cs;
			char *err;
			if (store_open(dir, &default_settings, &cs, &err) != STORE_OK)
				_exit(1);
			char big[20000];
			memset(big, 'x', sizeof(big));
			memcpy(big, "Subject: big\r\n\r\n", 16);
			big[sizeof(big) - 1] = '\0';
			for (;;)
				deliver(cs, acct, 0, big, NULL);
		}
		usleep(150000 + round * 50000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	char *err = NULL;
	CHECK_INT(store_open(dir, &default_settings, &s, &err), STORE_OK);
	check_usage_is_recount(s, acct);
	struct store_msg *msgs;
	size_t n;
	CHECK_INT(store_mailbox_messages(s, acct, mailbox(s, acct, "INBOX"), &msgs, &n), STORE_OK);
	CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		char *data;
		size_t len;
		CHECK_INT(store_message_content(s, acct, mailbox(s, acct, "INBOX"), msgs[i].uid, &data, &len, NULL), STORE_OK);
		CHECK_INT(len, msgs[i].size);
		CHECK_INT(len, 19999);
		free(data);
	}
	store_msg_list_free(msgs, n);
	store_close(&s);
}

TEST(store_mailbox_ops)
{
	struct store *s = new_store(NULL);
	int64_t acct = account(s, "alice@example.com");
	struct store_op op;
	const char *bad[] = {"", "a//b", "../x", "a/..", ".", "x\r\ny", "a/", "/etc", NULL};
	for (int i = 0; bad[i]; i++) {
		store_op_init(&op, STORE_OP_MAILBOX_CREATE);
		op.u.mailbox.account_id = acct;
		op.u.mailbox.name = bad[i];
		CHECK_INT(store_run(s, &op), STORE_EINVAL);
		store_op_clear(&op);
	}
	store_op_init(&op, STORE_OP_MAILBOX_CREATE);
	op.u.mailbox.account_id = acct;
	op.u.mailbox.name = "Projects/Roost/Ideas";
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get(s, acct, "Projects/Roost", &mb), STORE_OK);
	uint32_t uidvalidity = mb.uidvalidity;
	store_mailbox_clear(&mb);
	store_op_init(&op, STORE_OP_MAILBOX_RENAME);
	op.u.mailbox.account_id = acct;
	op.u.mailbox.name = "Projects";
	op.u.mailbox.new_name = "Work/Projekte ü";
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
	CHECK_INT(store_mailbox_get(s, acct, "Work/Projekte ü/Roost/Ideas", &mb), STORE_OK);
	store_mailbox_clear(&mb);
	CHECK_INT(store_mailbox_get(s, acct, "Work/Projekte ü/Roost", &mb), STORE_OK);
	CHECK_INT(mb.uidvalidity, uidvalidity);
	store_mailbox_clear(&mb);
	CHECK_INT(store_mailbox_get(s, acct, "Projects", &mb), STORE_ENOTFOUND);
	/* INBOX cannot be deleted; renaming it moves its messages */
	CHECK_INT(deliver(s, acct, 0, msg1, NULL), STORE_OK);
	store_op_init(&op, STORE_OP_MAILBOX_DELETE);
	op.u.mailbox.account_id = acct;
	op.u.mailbox.name = "inbox";
	CHECK_INT(store_run(s, &op), STORE_EPERM);
	store_op_clear(&op);
	store_op_init(&op, STORE_OP_MAILBOX_RENAME);
	op.u.mailbox.account_id = acct;
	op.u.mailbox.name = "INBOX";
	op.u.mailbox.new_name = "Old";
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
	CHECK_INT(store_mailbox_get(s, acct, "Old", &mb), STORE_OK);
	CHECK_INT(mb.messages, 1);
	store_mailbox_clear(&mb);
	CHECK_INT(store_mailbox_get(s, acct, "INBOX", &mb), STORE_OK);
	CHECK_INT(mb.messages, 0);
	store_mailbox_clear(&mb);
	/* delete a mailbox with messages: usage follows; recreated gets a new UIDVALIDITY */
	CHECK_INT(store_mailbox_get(s, acct, "Old", &mb), STORE_OK);
	uidvalidity = mb.uidvalidity;
	store_mailbox_clear(&mb);
	store_op_init(&op, STORE_OP_MAILBOX_DELETE);
	op.u.mailbox.account_id = acct;
	op.u.mailbox.name = "Old";
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
	store_op_init(&op, STORE_OP_MAILBOX_CREATE);
	op.u.mailbox.account_id = acct;
	op.u.mailbox.name = "Old";
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
	CHECK_INT(store_mailbox_get(s, acct, "Old", &mb), STORE_OK);
	CHECK(mb.uidvalidity != uidvalidity);
	store_mailbox_clear(&mb);
	check_usage_is_recount(s, acct);
	store_close(&s);
}
