/* imap-view: see imap-view.h. */
#include "imap/imap-view.h"
#include "imap/imap-session.h"
#include "imap/imap-seqset.h"
#include "imap/imap-sync.h"
#include "imap/imap-flags.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store.h"
#include "store/store-imap.h"
#include <stdlib.h>
#include <string.h>

static bool keyword_known(const struct imap_view *v, const char *w, size_t n)
{
	for (const char *p = v->known_keywords; (p = strstr(p, w)) != NULL; p++) {
		bool start = p == v->known_keywords || p[-1] == ' ';
		if (start && (p[n] == ' ' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* Add the keywords not yet known; true when one was added. */
static bool keywords_learn(struct imap_view *v, const char *keywords)
{
	bool added = false;
	const char *p = keywords;
	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		char *w = xstrndup(p, n);
		size_t need = v->known_len + (v->known_len ? 1 : 0) + n;
		if (!keyword_known(v, w, n) && need <= IMAP_VIEW_KEYWORDS_MAX) {
			v->known_keywords = xrealloc(v->known_keywords, need + 1);
			if (v->known_len)
				v->known_keywords[v->known_len++] = ' ';
			memcpy(v->known_keywords + v->known_len, w, n);
			v->known_len += n;
			v->known_keywords[v->known_len] = '\0';
			added = true;
		}
		free(w);
		p += n;
	}
	return added;
}

static void view_add_row(void *ctx, const struct store_imap_view_row *row)
{
	struct imap_view *v = ctx;
	v->msgs = xgrow(v->msgs, &v->cap, v->count + 1, sizeof(*v->msgs));
	struct imap_view_msg *m = &v->msgs[v->count++];
	memset(m, 0, sizeof(*m));
	m->uid = row->uid;
	m->flags = row->flags;
	m->keywords = row->keywords != NULL ? xstrdup(row->keywords) : NULL;
	m->modseq = row->modseq;
	if (row->modseq > v->modseq)
		v->modseq = row->modseq;
}

int imap_view_open(struct imap_session *s, const struct store_mailbox *mb, bool readonly,
		   struct imap_view **view_r)
{
	static uint64_t next_id;
	struct imap_view *v = xcalloc(1, sizeof(*v));
	v->mailbox_id = mb->id;
	/* Changes after this MODSEQ are read again by the next sync; applying
	 * a change twice is harmless (see imap-sync.c). */
	v->modseq = mb->highestmodseq;
	/* the lean read: four columns, no allocation per message unless it
	 * has keywords (a 100,000-message SELECT) */
	if (store_imap_view_rows(s->srv->store, s->account_id, mb->id, view_add_row, v) != STORE_OK) {
		for (size_t i = 0; i < v->count; i++)
			free(v->msgs[i].keywords);
		free(v->msgs);
		free(v);
		return -1;
	}
	if (v->msgs == NULL)
		v->msgs = xgrow(v->msgs, &v->cap, 1, sizeof(*v->msgs));
	v->id = ++next_id;
	v->known_keywords = xstrdup("");
	for (size_t i = 0; i < v->count; i++)
		keywords_learn(v, v->msgs[i].keywords);
	v->name = xstrdup(mb->name);
	v->readonly = readonly;
	v->uidvalidity = mb->uidvalidity;
	v->watch = store_watch_add(s->srv->store, s->account_id, mb->id, imap_sync_notify, s);
	v->mbwatch = store_watch_mailboxes_add(s->srv->store, s->account_id,
					       imap_sync_mailboxes_notify, s);
	*view_r = v;
	return 0;
}

void imap_view_free(struct imap_view **vp)
{
	struct imap_view *v = *vp;
	if (v == NULL)
		return;
	if (v->watch != NULL)
		store_watch_remove(&v->watch);
	store_watch_remove(&v->mbwatch);
	for (size_t i = 0; i < v->count; i++)
		free(v->msgs[i].keywords);
	free(v->msgs);
	free(v->pending);
	free(v->saved);
	free(v->known_keywords);
	free(v->name);
	free(v);
	*vp = NULL;
}

uint32_t imap_view_seq(const struct imap_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else if (v->msgs[mid].uid > uid)
			hi = mid;
		else
			return (uint32_t)mid + 1;
	}
	return 0;
}

uint32_t imap_view_max_uid(const struct imap_view *v)
{
	return v->count ? v->msgs[v->count - 1].uid : 0;
}

bool imap_view_is_pending(const struct imap_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->npending;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v->pending[mid] < uid)
			lo = mid + 1;
		else if (v->pending[mid] > uid)
			hi = mid;
		else
			return true;
	}
	return false;
}

void imap_view_remove_pending(struct imap_view *v, uint32_t **seqs_r, uint32_t **uids_r,
			      size_t *n_r)
{
	uint32_t *seqs = NULL, *uids = NULL;
	size_t n = 0, kept = 0, p = 0;

	if (seqs_r != NULL) {
		seqs = xmalloc((v->npending + 1) * sizeof(*seqs));
		uids = xmalloc((v->npending + 1) * sizeof(*uids));
	}
	for (size_t i = 0; i < v->count; i++) {
		uint32_t uid = v->msgs[i].uid;
		while (p < v->npending && v->pending[p] < uid)
			p++;	/* expunged before it reached this view */
		if (p < v->npending && v->pending[p] == uid) {
			if (seqs != NULL) {
				seqs[n] = (uint32_t)(i + 1);
				uids[n] = uid;
			}
			n++;
			free(v->msgs[i].keywords);
			continue;
		}
		if (kept != i)
			v->msgs[kept] = v->msgs[i];
		kept++;
	}
	v->count = kept;
	v->npending = 0;
	if (seqs_r != NULL) {
		*seqs_r = seqs;
		*uids_r = uids;
	}
	*n_r = n;
}

