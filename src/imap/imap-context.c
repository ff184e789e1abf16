/* imap-context: see imap-context.h. */
#include "imap/imap-context.h"
#include "imap/imap-return.h"
#include "imap/imap-search.h"
#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "imap/imap-sort.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>

/* Candidates this close in the view are searched in one run of rows. */
#define IMAP_CONTEXT_ROW_GAP 64

struct imap_context {
	struct imap_context *next;
	char *tag;
	bool uid;		/* UID SEARCH: updates name UIDs, else sequence numbers */
	uint64_t view_id;	/* the selection it belongs to */
	uint64_t modseq;	/* messages changed after this are re-tested */
	struct imap_search *search;
	uint32_t *uids;		/* the result now, ascending */
	size_t n, cap;
	/* CONTEXT=SORT: updates carry positions in the sorted result (RFC
	 * 5267 4.3.3, 4.3.4). keys[i] are the sort keys of uids[i]; order[]
	 * holds the same n pointers in sort order, searched by binary search
	 * on the keys, so a change never sorts the result again. */
	bool sorted;
	struct imap_sort_program prog;
	unsigned need;		/* imap_sort_program_needs(&prog) */
	struct imap_sort_msg **keys, **order;
	size_t kcap, ocap;
};

static void key_free(struct imap_sort_msg *m)
{
	imap_sort_msgs_free(&m, 1);
}

static void context_free(struct imap_context *c)
{
	if (c->sorted) {
		for (size_t i = 0; i < c->n; i++)
			key_free(c->keys[i]);
		free(c->keys);
		free(c->order);
	}
	imap_search_free(&c->search);
	free(c->tag);
	free(c->uids);
	free(c);
}

static void send_noupdate(struct imap_session *s, const char *tag, const char *why)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, "* NO [NOUPDATE ");
	imap_buf_string(&b, tag, strlen(tag));
	buf_printf(&b, "] %s\r\n", why);
	imap_write(s, b.data, b.len);
	buf_free(&b);
}

void imap_context_decline(struct imap_cmd *cmd, const char *why)
{
	send_noupdate(cmd->s, cmd->a.tag, why);
}

/* Contexts end with their selection (RFC 5267 4.2): drop those of an
 * earlier one. */
static void drop_stale(struct imap_session *s)
{
	uint64_t id = s->view != NULL ? s->view->id : 0;
	for (struct imap_context **cp = &s->contexts; *cp != NULL;) {
		struct imap_context *c = *cp;
		if (s->view == NULL || c->view_id != id) {
			*cp = c->next;
			context_free(c);
		} else {
			cp = &c->next;
		}
	}
}

/* Messages in the sorted live results of this session. */
static size_t sorted_total(const struct imap_session *s)
{
	size_t t = 0;
	for (const struct imap_context *c = s->contexts; c != NULL; c = c->next)
		if (c->sorted)
			t += c->n;
	return t;
}

/* The checks every new context passes, then a context holding *search;
 * NULL after a NOUPDATE. */
static struct imap_context *context_new(struct imap_cmd *cmd, struct imap_search **search)
{
	struct imap_session *s = cmd->s;
	const char *tag = cmd->a.tag;
	drop_stale(s);
	if (s->view == NULL)
		return NULL;
	size_t live = 0;
	for (struct imap_context *c = s->contexts; c != NULL; c = c->next) {
		if (strcmp(c->tag, tag) == 0) {
			send_noupdate(s, tag, "Tag already names a live result");
			return NULL;
		}
		live++;
	}
	if (live >= IMAP_CONTEXT_MAX) {
		send_noupdate(s, tag, "Too many live results, CANCELUPDATE some");
		return NULL;
	}
	if (imap_search_uses_seqnums(*search)) {
		send_noupdate(s, tag, "Results by sequence number are not kept updated");
		return NULL;
	}
	struct imap_context *c = xcalloc(1, sizeof(*c));
	c->tag = xstrdup(tag);
	c->uid = cmd->a.uid;
	c->view_id = s->view->id;
	/* the result is of the view as it is now: changes up to its highest
	 * MODSEQ (a STORE of this session raises messages' past the view's) */
	c->modseq = s->view->modseq;
	for (size_t i = 0; i < s->view->count; i++)
		if (s->view->msgs[i].modseq > c->modseq)
			c->modseq = s->view->msgs[i].modseq;
	c->search = *search;
	*search = NULL;
	return c;
}

