/*
 * test-store-isolation: the store's two promises about its answers.
 *   - Every read and op that names a mailbox also names the session's
 *     account; a mailbox of another account is STORE_ENOTFOUND and
 *     nothing of it is read or changed (store.h, "Accounts").
 *   - A read fails as STORE_ETEMP when the database does (busy, I/O),
 *     never as STORE_ENOTFOUND or STORE_EPERM (store.h, "Errors"): shown
 *     with the read fault hook (store_debug_fail_reads), for every read.
 */
#include "unit.h"
#include "store/store.h"
#include "store/store-fts.h"
#include "store/store-imap.h"
#include "store/store-msg-extra.h"
#include "store/store-pop3.h"
#include "store/store-recent.h"
#include "store/store-sort.h"
#include "store/delivery.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

static const struct store_settings iso_settings = {.default_quota_bytes = 1LL << 30,
						   .default_quota_messages = -1};
static const char iso_msg[] = "From: a@example.org\r\nSubject: mine\r\nMessage-ID: <m@x>\r\n\r\n"
			      "the body of the message\r\n";

struct fx {
	struct store *s;
	int64_t alice, bob;
	int64_t alice_inbox, alice_archive, bob_inbox;
	uint32_t bob_uid, alice_uid;
};

static int64_t fx_account(struct store *s, const char *addr)
{
	struct store_account a;
	CHECK_INT(store_account_get(s, addr, &a), STORE_OK);
	int64_t id = a.id;
	store_account_clear(&a);
	return id;
}

static int64_t fx_mailbox(struct store *s, int64_t acct, const char *name)
{
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get(s, acct, name, &mb), STORE_OK);
	int64_t id = mb.id;
	store_mailbox_clear(&mb);
	return id;
}

static uint32_t fx_deliver(struct store *s, int64_t acct, int64_t mbox)
{
	struct store_target t = {.account_id = acct, .mailbox_id = mbox};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = iso_msg;
	op.u.deliver.len = strlen(iso_msg);
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	CHECK_INT(store_run(s, &op), STORE_OK);
	store_op_clear(&op);
	return t.uid;
}