void imap_view_add_pending(struct imap_view *v, uint32_t uid)
{
	if (imap_view_is_pending(v, uid))
		return;
	if (v->npending == 0)
		v->pending_floor = v->modseq; /* the expunge came after this */
	v->pending = xgrow(v->pending, &v->pending_cap, v->npending + 1, sizeof(*v->pending));
	size_t i = v->npending;
	while (i > 0 && v->pending[i - 1] > uid) {
		v->pending[i] = v->pending[i - 1];
		i--;
	}
	v->pending[i] = uid;
	v->npending++;
}

int imap_view_uids(const struct imap_view *v, const char *setstr, bool uid, uint32_t **uids_r,
		   size_t *n_r)
{
	struct imap_seqset set;
	uint32_t star = uid ? imap_view_max_uid(v) : (uint32_t)v->count;
	if (imap_seqset_parse(setstr, star, &set) < 0)
		return -1;
	if (set.saved) {
		/* "$" (RFC 5182 section 2.2): the saved UIDs still in the view,
		 * for the UID and the sequence-number forms alike */
		uint32_t *uids = xmalloc((v->nsaved ? v->nsaved : 1) * sizeof(*uids));
		size_t n = 0;
		for (size_t i = 0; i < v->nsaved; i++)
			if (imap_view_seq(v, v->saved[i]) != 0)
				uids[n++] = v->saved[i];
		*uids_r = uids;
		*n_r = n;
		return 0;
	}
	if (!uid && (v->count == 0 || imap_seqset_max(&set) > v->count)) {
		imap_seqset_clear(&set);
		return -1;
	}
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	for (size_t r = 0; r < set.count; r++) {
		if (uid) {
			/* walk the view from the first UID >= lo */
			size_t lo = 0, hi = v->count;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (v->msgs[mid].uid < set.ranges[r].lo)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t i = lo; i < v->count && v->msgs[i].uid <= set.ranges[r].hi; i++) {
				uids = xgrow(uids, &cap, n + 1, sizeof(*uids));
				uids[n++] = v->msgs[i].uid;
			}
		} else {
			for (uint64_t q = set.ranges[r].lo; q <= set.ranges[r].hi; q++) {
				uids = xgrow(uids, &cap, n + 1, sizeof(*uids));
				uids[n++] = v->msgs[q - 1].uid;
			}
		}
	}
	imap_seqset_clear(&set);
	*uids_r = uids;
	*n_r = n;
	return 0;
}

void imap_view_save_result(struct imap_view *v, const uint32_t *uids, size_t n)
{
	free(v->saved);
	v->saved = xmalloc((n ? n : 1) * sizeof(*v->saved));
	if (n > 0)
		memcpy(v->saved, uids, n * sizeof(*uids));
	imap_uids_sort(v->saved, n);
	v->nsaved = n;
}

void imap_view_saved_set(const struct imap_view *v, struct imap_seqset *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	/* saved is sorted: build the merged ranges in one pass */
	set_r->ranges = xmalloc((v->nsaved ? v->nsaved : 1) * sizeof(*set_r->ranges));
	for (size_t i = 0; i < v->nsaved; i++) {
		struct imap_range *last = set_r->count ? &set_r->ranges[set_r->count - 1] : NULL;
		if (last != NULL && (uint64_t)v->saved[i] <= (uint64_t)last->hi + 1) {
			if (v->saved[i] > last->hi)
				last->hi = v->saved[i];
			continue;
		}
		set_r->ranges[set_r->count].lo = v->saved[i];
		set_r->ranges[set_r->count].hi = v->saved[i];
		set_r->count++;
	}
}

void imap_view_set_recent(struct imap_view *v, uint32_t lo, uint32_t hi)
{
	for (size_t i = 0; i < v->count; i++)
		v->msgs[i].recent = v->msgs[i].uid > lo && v->msgs[i].uid <= hi;
}

size_t imap_view_recent_count(const struct imap_view *v)
{
	size_t n = 0;
	for (size_t i = 0; i < v->count; i++)
		n += v->msgs[i].recent;
	return n;
}

void imap_view_announce_keywords(struct imap_session *s, const char *keywords)
{
	struct imap_view *v = s->view;
	if (v == NULL || keywords == NULL || !keywords_learn(v, keywords))
		return;
	const char *sp = v->known_len ? " " : "";
	imap_printf(s, "* FLAGS (%s%s%s)\r\n", IMAP_SYSTEM_FLAGS, sp, v->known_keywords);
	if (v->readonly)
		imap_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
	else
		imap_printf(s, "* OK [PERMANENTFLAGS (%s%s%s \\*)] Flags permitted\r\n",
			    IMAP_SYSTEM_FLAGS, sp, v->known_keywords);
}

void imap_view_format_flags(const struct imap_session *s, struct buf *b,
			    const struct imap_view_msg *m)
{
	imap_flags_format(b, m->flags, m->keywords);
	if (m->recent && !s->rev2)
		buf_puts(b, (m->flags & STORE_FLAGS_ALL) || (m->keywords && *m->keywords)
				    ? " \\Recent" : "\\Recent");
}