void imap_context_add(struct imap_cmd *cmd, struct imap_search **search, const uint32_t *uids,
		      size_t n)
{
	struct imap_session *s = cmd->s;
	struct imap_context *c = context_new(cmd, search);
	if (c == NULL)
		return;
	c->cap = n ? n : 1;
	c->uids = xmalloc(c->cap * sizeof(*c->uids));
	memcpy(c->uids, uids, n * sizeof(*uids));
	c->n = n;
	c->next = s->contexts;
	s->contexts = c;
}

static int cmp_key_uid(const void *x, const void *y)
{
	const struct imap_sort_msg *a = *(struct imap_sort_msg *const *)x;
	const struct imap_sort_msg *b = *(struct imap_sort_msg *const *)y;
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

void imap_context_add_sorted(struct imap_cmd *cmd, struct imap_search **search,
			     const struct imap_sort_program *prog, struct imap_sort_msg *msgs,
			     size_t n)
{
	struct imap_session *s = cmd->s;
	drop_stale(s);
	if (s->view != NULL && sorted_total(s) + n > IMAP_CONTEXT_SORT_MAX) {
		send_noupdate(s, cmd->a.tag, "Sorted result too large to keep updated");
		return;
	}
	struct imap_context *c = context_new(cmd, search);
	if (c == NULL)
		return;
	c->sorted = true;
	c->prog = *prog;
	c->need = imap_sort_program_needs(prog);
	c->cap = c->kcap = c->ocap = n ? n : 1;
	c->uids = xmalloc(c->cap * sizeof(*c->uids));
	c->keys = xmalloc(c->kcap * sizeof(*c->keys));
	c->order = xmalloc(c->ocap * sizeof(*c->order));
	for (size_t i = 0; i < n; i++) {
		/* the strings move to the context */
		struct imap_sort_msg *m = xmalloc(sizeof(*m));
		*m = msgs[i];
		m->idx = 0;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].uid = m->uid;
		c->order[i] = m;
		c->keys[i] = m;
	}
	if (n > 1)
		qsort(c->keys, n, sizeof(*c->keys), cmp_key_uid);
	for (size_t i = 0; i < n; i++)
		c->uids[i] = c->keys[i]->uid;
	c->n = n;
	c->next = s->contexts;
	s->contexts = c;
}

bool imap_context_has(struct imap_session *s, const char *tag)
{
	drop_stale(s);
	for (const struct imap_context *c = s->contexts; c != NULL; c = c->next)
		if (strcmp(c->tag, tag) == 0)
			return true;
	return false;
}

int imap_context_cancel(struct imap_session *s, const char *tag)
{
	drop_stale(s);
	for (struct imap_context **cp = &s->contexts; *cp != NULL; cp = &(*cp)->next) {
		if (strcmp((*cp)->tag, tag) == 0) {
			struct imap_context *c = *cp;
			*cp = c->next;
			context_free(c);
			return 0;
		}
	}
	return -1;
}

void imap_context_free_all(struct imap_session *s)
{
	while (s->contexts != NULL) {
		struct imap_context *c = s->contexts;
		s->contexts = c->next;
		context_free(c);
	}
}

/* "* ESEARCH (TAG t) [UID] ADDTO (0 set)" or REMOVEFROM: for SEARCH the
 * context-position is 0 (RFC 5267 4.3: only sorted results have one). */