static void fx_setup(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	CHECK_INT(store_open(dir, &iso_settings, &f->s, &err), STORE_OK);
	CHECK_INT(store_domain_add(f->s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(f->s, "alice@example.com", "$y$x", &err), STORE_OK);
	CHECK_INT(store_account_add(f->s, "bob@example.com", "$y$x", &err), STORE_OK);
	CHECK_INT(store_domain_catchall(f->s, "example.com", "bob@example.com", &err), STORE_OK);
	f->alice = fx_account(f->s, "alice@example.com");
	f->bob = fx_account(f->s, "bob@example.com");
	f->alice_inbox = fx_mailbox(f->s, f->alice, "INBOX");
	f->alice_archive = fx_mailbox(f->s, f->alice, "Archive");
	f->bob_inbox = fx_mailbox(f->s, f->bob, "INBOX");
	f->bob_uid = fx_deliver(f->s, f->bob, f->bob_inbox);
	f->alice_uid = fx_deliver(f->s, f->alice, f->alice_inbox);
	CHECK(f->bob_uid > 0 && f->alice_uid > 0);
}

/* ---- every read that takes a mailbox, as (account, mailbox, uid) ---- */

static int count_row(void *ctx, const void *row)
{
	(*(size_t *)ctx)++;
	return 0;
}
static int search_row(void *ctx, const struct store_imap_search_row *r) { return count_row(ctx, r); }
static int sort_row(void *ctx, const struct store_sort_row *r) { return count_row(ctx, r); }
static void view_row(void *ctx, const struct store_imap_view_row *r) { count_row(ctx, r); }

typedef enum store_err read_fn(struct store *s, int64_t acct, int64_t mbox, uint32_t uid,
			       size_t *rows_r);

static enum store_err rd_get_by_id(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get_by_id(s, a, m, &mb);
	if (err == STORE_OK) {
		*n = mb.messages;
		store_mailbox_clear(&mb);
	}
	return err;
}

static enum store_err rd_messages(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	struct store_msg *msgs = NULL;
	enum store_err err = store_mailbox_messages(s, a, m, &msgs, n);
	if (err == STORE_OK)
		store_msg_list_free(msgs, *n);
	return err;
}

static enum store_err rd_changes(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	struct store_msg *msgs = NULL;
	uint32_t *vanished = NULL;
	size_t nv = 0;
	enum store_err err = store_mailbox_changes(s, a, m, 0, &msgs, n, &vanished, &nv);
	if (err == STORE_OK) {
		store_msg_list_free(msgs, *n);
		free(vanished);
	}
	return err;
}

static enum store_err rd_content(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	char *data = NULL;
	enum store_err err = store_message_content(s, a, m, uid, &data, n, NULL);
	free(data);
	return err;
}

static enum store_err rd_index(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	struct store_msg_index idx;
	enum store_err err = store_message_index(s, a, m, uid, &idx);
	if (err == STORE_OK) {
		*n = idx.subject != NULL;
		store_msg_index_clear(&idx);
	}
	return err;
}

static enum store_err rd_modseq(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	uint64_t hms;
	uint32_t next;
	enum store_err err = store_imap_mailbox_modseq(s, a, m, &hms, &next);
	*n = err == STORE_OK ? next : 0;
	return err;
}

static enum store_err rd_range(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	struct store_msg *msgs = NULL;
	enum store_err err = store_imap_messages_range(s, a, m, 1, UINT32_MAX, &msgs, n);
	if (err == STORE_OK)
		store_msg_list_free(msgs, *n);
	return err;
}

static enum store_err rd_view(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	return store_imap_view_rows(s, a, m, view_row, n);
}

static enum store_err rd_search(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	return store_imap_search_rows(s, a, m, 1, UINT32_MAX, search_row, n);
}

static enum store_err rd_header(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	char *data = NULL;
	enum store_err err = store_imap_message_header(s, a, m, uid, &data, n);
	free(data);
	return err;
}

static enum store_err rd_text(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	char *data = NULL, *parts = NULL;
	size_t plen;
	enum store_err err = store_imap_message_text(s, a, m, uid, &data, n, &plen, &parts);
	free(data);
	free(parts);
	return err;
}

static enum store_err rd_vanished(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	uint32_t *uids = NULL;
	enum store_err err = store_imap_vanished(s, a, m, 0, 1, UINT32_MAX, &uids, n);
	free(uids);
	return err;
}

static enum store_err rd_sort(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	return store_sort_rows(s, a, m, 1, UINT32_MAX, true, sort_row, n);
}

static enum store_err rd_sort_numeric(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	return store_sort_rows(s, a, m, 1, UINT32_MAX, false, sort_row, n);
}

static enum store_err rd_fts(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	uint32_t *uids = NULL;
	enum store_err err = store_fts_search(s, a, m, STORE_FTS_TEXT, NULL, "body", 4, &uids, n);
	free(uids);
	return err;
}

static enum store_err rd_fts_short(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	uint32_t *uids = NULL;
	enum store_err err = store_fts_search(s, a, m, STORE_FTS_BODY, NULL, "th", 2, &uids, n);
	free(uids);
	return err;
}

static enum store_err rd_unindexed(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	uint32_t *uids = NULL;
	enum store_err err = store_fts_unindexed(s, a, m, &uids, n);
	free(uids);
	return err;
}

static enum store_err rd_extra(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	struct store_msg_extra x;
	enum store_err err = store_msg_extra_get(s, a, m, uid, &x);
	if (err == STORE_OK) {
		*n = x.emailid > 0;
		store_msg_extra_clear(&x);
	}
	return err;
}

static enum store_err rd_recent(struct store *s, int64_t a, int64_t m, uint32_t uid, size_t *n)
{
	uint32_t mark, count;
	enum store_err err = store_recent_get(s, a, m, &mark, &count);
	*n = err == STORE_OK ? count : 0;
	return err;
}

static const struct {
	const char *name;
	read_fn *fn;
	bool rows;	/* gives the mailbox's one message on success */
} mailbox_reads[] = {
	{"store_mailbox_get_by_id", rd_get_by_id, true},
	{"store_mailbox_messages", rd_messages, true},
	{"store_mailbox_changes", rd_changes, true},
	{"store_message_content", rd_content, true},
	{"store_message_index", rd_index, true},
	{"store_imap_mailbox_modseq", rd_modseq, false},
	{"store_imap_messages_range", rd_range, true},
	{"store_imap_view_rows", rd_view, true},
	{"store_imap_search_rows", rd_search, true},
	{"store_imap_message_header", rd_header, true},
	{"store_imap_message_text", rd_text, true},
	{"store_imap_vanished", rd_vanished, false},
	{"store_sort_rows headers", rd_sort, true},
	{"store_sort_rows numeric", rd_sort_numeric, true},
	{"store_fts_search", rd_fts, false},	/* indexed later by the indexer */
	{"store_fts_search short", rd_fts_short, false},
	{"store_fts_unindexed", rd_unindexed, false},
	{"store_msg_extra_get", rd_extra, true},
	{"store_recent_get", rd_recent, true},
};
#define NREADS (sizeof(mailbox_reads) / sizeof(mailbox_reads[0]))

static void no_problem(void *ctx, const char *line)
{
	unit_fail(__FILE__, __LINE__, "check: %s", line);
}

/* Bob's message exactly as it was: one message, no flags, same MODSEQ. */
static void bob_untouched(struct fx *f, uint64_t modseq)
{
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get_by_id(f->s, f->bob, f->bob_inbox, &mb), STORE_OK);
	CHECK_INT(mb.messages, 1);
	CHECK_INT(mb.highestmodseq, modseq);
	store_mailbox_clear(&mb);
	struct store_msg *msgs = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_messages(f->s, f->bob, f->bob_inbox, &msgs, &n), STORE_OK);
	CHECK_INT(n, 1);
	CHECK_INT(msgs[0].uid, f->bob_uid);
	CHECK_INT(msgs[0].flags, 0);
	CHECK_INT(msgs[0].pop3_retrieved, 0);
	CHECK(!msgs[0].pop3_hidden);
	store_msg_list_free(msgs, n);
	size_t problems = 99;
	char *err = NULL;
	CHECK_INT(store_check(f->s, false, no_problem, NULL, &problems, &err), STORE_OK);
	CHECK_INT(problems, 0);
}

