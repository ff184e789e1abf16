/*
 * pop3-expire: pop3.expire_days (advertised as CAPA EXPIRE, RFC 2449
 * section 6.7). A timer on the event loop periodically asks the store for
 * messages POP3 first downloaded more than N days ago, in the mailboxes
 * the account's maildrop shows (INBOX, or all but Trash/Junk/Sent under
 * pop3.mailboxes = all), and removes them the way DELE would for that account (expunge, or hide under
 * pop3.delete = hide), one STORE_OP_POP3_COMMIT per mailbox.
 *
 * pop3_start() starts it on the daemon's loop (conn_global_base()): one
 * pass as soon as the loop runs, then one every POP3_EXPIRE_INTERVAL_SEC.
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "store/store-pop3.h"
#include <event2/event.h>
#include <strings.h>
#include <time.h>

/* How often to look, and the most messages removed per look. */
#define POP3_EXPIRE_INTERVAL_SEC 3600
#define POP3_EXPIRE_BATCH 5000

struct expire_op {
	struct store_op op;
	uint32_t *uids;
};

static void expire_done(struct store_op *op, void *ctx)
{
	struct expire_op *x = ctx;

	if (op->err != STORE_OK)
		log_warn("pop3 expire: %s", op->error != NULL ? op->error : store_strerror(op->err));
	else
		log_info("pop3 expire: removed %zu messages from mailbox %lld", op->u.pop3.ndelete,
			 (long long)op->u.pop3.mailbox_id);
	store_op_clear(&x->op);
	xfree(&x->uids);
	xfree(&x);
}

/* Remove one mailbox's run of expired messages. */
static void expire_mailbox(struct pop3_server *server, const struct store_pop3_expired *list,
			   size_t n)
{
	struct store_account account;
	struct expire_op *x = xcalloc(1, sizeof(*x));
	bool hide = server->set.delete_hide;

	if (store_account_get_by_id(server->store, list[0].account_id, &account) == STORE_OK) {
		if (account.pop3_delete != NULL)
			hide = strcasecmp(account.pop3_delete, "hide") == 0;
		store_account_clear(&account);
	}
	x->uids = xcalloc(n, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		x->uids[i] = list[i].uid;
	store_op_init(&x->op, STORE_OP_POP3_COMMIT);
	x->op.u.pop3.account_id = list[0].account_id;
	x->op.u.pop3.mailbox_id = list[0].mailbox_id;
	x->op.u.pop3.delete_uids = x->uids;
	x->op.u.pop3.ndelete = n;
	x->op.u.pop3.hide = hide;
	store_submit(server->store, &x->op, expire_done, x);
}

static void expire_run(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_server *server = arg;
	struct store_pop3_expired *list;
	size_t n, start = 0;
	int64_t before = (int64_t)time(NULL) - server->set.expire_days * 86400;
	enum store_err err;

	err = store_pop3_expired(server->store, before, server->set.mailboxes_all,
				 POP3_EXPIRE_BATCH, &list, &n);
	if (err != STORE_OK) {
		log_warn("pop3 expire: %s", store_strerror(err));
		return;
	}
	for (size_t i = 1; i <= n; i++) {
		if (i == n || list[i].mailbox_id != list[start].mailbox_id) {
			expire_mailbox(server, list + start, i - start);
			start = i;
		}
	}
	xfree(&list);
}

void pop3_expire_start(struct event_base *base)
{
	struct timeval tv = { .tv_sec = POP3_EXPIRE_INTERVAL_SEC, .tv_usec = 0 };
	struct timeval now = { 0, 0 };

	if (base == NULL || pop3_server.expire_timer != NULL || pop3_server.set.expire_days <= 0)
		return;
	pop3_server.expire_timer = event_new(base, -1, EV_PERSIST, expire_run, &pop3_server);
	event_add(pop3_server.expire_timer, &tv);
	/* And once right away, from the loop rather than under this caller. */
	event_base_once(base, -1, EV_TIMEOUT, expire_run, &pop3_server, &now);
}