static void send_update(struct imap_session *s, const struct imap_context *c, const char *what,
			const uint32_t *uids, size_t n)
{
	if (n == 0)
		return;
	const struct imap_view *v = s->view;
	uint32_t *nums = xmalloc(n * sizeof(*nums));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t seq = imap_view_seq(v, uids[i]);
		if (seq != 0)
			nums[k++] = c->uid ? uids[i] : seq;
	}
	if (k > 0) {
		struct buf b;
		buf_init(&b, SIZE_MAX);
		buf_puts(&b, "* ESEARCH (TAG ");
		imap_buf_string(&b, c->tag, strlen(c->tag));
		buf_putc(&b, ')');
		if (c->uid)
			buf_puts(&b, " UID");
		char *set = imap_seqset_format_list(nums, k);
		buf_printf(&b, " %s (0 %s)\r\n", what, set);
		free(set);
		imap_write(s, b.data, b.len);
		buf_free(&b);
	}
	free(nums);
}

/* Search the view messages idx[0..n) (ascending) again: the matches as
 * ascending UIDs. The store's rows are read per run of view messages at
 * most IMAP_CONTEXT_ROW_GAP apart, so two changes far apart do not read
 * every row between them;
 * a search that reads content runs once (one full-text lookup), its
 * candidates bounded by IMAP_CONTEXT_SYNC_MAX. */
static int run_candidates(struct imap_session *s, const struct imap_search *search,
			  const uint32_t *idx, size_t n, uint32_t **hits_r, size_t *nhits_r)
{
	bool whole = imap_search_reads_content(search);
	uint32_t *hits = xmalloc(n * sizeof(*hits));
	size_t nhits = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		/* a few rows read past is cheaper than one more query */
		while (j < n && (whole || idx[j] - idx[j - 1] <= IMAP_CONTEXT_ROW_GAP))
			j++;
		struct imap_search_snap *snap = imap_search_snap_subset(s, search, idx + i, j - i);
		uint32_t *part = NULL;
		size_t npart = 0;
		int rc = imap_search_run_snap(snap, search, &part, &npart);
		imap_search_snap_free(&snap);
		if (rc < 0) {
			free(hits);
			return -1;
		}
		memcpy(hits + nhits, part, npart * sizeof(*part));
		nhits += npart;
		free(part);
		i = j;
	}
	*hits_r = hits;
	*nhits_r = nhits;
	return 0;
}

/* --- sorted results (CONTEXT=SORT) --- */

/* Index in c->order where m is, or where it would go. */
static size_t order_find(const struct imap_context *c, const struct imap_sort_msg *m)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (imap_sort_cmp(&c->prog, c->order[mid], m) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of uid in c->uids (a member). */
static size_t uid_find(const struct imap_context *c, uint32_t uid)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The "position set" pairs of one ADDTO or REMOVEFROM (RFC 5267 4.3.3,
 * 4.3.4): a message whose position is the one the pair before it left
 * next joins that pair's set (in sort order, so a comma list). */
struct pairs {
	struct buf b;
	size_t next;
	bool any;
};

static void pairs_add(struct pairs *p, size_t pos, uint32_t num, size_t next)
{
	if (p->any && pos == p->next)
		buf_printf(&p->b, ",%u", num);
	else
		buf_printf(&p->b, "%s%zu %u", p->any ? " " : "", pos, num);
	p->any = true;
	p->next = next;
}

static void pairs_send(struct imap_session *s, const struct imap_context *c, const char *what,
		       struct pairs *p)
{
	if (p->any) {
		struct buf b;
		buf_init(&b, SIZE_MAX);
		buf_puts(&b, "* ESEARCH (TAG ");
		imap_buf_string(&b, c->tag, strlen(c->tag));
		buf_putc(&b, ')');
		if (c->uid)
			buf_puts(&b, " UID");
		buf_printf(&b, " %s (", what);
		(void)buf_append(&b, p->b.data, p->b.len);
		buf_puts(&b, ")\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
	}
	buf_free(&p->b);
}

static uint32_t number_of(const struct imap_session *s, const struct imap_context *c, uint32_t uid)
{
	return c->uid ? uid : imap_view_seq(s->view, uid);
}

/* Drop the members the view no longer holds (or holds as expunged): one
 * merge walk over the result and the view, one pass over order[]. */
static void sorted_drop_gone(const struct imap_view *v, struct imap_context *c)
{
	size_t j = 0, keep = 0;
	for (size_t i = 0; i < c->n; i++) {
		uint32_t uid = c->uids[i];
		while (j < v->count && v->msgs[j].uid < uid)
			j++;
		bool in = j < v->count && v->msgs[j].uid == uid &&
			  (v->npending == 0 || !imap_view_is_pending(v, uid));
		struct imap_sort_msg *m = c->keys[i];
		m->idx = in ? 0 : 1;
		if (in) {
			c->uids[keep] = uid;
			c->keys[keep++] = m;
		}
	}
	if (keep == c->n)
		return;
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->order[i]->idx)
			key_free(c->order[i]);
		else
			c->order[k++] = c->order[i];
	}
	c->n = keep;
}

