/*
 * store-feed: the change feed. Watchers live on the event-loop thread; the
 * writer hands each commit's changed mailboxes to store_feed_dispatch()
 * there. A watcher learns only "mailbox M changed, now at MODSEQ N": it
 * reads what changed with store_mailbox_changes(), so a missed or merged
 * notification can never lose a change.
 */
#include "store/store-internal.h"
#include "lib/alloc.h"

struct store_watch {
	struct store *s;
	int64_t account_id, mailbox_id;
	store_watch_cb *cb;
	void *ctx;
	struct store_watch *prev, *next;
	bool removed;
	struct store_watch *dead_next; /* removed during dispatch, to free after */
};

/* Set while dispatching, so a callback may remove any watch safely. */
static int dispatch_depth;
static struct store_watch *dead;

struct store_watch *store_watch_add(struct store *s, int64_t account_id, int64_t mailbox_id,
				    store_watch_cb *cb, void *ctx)
{
	struct store_watch *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->account_id = account_id;
	w->mailbox_id = mailbox_id;
	w->cb = cb;
	w->ctx = ctx;
	w->next = s->watches;
	if (s->watches)
		s->watches->prev = w;
	s->watches = w;
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

void store_feed_dispatch(struct store *s, const struct store_changed *changed, size_t n)
{
	if (n == 0)
		return;
	dispatch_depth++;
	for (size_t i = 0; i < n; i++) {
		const struct store_changed *c = &changed[i];
		/* The same mailbox may appear several times in one commit:
		 * only the last (highest MODSEQ) entry is announced. Entries
		 * without a MODSEQ are for the mailbox watchers only. */
		bool later = c->modseq == 0;
		for (size_t j = i + 1; j < n && !later; j++)
			later = changed[j].mailbox_id == c->mailbox_id && changed[j].modseq != 0;
		if (later)
			continue;
		struct store_watch *w = s->watches;
		while (w != NULL) {
			struct store_watch *next = w->next;
			if (!w->removed && w->account_id == c->account_id &&
			    (w->mailbox_id == 0 || w->mailbox_id == c->mailbox_id))
				w->cb(w->ctx, c->mailbox_id, c->modseq);
			w = next;
		}
	}
	store_feed_mailbox_dispatch(s, changed, n);
	if (--dispatch_depth == 0) {
		while (dead != NULL) {
			struct store_watch *w = dead;
			dead = w->dead_next;
			unlink_watch(w);
			free(w);
		}
	}
}
