/*
 * store-feed: the change feed. Watchers live on the event-loop thread; the
 * writer hands each commit's changed list to store_feed_dispatch() there.
 *
 * Two kinds of watcher share one list: MODSEQ watchers learn only
 * "mailbox M changed, now at MODSEQ N" and read what changed with
 * store_mailbox_changes(), so a missed or merged notification can never
 * lose a change; mailbox-list watchers (NOTIFY) learn which mailbox was
 * created, deleted, renamed or (un)subscribed. Mailbox ops record those
 * events on the commit's changed list (struct store_changed.mailbox_events),
 * beside the MODSEQ the op took, or in an entry of their own with MODSEQ 0
 * when they take none (SUBSCRIBE changes no message).
 */
#include "store/store-internal.h"
#include "lib/alloc.h"

struct store_watch {
	struct store *s;
	int64_t account_id, mailbox_id;
	store_watch_cb *cb;		/* MODSEQ watcher, or */
	store_watch_mailboxes_cb *mcb;	/* mailbox-list watcher */
	void *ctx;
	struct store_watch *prev, *next;
	bool removed;
	struct store_watch *dead_next; /* removed during dispatch, to free after */
};

/* Set while dispatching, so a callback may remove any watch safely. */
static int dispatch_depth;
static struct store_watch *dead;

static struct store_watch *watch_new(struct store *s, int64_t account_id, int64_t mailbox_id,
				     void *ctx)
{
	struct store_watch *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->account_id = account_id;
	w->mailbox_id = mailbox_id;
	w->ctx = ctx;
	w->next = s->watches;
	if (s->watches)
		s->watches->prev = w;
	s->watches = w;
	return w;
}

struct store_watch *store_watch_add(struct store *s, int64_t account_id, int64_t mailbox_id,
				    store_watch_cb *cb, void *ctx)
{
	struct store_watch *w = watch_new(s, account_id, mailbox_id, ctx);
	w->cb = cb;
	return w;
}

struct store_watch *store_watch_mailboxes_add(struct store *s, int64_t account_id,
					      store_watch_mailboxes_cb *cb, void *ctx)
{
	struct store_watch *w = watch_new(s, account_id, 0, ctx);
	w->mcb = cb;
	return w;
}

static void unlink_watch(struct store_watch *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		w->s->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
}

void store_watch_remove(struct store_watch **wp)
{
	struct store_watch *w = *wp;
	if (w == NULL)
		return;
	*wp = NULL;
	if (dispatch_depth > 0) {
		/* Still linked so the iteration can go on; freed afterwards. */
		w->removed = true;
		w->dead_next = dead;
		dead = w;
		return;
	}
	unlink_watch(w);
	free(w);
}

void store_txn_mailbox_event(struct store_txn *txn, int64_t account_id, int64_t mailbox_id,
			     enum store_mailbox_event event)
{
	/* beside the MODSEQ this op took for the mailbox, if any */
	for (size_t i = txn->op_changed_start; i < txn->nchanged; i++) {
		if (txn->changed[i].mailbox_id == mailbox_id) {
			txn->changed[i].mailbox_events |= (unsigned)event;
			return;
		}
	}
	txn->changed = xgrow(txn->changed, &txn->cap, txn->nchanged + 1, sizeof(*txn->changed));
	txn->changed[txn->nchanged++] = (struct store_changed){
		.mailbox_id = mailbox_id, .account_id = account_id, .mailbox_events = (unsigned)event};
}

static void dispatch_modseq(struct store *s, const struct store_changed *changed, size_t n, size_t i)
{
	const struct store_changed *c = &changed[i];
	/* The same mailbox may appear several times in one commit: only the
	 * last (highest MODSEQ) entry is announced. Entries without a MODSEQ
	 * are for the mailbox-list watchers only. */
	if (c->modseq == 0)
		return;
	for (size_t j = i + 1; j < n; j++)
		if (changed[j].mailbox_id == c->mailbox_id && changed[j].modseq != 0)
			return;
	for (struct store_watch *w = s->watches, *next; w != NULL; w = next) {
		next = w->next;
		if (!w->removed && w->cb != NULL && w->account_id == c->account_id &&
		    (w->mailbox_id == 0 || w->mailbox_id == c->mailbox_id))
			w->cb(w->ctx, c->mailbox_id, c->modseq);
	}
}

static void dispatch_mailbox_events(struct store *s, const struct store_changed *c)
{
	for (unsigned bit = 1; bit <= STORE_MAILBOX_UNSUBSCRIBED; bit <<= 1) {
		if ((c->mailbox_events & bit) == 0)
			continue;
		for (struct store_watch *w = s->watches, *next; w != NULL; w = next) {
			next = w->next;
			if (!w->removed && w->mcb != NULL && w->account_id == c->account_id)
				w->mcb(w->ctx, c->mailbox_id, (enum store_mailbox_event)bit);
		}
	}
}

static void dispatch_end(void)
{
	if (--dispatch_depth == 0) {
		while (dead != NULL) {
			struct store_watch *w = dead;
			dead = w->dead_next;
			unlink_watch(w);
			free(w);
		}
	}
}

void store_feed_dispatch(struct store *s, const struct store_changed *changed, size_t n)
{
	if (n == 0)
		return;
	dispatch_depth++;
	for (size_t i = 0; i < n; i++)
		dispatch_modseq(s, changed, n, i);
	for (size_t i = 0; i < n; i++)
		dispatch_mailbox_events(s, &changed[i]);
	dispatch_end();
}

/* An account-wide MODSEQ watcher: one call per mailbox of the account,
 * with its MODSEQ now (the watcher compares with what it has told). */
static void resync_account(struct store *s, struct store_watch *w)
{
	struct store_mailbox *list = NULL;
	size_t n = 0;
	if (store_mailbox_list(s, w->account_id, &list, &n) != STORE_OK)
		return; /* logged by the read; the next change reaches it */
	for (size_t i = 0; i < n && !w->removed; i++)
		w->cb(w->ctx, list[i].id, list[i].highestmodseq);
	store_mailbox_list_free(list, n);
}

void store_feed_resync(struct store *s)
{
	dispatch_depth++;
	/* List watchers first: a selected mailbox deleted meanwhile ends
	 * its view before the MODSEQ watcher would read it. */
	for (struct store_watch *w = s->watches, *next; w != NULL; w = next) {
		next = w->next;
		if (!w->removed && w->mcb != NULL)
			w->mcb(w->ctx, 0, STORE_MAILBOX_RENAMED);
	}
	for (struct store_watch *w = s->watches, *next; w != NULL; w = next) {
		next = w->next;
		if (w->removed || w->cb == NULL)
			continue;
		if (w->mailbox_id != 0)
			w->cb(w->ctx, w->mailbox_id, 0);
		else
			resync_account(s, w);
	}
	dispatch_end();
}
