/* imap-context: see imap-context.h. */
#include "imap/imap-context.h"
#include "imap/imap-return.h"
#include "imap/imap-search.h"
#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
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
};

static void context_free(struct imap_context *c)
{
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

void imap_context_add(struct imap_cmd *cmd, struct imap_search **search, const uint32_t *uids,
		      size_t n)
{
	struct imap_session *s = cmd->s;
	const char *tag = cmd->a.tag;
	drop_stale(s);
	if (s->view == NULL)
		return;
	size_t live = 0;
	for (struct imap_context *c = s->contexts; c != NULL; c = c->next) {
		if (strcmp(c->tag, tag) == 0) {
			send_noupdate(s, tag, "Tag already names a live result");
			return;
		}
		live++;
	}
	if (live >= IMAP_CONTEXT_MAX) {
		send_noupdate(s, tag, "Too many live results, CANCELUPDATE some");
		return;
	}
	if (imap_search_uses_seqnums(*search)) {
		send_noupdate(s, tag, "Results by sequence number are not kept updated");
		return;
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
	c->cap = n ? n : 1;
	c->uids = xmalloc(c->cap * sizeof(*c->uids));
	memcpy(c->uids, uids, n * sizeof(*uids));
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

/* Re-test the candidates cand[0..ncand) (view indexes of the messages
 * changed since the oldest context looked) that changed since this one
 * did. 0, or -1 when the context must end (too much to test inline, a
 * store error). */
static int sync_one(struct imap_session *s, struct imap_context *c, const uint32_t *cand,
		    size_t ncand, uint64_t top)
{
	const struct imap_view *v = s->view;
	/* expunged messages leave silently: EXPUNGE/VANISHED said so */
	size_t keep = 0;
	for (size_t i = 0; i < c->n; i++)
		if (imap_view_seq(v, c->uids[i]) != 0 && !imap_view_is_pending(v, c->uids[i]))
			c->uids[keep++] = c->uids[i];
	c->n = keep;
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
