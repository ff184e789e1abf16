/*
 * test-store-import: keeping a source's identifiers (store-op-import.c):
 * an empty mailbox takes a UIDVALIDITY, a non-empty one refuses; a given
 * UID is taken only at or above UIDNEXT; UIDNEXT only grows; the account
 * is checked; quota applies; a mailbox made later gets a larger
 * UIDVALIDITY than any imported one.
 */
#include "unit.h"
#include "store/store.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

static const char imp_msg[] = "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n";

struct imp_fx {
	struct store *s;
	int64_t alice, bob, inbox, bob_inbox;
};

static int64_t imp_mailbox(struct store *s, int64_t acct, const char *name, uint32_t *uv_r,
			   uint32_t *next_r)
{
	struct store_mailbox mb;
	CHECK_INT(store_mailbox_get(s, acct, name, &mb), STORE_OK);
	int64_t id = mb.id;
	if (uv_r)
		*uv_r = mb.uidvalidity;
	if (next_r)
		*next_r = mb.uidnext;
	store_mailbox_clear(&mb);
	return id;
}

static void imp_setup(struct imp_fx *f, int64_t quota_messages)
{
	memset(f, 0, sizeof(*f));
	const struct store_settings st = {.default_quota_bytes = -1,
					  .default_quota_messages = quota_messages};
	const char *dir = unit_tmpdir();
	char *err = NULL;
	CHECK_INT(store_create(dir, NULL, &err), STORE_OK);
	CHECK_INT(store_open(dir, &st, &f->s, &err), STORE_OK);
	CHECK_INT(store_domain_add(f->s, "example.com", &err), STORE_OK);
	CHECK_INT(store_account_add(f->s, "alice@example.com", "$y$x", &err), STORE_OK);
	CHECK_INT(store_account_add(f->s, "bob@example.com", "$y$x", &err), STORE_OK);
	struct store_account a;
	CHECK_INT(store_account_get(f->s, "alice@example.com", &a), STORE_OK);
	f->alice = a.id;
	store_account_clear(&a);
	CHECK_INT(store_account_get(f->s, "bob@example.com", &a), STORE_OK);
	f->bob = a.id;
	store_account_clear(&a);
	f->inbox = imp_mailbox(f->s, f->alice, "INBOX", NULL, NULL);
	f->bob_inbox = imp_mailbox(f->s, f->bob, "INBOX", NULL, NULL);
}

/* Deliver with a given UID: the store error and the UID it got. */
static enum store_err imp_deliver(struct imp_fx *f, int64_t acct, int64_t mbox, uint32_t uid,
				  uint32_t *uid_r)
{
	struct store_target t = {.account_id = acct, .mailbox_id = mbox, .import_uid = uid,
				 .flags = STORE_FLAG_SEEN, .keywords = "$Work"};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = imp_msg;
	op.u.deliver.len = strlen(imp_msg);
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	op.u.deliver.pop3_uidl = "uidl-x";
	enum store_err err = store_run(f->s, &op);
	if (err == STORE_OK)
		err = t.err;
	*uid_r = t.uid;
	store_op_clear(&op);
	return err;
}

TEST(store_import_ids_and_uids)
{
	struct imp_fx f;
	imp_setup(&f, -1);
	char *err = NULL;
	CHECK_INT(store_mailbox_import_ids(f.s, f.alice, f.inbox, 0, NULL), STORE_EINVAL);
	/* another account's mailbox: not found, nothing changed */
	CHECK_INT(store_mailbox_import_ids(f.s, f.alice, f.bob_inbox, 4000000000u, NULL),
		  STORE_ENOTFOUND);
	CHECK_INT(store_mailbox_import_ids(f.s, f.alice, f.inbox, 4000000000u, &err), STORE_OK);
	uint32_t uv, next, uid;
	imp_mailbox(f.s, f.alice, "INBOX", &uv, &next);
	CHECK_INT(uv, 4000000000u);
	CHECK_INT(next, 1);
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 5, &uid), STORE_OK);
	CHECK_INT(uid, 5);
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 9, &uid), STORE_OK);
	CHECK_INT(uid, 9);
	/* below UIDNEXT (taken, or once used): refused, nothing stored */
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 9, &uid), STORE_EEXISTS);
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 7, &uid), STORE_EEXISTS);
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 0xffffffffu, &uid), STORE_EINVAL);
	/* a plain delivery continues after the highest */
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 0, &uid), STORE_OK);
	CHECK_INT(uid, 10);
	struct store_msg *msgs = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_messages(f.s, f.alice, f.inbox, &msgs, &n), STORE_OK);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_INT(msgs[0].uid, 5);
		CHECK_INT(msgs[0].flags, STORE_FLAG_SEEN);
		CHECK_STR(msgs[0].keywords, "$Work");
		CHECK_STR(msgs[0].pop3_uidl, "uidl-x");
	}
	store_msg_list_free(msgs, n);
	/* not empty any more: the UIDVALIDITY stays */
	CHECK_INT(store_mailbox_import_ids(f.s, f.alice, f.inbox, 123, &err), STORE_EPERM);
	free(err);
	err = NULL;
	imp_mailbox(f.s, f.alice, "INBOX", &uv, NULL);
	CHECK_INT(uv, 4000000000u);
	/* UIDNEXT only grows */
	CHECK_INT(store_mailbox_raise_uidnext(f.s, f.alice, f.inbox, 50, NULL), STORE_OK);
	imp_mailbox(f.s, f.alice, "INBOX", NULL, &next);
	CHECK_INT(next, 50);
	CHECK_INT(store_mailbox_raise_uidnext(f.s, f.alice, f.inbox, 20, NULL), STORE_OK);
	imp_mailbox(f.s, f.alice, "INBOX", NULL, &next);
	CHECK_INT(next, 50);
	CHECK_INT(store_mailbox_raise_uidnext(f.s, f.alice, f.bob_inbox, 90, NULL), STORE_ENOTFOUND);
	imp_mailbox(f.s, f.bob, "INBOX", NULL, &next);
	CHECK_INT(next, 1);
	/* the account is checked on the deliver too */
	CHECK_INT(imp_deliver(&f, f.alice, f.bob_inbox, 3, &uid), STORE_ENOTFOUND);
	/* a mailbox created now gets a UIDVALIDITY above the imported one */
	struct store_op op;
	store_op_init(&op, STORE_OP_MAILBOX_CREATE);
	op.u.mailbox.account_id = f.alice;
	op.u.mailbox.name = "Later";
	CHECK_INT(store_run(f.s, &op), STORE_OK);
	store_op_clear(&op);
	imp_mailbox(f.s, f.alice, "Later", &uv, NULL);
	CHECK(uv > 4000000000u);
	store_close(&f.s);
}

TEST(store_import_uid_quota)
{
	struct imp_fx f;
	imp_setup(&f, 1);
	uint32_t uid;
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 3, &uid), STORE_OK);
	CHECK_INT(imp_deliver(&f, f.alice, f.inbox, 4, &uid), STORE_ENOQUOTA);
	uint32_t next;
	imp_mailbox(f.s, f.alice, "INBOX", NULL, &next);
	/* the refused one took nothing */
	CHECK_INT(next, 4);
	store_close(&f.s);
}