static uint64_t bob_modseq(struct fx *f)
{
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get_by_id(f->s, f->bob, f->bob_inbox, &mb), STORE_OK);
	uint64_t m = mb.highestmodseq;
	store_mailbox_clear(&mb);
	return m;
}

TEST(store_reads_refuse_another_accounts_mailbox)
{
	struct fx f;
	fx_setup(&f);
	uint64_t modseq = bob_modseq(&f);
	for (size_t i = 0; i < NREADS; i++) {
		size_t rows = 0;
		/* bob reads his own mailbox */
		enum store_err err = mailbox_reads[i].fn(f.s, f.bob, f.bob_inbox, f.bob_uid, &rows);
		if (err != STORE_OK)
			unit_fail(__FILE__, __LINE__, "%s: own mailbox: %s", mailbox_reads[i].name,
				  store_strerror(err));
		if (mailbox_reads[i].rows && rows == 0)
			unit_fail(__FILE__, __LINE__, "%s: own mailbox: no rows", mailbox_reads[i].name);
		/* alice's session names bob's mailbox (and bob's UID) */
		rows = 0;
		err = mailbox_reads[i].fn(f.s, f.alice, f.bob_inbox, f.bob_uid, &rows);
		if (err != STORE_ENOTFOUND || rows != 0)
			unit_fail(__FILE__, __LINE__, "%s: other account's mailbox: %s, %zu rows",
				  mailbox_reads[i].name, store_strerror(err), rows);
	}
	bob_untouched(&f, modseq);
	store_close(&f.s);
}