static int cmp_size(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	return a < b ? -1 : a > b;
}

/* REMOVEFROM for the members rm[0..n) (ascending UIDs), in sort order:
 * the k-th leaves from its position less the k removed before it. */
static void sorted_remove(struct imap_session *s, struct imap_context *c, const uint32_t *rm,
			  size_t n)
{
	if (n == 0)
		return;
	size_t *pos = xmalloc(n * sizeof(*pos));
	for (size_t k = 0; k < n; k++) {
		struct imap_sort_msg *m = c->keys[uid_find(c, rm[k])];
		pos[k] = order_find(c, m);
		m->idx = 1;
	}
	if (n > 1)
		qsort(pos, n, sizeof(*pos), cmp_size);
	struct pairs p = {0};
	buf_init(&p.b, SIZE_MAX);
	for (size_t k = 0; k < n; k++) {
		size_t at = pos[k] - k + 1;
		pairs_add(&p, at, number_of(s, c, c->order[pos[k]]->uid), at);
	}
	free(pos);
	pairs_send(s, c, "REMOVEFROM", &p);
	size_t keep = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (!c->keys[i]->idx) {
			c->uids[keep] = c->uids[i];
			c->keys[keep++] = c->keys[i];
		}
	}
	keep = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->order[i]->idx)
			key_free(c->order[i]);
		else
			c->order[keep++] = c->order[i];
	}
	c->n = keep;
}

static int cmp_sorted(const void *x, const void *y, void *ctx)
{
	return imap_sort_cmp(ctx, *(struct imap_sort_msg *const *)x,
			     *(struct imap_sort_msg *const *)y);
}

/* ADDTO for the new members nw[0..n) (their keys, taken): sorted among
 * themselves, then merged into order[] from the back; each is told at
 * its final position, in ascending order, which is where it lands when
 * the pairs are applied one after the other. */
