/*
 * store-feed-mailbox: the mailbox-list side of the change feed (store.h
 * store_watch_mailboxes_add). Mailbox ops record what they did on the
 * commit's changed list (struct store_changed.mailbox_events), beside the
 * MODSEQ the op took, or in an entry of their own with MODSEQ 0 when they
 * take none (SUBSCRIBE: no message changed). The writer hands the list to
 * the event loop as for the MODSEQ watchers, and store_feed_dispatch()
 * calls store_feed_mailbox_dispatch() with it.
 *
 * Watchers live on the event-loop thread, like store-feed.c's.
 */
#include "store/store-internal.h"
#include "lib/alloc.h"

struct store_watch_mailboxes {
	struct store *s;
	int64_t account_id;
	store_watch_mailboxes_cb *cb;
	void *ctx;
	struct store_watch_mailboxes *prev, *next;
	bool removed;
	struct store_watch_mailboxes *dead_next;
};

/* Set while dispatching, so a callback may remove any watch safely. */
static int dispatch_depth;
static struct store_watch_mailboxes *dead;

struct store_watch_mailboxes *store_watch_mailboxes_add(struct store *s, int64_t account_id,
							store_watch_mailboxes_cb *cb, void *ctx)
{
	struct store_watch_mailboxes *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->account_id = account_id;
	w->cb = cb;
	w->ctx = ctx;
	w->next = s->mailbox_watches;
	if (s->mailbox_watches)
		s->mailbox_watches->prev = w;
	s->mailbox_watches = w;
	return w;
}

static void unlink_watch(struct store_watch_mailboxes *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		w->s->mailbox_watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
}

void store_watch_mailboxes_remove(struct store_watch_mailboxes **wp)
{
	struct store_watch_mailboxes *w = *wp;
	if (w == NULL)
		return;
	*wp = NULL;
	if (dispatch_depth > 0) {
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

void store_feed_mailbox_dispatch(struct store *s, const struct store_changed *changed, size_t n)
{
	if (s->mailbox_watches == NULL)
		return;
	dispatch_depth++;
	for (size_t i = 0; i < n; i++) {
		const struct store_changed *c = &changed[i];
		for (unsigned bit = 1; bit <= STORE_MAILBOX_UNSUBSCRIBED; bit <<= 1) {
			if ((c->mailbox_events & bit) == 0)
				continue;
			struct store_watch_mailboxes *w = s->mailbox_watches;
			while (w != NULL) {
				struct store_watch_mailboxes *next = w->next;
				if (!w->removed && w->account_id == c->account_id)
					w->cb(w->ctx, c->mailbox_id, (enum store_mailbox_event)bit);
				w = next;
			}
		}
	}
	if (--dispatch_depth == 0) {
		while (dead != NULL) {
			struct store_watch_mailboxes *w = dead;
			dead = w->dead_next;
			unlink_watch(w);
			free(w);
		}
	}
}