TEST(store_ops_refuse_another_accounts_mailbox)
{
	struct fx f;
	fx_setup(&f);
	uint64_t modseq = bob_modseq(&f);
	uint32_t uids[] = {f.bob_uid};
	struct store_op op;

	store_op_init(&op, STORE_OP_FLAGS);
	op.u.flags.account_id = f.alice;
	op.u.flags.mailbox_id = f.bob_inbox;
	op.u.flags.uids = uids;
	op.u.flags.nuids = 1;
	op.u.flags.mode = STORE_FLAGS_ADD;
	op.u.flags.flags = STORE_FLAG_DELETED;
	CHECK_INT(store_run(f.s, &op), STORE_ENOTFOUND);
	CHECK_INT(op.u.flags.nchanged, 0);
	store_op_clear(&op);

	store_op_init(&op, STORE_OP_EXPUNGE);
	op.u.expunge.account_id = f.alice;
	op.u.expunge.mailbox_id = f.bob_inbox;
	CHECK_INT(store_run(f.s, &op), STORE_ENOTFOUND);
	CHECK_INT(op.u.expunge.nexpunged, 0);
	store_op_clear(&op);

	/* COPY and MOVE out of bob's mailbox, and into it */
	store_op_init(&op, STORE_OP_COPY);
	op.u.copy.account_id = f.alice;
	op.u.copy.src_mailbox_id = f.bob_inbox;
	op.u.copy.dst_mailbox_id = f.alice_archive;
	op.u.copy.uids = uids;
	op.u.copy.nuids = 1;
	op.u.copy.move = true;
	CHECK_INT(store_run(f.s, &op), STORE_ENOTFOUND);
	CHECK_INT(op.u.copy.ncopied, 0);
	store_op_clear(&op);
	uint32_t alice_uids[] = {f.alice_uid};
	store_op_init(&op, STORE_OP_COPY);
	op.u.copy.account_id = f.alice;
	op.u.copy.src_mailbox_id = f.alice_inbox;
	op.u.copy.dst_mailbox_id = f.bob_inbox;
	op.u.copy.uids = alice_uids;
	op.u.copy.nuids = 1;
	CHECK_INT(store_run(f.s, &op), STORE_ENOTFOUND);
	store_op_clear(&op);

	/* a POP3 QUIT of alice's session naming bob's INBOX: no RETR mark,
	 * no \Seen, no deletion, neither expunged nor hidden */
	for (int hide = 0; hide < 2; hide++) {
		store_op_init(&op, STORE_OP_POP3_COMMIT);
		op.u.pop3.account_id = f.alice;
		op.u.pop3.mailbox_id = f.bob_inbox;
		op.u.pop3.delete_uids = uids;
		op.u.pop3.ndelete = 1;
		op.u.pop3.hide = hide != 0;
		op.u.pop3.retr_uids = uids;
		op.u.pop3.nretr = 1;
		op.u.pop3.mark_seen = true;
		CHECK_INT(store_run(f.s, &op), STORE_ENOTFOUND);
		store_op_clear(&op);
	}

	/* APPEND (a delivery to a mailbox id) into bob's mailbox */
	struct store_target t = {.account_id = f.alice, .mailbox_id = f.bob_inbox};
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = iso_msg;
	op.u.deliver.len = strlen(iso_msg);
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	CHECK_INT(store_run(f.s, &op), STORE_ENOTFOUND);
	CHECK_INT(t.err, STORE_ENOTFOUND);
	store_op_clear(&op);

	/* SELECT's \Recent claim, and the read of the mark */
	uint32_t old_mark = 0;
	CHECK_INT(store_recent_claim(f.s, f.alice, f.bob_inbox, 100, &old_mark), STORE_ENOTFOUND);
	CHECK_INT(store_recent_get(f.s, f.alice, f.bob_inbox, NULL, NULL), STORE_ENOTFOUND);
	uint32_t count = 0;
	CHECK_INT(store_recent_get(f.s, f.bob, f.bob_inbox, NULL, &count), STORE_OK);
	CHECK_INT(count, 1); /* still unclaimed for bob */

	bob_untouched(&f, modseq);
	/* and alice's own messages are where they were */
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get_by_id(f.s, f.alice, f.alice_inbox, &mb), STORE_OK);
	CHECK_INT(mb.messages, 1);
	store_mailbox_clear(&mb);
	CHECK_INT(store_mailbox_get_by_id(f.s, f.alice, f.alice_archive, &mb), STORE_OK);
	CHECK_INT(mb.messages, 0);
	store_mailbox_clear(&mb);
	store_close(&f.s);
}

/* ---- the fault hook: every read fails as ETEMP, never as "absent" ---- */

static void disarm(void)
{
	store_debug_fail_reads(0, 0, STORE_FAULT_IOERR);
}