static void sorted_insert(struct imap_session *s, struct imap_context *c, struct imap_sort_msg **nw,
			  size_t n)
{
	if (n == 0)
		return;
	qsort_r(nw, n, sizeof(*nw), cmp_sorted, &c->prog);
	c->order = xgrow(c->order, &c->ocap, c->n + n, sizeof(*c->order));
	size_t *fin = xmalloc(n * sizeof(*fin));
	size_t i = c->n, j = n, w = c->n + n;
	while (j > 0) {
		if (i > 0 && imap_sort_cmp(&c->prog, c->order[i - 1], nw[j - 1]) > 0) {
			c->order[--w] = c->order[--i];
		} else {
			c->order[--w] = nw[--j];
			fin[j] = w;
		}
	}
	struct pairs p = {0};
	buf_init(&p.b, SIZE_MAX);
	for (j = 0; j < n; j++)
		pairs_add(&p, fin[j] + 1, number_of(s, c, nw[j]->uid), fin[j] + 2);
	free(fin);
	pairs_send(s, c, "ADDTO", &p);
	/* and into uids[]/keys[] by UID */
	if (n > 1)
		qsort(nw, n, sizeof(*nw), cmp_key_uid);
	c->uids = xgrow(c->uids, &c->cap, c->n + n, sizeof(*c->uids));
	c->keys = xgrow(c->keys, &c->kcap, c->n + n, sizeof(*c->keys));
	i = c->n;
	j = n;
	w = c->n + n;
	while (j > 0) {
		if (i > 0 && c->uids[i - 1] > nw[j - 1]->uid) {
			w--;
			i--;
			c->uids[w] = c->uids[i];
			c->keys[w] = c->keys[i];
		} else {
			w--;
			j--;
			c->uids[w] = nw[j]->uid;
			c->keys[w] = nw[j];
		}
	}
	c->n += n;
}

/* The sort keys of the messages uids[0..n) (ascending, in the view),
 * each malloc'd; read per run of view messages at most
 * IMAP_CONTEXT_ROW_GAP apart, like the candidates. -1 on a store error. */
static int load_keys(struct imap_session *s, const struct imap_context *c, const uint32_t *uids,
		     size_t n, struct imap_sort_msg ***keys_r)
{
	const struct imap_view *v = s->view;
	struct imap_sort_msg **nw = xmalloc((n ? n : 1) * sizeof(*nw));
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && imap_view_seq(v, uids[j]) - imap_view_seq(v, uids[j - 1]) <=
					IMAP_CONTEXT_ROW_GAP)
			j++;
		struct imap_sort_msg *msgs;
		if (imap_sort_load_uids(s->srv->store, s->account_id, v->mailbox_id, uids + i, j - i,
					c->need, &msgs) < 0) {
			while (k > 0)
				key_free(nw[--k]);
			free(nw);
			return -1;
		}
		for (size_t q = 0; q < j - i; q++) {
			nw[k] = xmalloc(sizeof(*nw[k]));
			*nw[k] = msgs[q];
			nw[k++]->idx = 0;
		}
		free(msgs); /* the strings moved */
		i = j;
	}
	*keys_r = nw;
	return 0;
}

/* Apply a sync's changes to a sorted result: REMOVEFROM, then ADDTO,
 * both with positions. -1 (the context ends) on a store error or when
 * the session's sorted results would pass IMAP_CONTEXT_SORT_MAX. */
static int sorted_apply(struct imap_session *s, struct imap_context *c, const uint32_t *removed,
			size_t nremoved, const uint32_t *added, size_t nadded)
{
	if (sorted_total(s) - nremoved + nadded > IMAP_CONTEXT_SORT_MAX)
		return -1;
	struct imap_sort_msg **nw = NULL;
	if (nadded > 0 && load_keys(s, c, added, nadded, &nw) < 0)
		return -1;
	sorted_remove(s, c, removed, nremoved);
	sorted_insert(s, c, nw, nadded);
	free(nw);
	return 0;
}

/* Re-test the candidates cand[0..ncand) (view indexes of the messages
 * changed since the oldest context looked) that changed since this one
 * did. 0, or -1 when the context must end (too much to test inline, a
 * store error). */
static int sync_one(struct imap_session *s, struct imap_context *c, const uint32_t *cand,
		    size_t ncand, uint64_t top)
{
	const struct imap_view *v = s->view;
	/* expunged messages leave silently: EXPUNGE/VANISHED said so */
	if (c->sorted) {
		sorted_drop_gone(v, c);
	} else {
		size_t keep = 0;
		for (size_t i = 0; i < c->n; i++)
			if (imap_view_seq(v, c->uids[i]) != 0 &&
			    !imap_view_is_pending(v, c->uids[i]))
				c->uids[keep++] = c->uids[i];
		c->n = keep;
	}
	uint32_t *idx = xmalloc((ncand ? ncand : 1) * sizeof(*idx));
	size_t nidx = 0;
	for (size_t i = 0; i < ncand; i++)
		if (v->msgs[cand[i]].modseq > c->modseq)
			idx[nidx++] = cand[i];
	c->modseq = top;
	if (nidx == 0) {
		free(idx);
		return 0;
	}
	if (nidx > IMAP_CONTEXT_SYNC_MAX && imap_search_reads_content(c->search)) {
		free(idx);
		return -1;
	}
	uint32_t *hits = NULL;
	size_t nhits = 0;
	if (run_candidates(s, c->search, idx, nidx, &hits, &nhits) < 0) {
		free(idx);
		return -1;
	}
	/* tested and not matching: leave the result; matching: join it */
	uint32_t *added = xmalloc(nidx * sizeof(*added)), *removed = xmalloc(nidx * sizeof(*removed));
	size_t nadded = 0, nremoved = 0;
	for (size_t i = 0; i < nidx; i++) {
		uint32_t uid = v->msgs[idx[i]].uid;
		bool match = imap_uids_contain(hits, nhits, uid);
		bool in = imap_uids_contain(c->uids, c->n, uid);
		if (match && !in)
			added[nadded++] = uid;
		else if (!match && in)
			removed[nremoved++] = uid;
	}
	free(hits);
	free(idx);
	if (c->sorted) {
		int rc = sorted_apply(s, c, removed, nremoved, added, nadded);
		free(added);
		free(removed);
		return rc;
	}
	/* REMOVEFROM first, so the numbers it names are those the client has */
	send_update(s, c, "REMOVEFROM", removed, nremoved);
	if (nremoved > 0) {
		size_t k = 0;
		for (size_t i = 0; i < c->n; i++)
			if (!imap_uids_contain(removed, nremoved, c->uids[i]))
				c->uids[k++] = c->uids[i];
		c->n = k;
	}
	send_update(s, c, "ADDTO", added, nadded);
	if (nadded > 0) {
		c->uids = xgrow(c->uids, &c->cap, c->n + nadded, sizeof(*c->uids));
		memcpy(c->uids + c->n, added, nadded * sizeof(*added));
		c->n += nadded;
		imap_uids_sort(c->uids, c->n);
	}
	free(added);
	free(removed);
	return 0;
}

void imap_context_sync(struct imap_session *s)
{
	drop_stale(s);
	if (s->contexts == NULL)
		return;
	const struct imap_view *v = s->view;
	/* one pass over the view for all contexts: the messages changed
	 * since the oldest one looked. The view is current now (the sync
	 * applied every change), so the highest MODSEQ in it is where each
	 * context has looked up to; a STORE of this session raises message
	 * MODSEQs without the view's own. */
	uint64_t since = UINT64_MAX, top = v->modseq;
	for (const struct imap_context *c = s->contexts; c != NULL; c = c->next)
		if (c->modseq < since)
			since = c->modseq;
	uint32_t *cand = NULL;
	size_t ncand = 0, cap = 0;
	for (size_t i = 0; i < v->count; i++) {
		if (v->msgs[i].modseq > top)
			top = v->msgs[i].modseq;
		if (v->msgs[i].modseq <= since || imap_view_is_pending(v, v->msgs[i].uid))
			continue;
		cand = xgrow(cand, &cap, ncand + 1, sizeof(*cand));
		cand[ncand++] = (uint32_t)i;
	}
	for (struct imap_context **cp = &s->contexts; *cp != NULL;) {
		struct imap_context *c = *cp;
		if (sync_one(s, c, cand, ncand, top) < 0) {
			send_noupdate(s, c->tag, "Result no longer kept updated");
			*cp = c->next;
			context_free(c);
		} else {
			cp = &c->next;
		}
	}
	free(cand);
}