static const enum store_fault kinds[] = {STORE_FAULT_IOERR, STORE_FAULT_BUSY};

TEST(store_mailbox_reads_fail_as_etemp_under_read_faults)
{
	struct fx f;
	fx_setup(&f);
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < NREADS; i++) {
			/* fail the first read step, then every one: no read may
			 * turn a failed step into "absent" or an empty answer */
			for (unsigned skip = 0; skip < 3; skip++) {
				size_t rows = 0;
				store_debug_fail_reads(skip, 1000, kinds[k]);
				unsigned failed = store_debug_reads_failed();
				enum store_err err = mailbox_reads[i].fn(f.s, f.alice, f.alice_inbox,
									 f.alice_uid, &rows);
				bool hit = store_debug_reads_failed() != failed;
				disarm();
				if (hit && err != STORE_ETEMP)
					unit_fail(__FILE__, __LINE__, "%s (skip %u, %s): %s, want ETEMP",
						  mailbox_reads[i].name, skip, k ? "busy" : "ioerr",
						  store_strerror(err));
				if (skip == 0 && !hit)
					unit_fail(__FILE__, __LINE__, "%s: the hook was never reached",
						  mailbox_reads[i].name);
			}
		}
	}
	store_close(&f.s);
}

static enum store_err resolve_ids(struct store *s, const char *addr)
{
	int64_t *ids = NULL;
	size_t n = 0;
	enum store_err err = store_resolve(s, addr, &ids, &n);
	free(ids);
	return err;
}

TEST(store_resolve_fails_as_etemp_never_notfound_or_relay)
{
	struct fx f;
	fx_setup(&f);
	char *err = NULL;
	CHECK_INT(store_alias_add(f.s, "team@example.com", "alice@example.com", &err), STORE_OK);
	/* each address walks a different path: account; alias; user+tag to
	 * the user; unknown user to the catch-all; a domain not hosted */
	static const char *const addrs[] = {"alice@example.com", "team@example.com",
					    "alice+tag@example.com", "nobody+x@example.com",
					    "someone@elsewhere.example"};
	static const enum store_err want[] = {STORE_OK, STORE_OK, STORE_OK, STORE_OK, STORE_EPERM};
	for (size_t a = 0; a < 5; a++) {
		CHECK_INT(resolve_ids(f.s, addrs[a]), want[a]);
		for (size_t k = 0; k < 2; k++) {
			/* whichever step of the lookup fails */
			for (unsigned skip = 0; skip < 8; skip++) {
				store_debug_fail_reads(skip, 1, kinds[k]);
				unsigned failed = store_debug_reads_failed();
				enum store_err e = resolve_ids(f.s, addrs[a]);
				bool hit = store_debug_reads_failed() != failed;
				disarm();
				if (hit && e != STORE_ETEMP)
					unit_fail(__FILE__, __LINE__, "resolve %s (skip %u): %s, want ETEMP",
						  addrs[a], skip, store_strerror(e));
				if (!hit && e != want[a])
					unit_fail(__FILE__, __LINE__, "resolve %s (skip %u): %s", addrs[a],
						  skip, store_strerror(e));
			}
		}
	}
	/* delivery's RCPT path says the same */
	struct delivery d;
	delivery_init(&d, "bob@example.org", NULL);
	store_debug_fail_reads(0, 1, STORE_FAULT_IOERR);
	CHECK_INT(delivery_add_rcpt(&d, f.s, "alice@example.com"), STORE_ETEMP);
	CHECK_INT(d.nrcpts, 0);
	bool full = true;
	store_debug_fail_reads(0, 1, STORE_FAULT_BUSY);
	CHECK_INT(delivery_account_full(f.s, f.alice, 0, &full), STORE_ETEMP);
	CHECK(!full);
	disarm();
	CHECK_INT(delivery_account_full(f.s, f.alice, 0, &full), STORE_OK);
	CHECK(!full);
	CHECK_INT(delivery_account_full(f.s, f.alice, 2LL << 30, &full), STORE_OK);
	CHECK(full);
	delivery_free(&d);
	store_close(&f.s);
}

TEST(store_admin_reads_fail_as_etemp)
{
	struct fx f;
	fx_setup(&f);
	char *err = NULL;
	CHECK_INT(store_alias_add(f.s, "team@example.com", "alice@example.com", &err), STORE_OK);
	for (size_t k = 0; k < 2; k++) {
		bool hosted = true;
		store_debug_fail_reads(0, 1, kinds[k]);
		CHECK_INT(store_domain_hosted(f.s, "example.com", &hosted), STORE_ETEMP);
		CHECK(!hosted);
		store_debug_fail_reads(0, 1, kinds[k]);
		CHECK_INT(store_domain_hosted(f.s, "nowhere.example", &hosted), STORE_ETEMP);

		struct store_account a;
		store_debug_fail_reads(0, 1, kinds[k]);
		CHECK_INT(store_account_get(f.s, "alice@example.com", &a), STORE_ETEMP);
		store_debug_fail_reads(0, 1, kinds[k]);
		CHECK_INT(store_account_get_by_id(f.s, f.alice, &a), STORE_ETEMP);
		int64_t id;
		char *hash = NULL;
		store_debug_fail_reads(0, 1, kinds[k]);
		CHECK_INT(store_account_auth(f.s, "alice@example.com", &id, &hash, NULL), STORE_ETEMP);
		CHECK(hash == NULL);

		struct store_mailbox mb;
		store_debug_fail_reads(0, 1, kinds[k]);
		CHECK_INT(store_mailbox_get(f.s, f.alice, "INBOX", &mb), STORE_ETEMP);

		/* lists: an error, not a short list; on the first row or later */
		for (unsigned skip = 0; skip < 2; skip++) {
			struct store_account *accts = NULL;
			struct store_alias *aliases = NULL;
			struct store_mailbox *mbs = NULL;
			struct store_pop3_expired *exp = NULL;
			char **domains = NULL;
			size_t n = 0;
			store_debug_fail_reads(skip, 1, kinds[k]);
			CHECK_INT(store_account_list(f.s, &accts, &n), STORE_ETEMP);
			store_debug_fail_reads(skip, 1, kinds[k]);
			CHECK_INT(store_alias_list(f.s, &aliases, &n), STORE_ETEMP);
			store_debug_fail_reads(skip, 1, kinds[k]);
			CHECK_INT(store_mailbox_list(f.s, f.alice, &mbs, &n), STORE_ETEMP);
			store_debug_fail_reads(skip, 1, kinds[k]);
			CHECK_INT(store_domain_list(f.s, &domains, &n), STORE_ETEMP);
			store_debug_fail_reads(skip, 1, kinds[k]);
			/* BEGIN (its snapshot) is the first read, the scan the second */
			CHECK_INT(store_pop3_expired(f.s, INT64_MAX, false, 10, &exp, &n),
				  STORE_ETEMP);
			CHECK(exp == NULL);
			int64_t bytes, msgs;
			store_debug_fail_reads(skip, 1, kinds[k]);
			CHECK_INT(store_quota_recount(f.s, f.alice, &bytes, &msgs),
				  skip ? STORE_OK : STORE_ETEMP);
		}
	}
	disarm();
	/* nothing above changed anything */
	bool hosted = false;
	CHECK_INT(store_domain_hosted(f.s, "example.com", &hosted), STORE_OK);
	CHECK(hosted);
	CHECK_INT(store_domain_hosted(f.s, "nowhere.example", &hosted), STORE_OK);
	CHECK(!hosted);
	size_t problems = 99;
	CHECK_INT(store_check(f.s, false, no_problem, NULL, &problems, &err), STORE_OK);
	CHECK_INT(problems, 0);
	store_close(&f.s);
}

TEST(store_read_faults_never_reach_the_writer)
{
	/* the hook fails read connections only: an op still commits */
	struct fx f;
	fx_setup(&f);
	store_debug_fail_reads(0, 1000, STORE_FAULT_IOERR);
	unsigned failed = store_debug_reads_failed();
	uint32_t uid = fx_deliver(f.s, f.alice, f.alice_inbox);
	CHECK(uid > f.alice_uid);
	CHECK_INT(store_debug_reads_failed(), failed);
	disarm();
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get_by_id(f.s, f.alice, f.alice_inbox, &mb), STORE_OK);
	CHECK_INT(mb.messages, 2);
	store_mailbox_clear(&mb);
	store_close(&f.s);
}
