/*
 * imap-thread: see imap-thread.h. The tree: node 0 is a virtual root whose
 * children are the threads; every other node is a message or, with m ==
 * NULL, a "dummy" (a Message-ID referenced but not in the result).
 * Children are singly linked lists (child, next); parent links up.
 */
#include "imap/imap-thread.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/base-subject.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NONE (-1)

struct node {
	struct imap_sort_msg *m;	/* NULL: dummy */
	int32_t parent, child, next;
	int64_t date;			/* sort key among siblings (RFC 5256 step 6) */
	uint32_t idx;			/* tie-break: sequence order */
	bool dead;
};

struct tree {
	struct node *nodes;
	size_t n, cap;
};

static int32_t new_node(struct tree *t, struct imap_sort_msg *m)
{
	t->nodes = xgrow(t->nodes, &t->cap, t->n + 1, sizeof(*t->nodes));
	struct node *x = &t->nodes[t->n];
	memset(x, 0, sizeof(*x));
	x->m = m;
	x->parent = x->child = x->next = NONE;
	if (m != NULL) {
		x->date = m->date;
		x->idx = m->idx;
	}
	return (int32_t)t->n++;
}

static void link_child(struct tree *t, int32_t parent, int32_t c)
{
	t->nodes[c].parent = parent;
	t->nodes[c].next = t->nodes[parent].child;
	t->nodes[parent].child = c;
}

static void unlink_child(struct tree *t, int32_t c)
{
	int32_t p = t->nodes[c].parent;
	if (p == NONE)
		return;
	int32_t *link = &t->nodes[p].child;
	while (*link != NONE && *link != c)
		link = &t->nodes[*link].next;
	if (*link == c)
		*link = t->nodes[c].next;
	t->nodes[c].parent = NONE;
	t->nodes[c].next = NONE;
}

/* Would making c a child of p close a loop (c is p or above p)? */
static bool is_above(const struct tree *t, int32_t c, int32_t p)
{
	if (c == p)
		return true;
	if (t->nodes[c].child == NONE)	/* a leaf is nobody's ancestor */
		return false;
	for (int32_t x = t->nodes[p].parent; x != NONE; x = t->nodes[x].parent)
		if (x == c)
			return true;
	return false;
}

/* --- a string -> node hash table (open addressing) --- */

struct table {
	const char **keys;
	int32_t *vals;
	size_t cap, n;
	bool casemap;		/* compare with i18n;ascii-casemap */
};

static uint64_t hash_str(const char *s, bool casemap)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (casemap && c >= 'a' && c <= 'z')
			c -= 32;
		h = (h ^ c) * 1099511628211ull;
	}
	return h;
}

static void table_init(struct table *tb, size_t expect, bool casemap)
{
	tb->cap = 16;
	while (tb->cap < expect * 2)
		tb->cap *= 2;
	tb->keys = xcalloc(tb->cap, sizeof(*tb->keys));
	tb->vals = xcalloc(tb->cap, sizeof(*tb->vals));
	tb->n = 0;
	tb->casemap = casemap;
}

static void table_free(struct table *tb)
{
	free(tb->keys);
	free(tb->vals);
}

static size_t table_slot(const struct table *tb, const char *key)
{
	size_t i = hash_str(key, tb->casemap) & (tb->cap - 1);
	while (tb->keys[i] != NULL &&
	       (tb->casemap ? base_subject_cmp(tb->keys[i], key) : strcmp(tb->keys[i], key)) != 0)
		i = (i + 1) & (tb->cap - 1);
	return i;
}

static void table_put(struct table *tb, const char *key, int32_t val)
{
	if ((tb->n + 1) * 2 > tb->cap) {
		struct table big;
		table_init(&big, tb->cap, tb->casemap);
		for (size_t i = 0; i < tb->cap; i++)
			if (tb->keys[i] != NULL)
				table_put(&big, tb->keys[i], tb->vals[i]);
		table_free(tb);
		*tb = big;
	}
	size_t i = table_slot(tb, key);
	if (tb->keys[i] == NULL)
		tb->n++;
	tb->keys[i] = key;
	tb->vals[i] = val;
}

static int32_t table_get(const struct table *tb, const char *key)
{
	size_t i = table_slot(tb, key);
	return tb->keys[i] != NULL ? tb->vals[i] : NONE;
}

/* --- Message-IDs --- */

/* The msg-ids "<...>" in a field, in order, malloc'd (without brackets).
 * At most `max`; when there are more, the last ones. */
static size_t parse_ids(const char *field, char **ids, size_t max)
{
	size_t n = 0;
	for (const char *p = field; p && (p = strchr(p, '<')) != NULL;) {
		const char *e = strchr(p + 1, '>');
		if (e == NULL)
			break;
		size_t len = (size_t)(e - p - 1);
		bool ok = len > 0 && len <= IMAP_THREAD_MAX_ID && memchr(p + 1, '<', len) == NULL;
		if (ok) {
			if (n == max) {
				free(ids[0]);
				memmove(ids, ids + 1, (max - 1) * sizeof(*ids));
				n--;
			}
			ids[n++] = xstrndup(p + 1, len);
		}
		p = ok ? e + 1 : p + 1;
	}
	return n;
}

struct idspace {
	struct tree *t;
	struct table ids;
	char **owned;		/* key strings to free at the end */
	size_t nowned, owned_cap;
};

/* The node of a Message-ID, a new dummy when unseen. Takes id. */
static int32_t node_for_id(struct idspace *sp, char *id)
{
	int32_t x = table_get(&sp->ids, id);
	if (x != NONE) {
		free(id);
		return x;
	}
	x = new_node(sp->t, NULL);
	sp->owned = xgrow(sp->owned, &sp->owned_cap, sp->nowned + 1, sizeof(*sp->owned));
	sp->owned[sp->nowned++] = id;
	table_put(&sp->ids, id, x);
	return x;
}

/* RFC 5256 REFERENCES step 1: containers and links from each message's
 * Message-ID, References and In-Reply-To. */
static void link_messages(struct tree *t, struct imap_sort_msg *msgs, size_t n)
{
	struct idspace sp = {.t = t};
	table_init(&sp.ids, n * 2, false);
	char **refs = xmalloc(IMAP_THREAD_MAX_REFS * sizeof(*refs));
	for (size_t i = 0; i < n; i++) {
		struct imap_sort_msg *m = &msgs[i];
		char *id = NULL;
		int32_t self;
		/* a missing, invalid or duplicate Message-ID gets a unique one */
		if (parse_ids(m->message_id, &id, 1) == 1) {
			self = node_for_id(&sp, id);
			if (t->nodes[self].m != NULL)
				self = new_node(t, m);
			t->nodes[self].m = m;
			t->nodes[self].date = m->date;
			t->nodes[self].idx = m->idx;
		} else {
			self = new_node(t, m);
		}
		size_t nrefs = parse_ids(m->references, refs, IMAP_THREAD_MAX_REFS);
		if (nrefs == 0)
			nrefs = parse_ids(m->in_reply_to, refs, 1);
		/* 1A: link the references in order, not overriding existing
		 * parents and never closing a loop */
		int32_t prev = NONE;
		for (size_t r = 0; r < nrefs; r++) {
			int32_t x = node_for_id(&sp, refs[r]);
			if (prev != NONE && t->nodes[x].parent == NONE && !is_above(t, x, prev))
				link_child(t, prev, x);
			prev = x;
		}
		/* 1B: the message's own last reference is its parent */
		unlink_child(t, self);
		if (prev != NONE && !is_above(t, self, prev))
			link_child(t, prev, self);
	}
	free(refs);
	for (size_t i = 0; i < sp.nowned; i++)
		free(sp.owned[i]);
	free(sp.owned);
	table_free(&sp.ids);
}

/* Step 4: drop dummies without children; replace a dummy by its children,
 * except at the root level when it has more than one. Breadth-first over
 * a work list: the pruned children of a list are examined in its place. */
static void prune(struct tree *t)
{
	int32_t *work = xmalloc(t->n * sizeof(*work));
	int32_t *level = xmalloc(t->n * sizeof(*level));
	int32_t *keep = xmalloc(t->n * sizeof(*keep));
	size_t nwork = 0;
	work[nwork++] = 0;
	while (nwork > 0) {
		int32_t p = work[--nwork];
		size_t nlevel = 0, head = 0;
		for (int32_t c = t->nodes[p].child; c != NONE; c = t->nodes[c].next)
			level[nlevel++] = c;
		t->nodes[p].child = NONE;
		size_t nkeep = 0;
		/* level grows at its end while dummies are spliced */
		while (head < nlevel) {
			int32_t c = level[head++];
			struct node *x = &t->nodes[c];
			if (x->m == NULL) {
				size_t kids = 0;
				for (int32_t k = x->child; k != NONE; k = t->nodes[k].next)
					kids++;
				if (kids == 0) {
					x->dead = true;
					continue;
				}
				if (p != 0 || kids == 1) {
					for (int32_t k = x->child; k != NONE; k = t->nodes[k].next)
						level[nlevel++] = k;
					x->dead = true;
					x->child = NONE;
					continue;
				}
			}
			keep[nkeep++] = c;
			work[nwork++] = c;
		}
		for (size_t k = nkeep; k-- > 0;) {
			t->nodes[keep[k]].next = NONE;
			link_child(t, p, keep[k]);
		}
	}
	free(keep);
	free(work);
	free(level);
}

/* A root dummy can end with fewer than two children when some of them
 * were dummies pruned away: then it goes, and an only child is promoted. */
static void fix_roots(struct tree *t)
{
	for (int32_t c = t->nodes[0].child, next; c != NONE; c = next) {
		next = t->nodes[c].next;
		struct node *x = &t->nodes[c];
		if (x->m != NULL || (x->child != NONE && t->nodes[x->child].next != NONE))
			continue;
		int32_t only = x->child;
		unlink_child(t, c);
		x->dead = true;
		if (only != NONE) {
			unlink_child(t, only);
			link_child(t, 0, only);
		}
	}
}

/* Sort one sibling list by (date, sequence). */
static int cmp_nodes(const void *x, const void *y, void *ctx)
{
	const struct tree *t = ctx;
	const struct node *a = &t->nodes[*(const int32_t *)x], *b = &t->nodes[*(const int32_t *)y];
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void sort_children(struct tree *t, int32_t p, int32_t *scratch)
{
	size_t k = 0;
	for (int32_t c = t->nodes[p].child; c != NONE; c = t->nodes[c].next)
		scratch[k++] = c;
	if (k < 2)
		return;
	qsort_r(scratch, k, sizeof(*scratch), cmp_nodes, t);
	t->nodes[p].child = NONE;
	while (k-- > 0) {
		t->nodes[scratch[k]].next = NONE;
		link_child(t, p, scratch[k]);
	}
}

/* Step 6 (also used before step 5 so a dummy's "first child" is the
 * earliest): every sibling list by sent date; a dummy sorts by its first
 * child. Dummies only remain at the root level, so one pass suffices. */
static void sort_tree(struct tree *t)
{
	int32_t *scratch = xmalloc(t->n * sizeof(*scratch));
	for (size_t i = 1; i < t->n; i++)
		if (!t->nodes[i].dead)
			sort_children(t, (int32_t)i, scratch);
	for (int32_t c = t->nodes[0].child; c != NONE; c = t->nodes[c].next)
		if (t->nodes[c].m == NULL && t->nodes[c].child != NONE) {
			t->nodes[c].date = t->nodes[t->nodes[c].child].date;
			t->nodes[c].idx = t->nodes[t->nodes[c].child].idx;
		}
	sort_children(t, 0, scratch);
	free(scratch);
}

static const struct imap_sort_msg *subject_msg(const struct tree *t, int32_t c)
{
	return t->nodes[c].m ? t->nodes[c].m : t->nodes[t->nodes[c].child].m;
}

/* Step 5: threads whose base subjects are equal are gathered. */
static void gather_subjects(struct tree *t)
{
	size_t nroots = 0;
	for (int32_t c = t->nodes[0].child; c != NONE; c = t->nodes[c].next)
		nroots++;
	int32_t *roots = xmalloc((nroots ? nroots : 1) * sizeof(*roots));
	size_t k = 0;
	for (int32_t c = t->nodes[0].child; c != NONE; c = t->nodes[c].next)
		roots[k++] = c;
	struct table subj;
	table_init(&subj, nroots, true);
	/* 5.B: one container per subject, preferring a dummy, then a
	 * message whose subject is not a reply */
	for (size_t i = 0; i < nroots; i++) {
		const struct imap_sort_msg *m = subject_msg(t, roots[i]);
		if (m->subject == NULL || m->subject[0] == '\0')
			continue;
		int32_t old = table_get(&subj, m->subject);
		if (old == NONE ||
		    (t->nodes[roots[i]].m == NULL && t->nodes[old].m != NULL) ||
		    (t->nodes[old].m != NULL && t->nodes[roots[i]].m != NULL &&
		     t->nodes[old].m->reply && !m->reply))
			table_put(&subj, m->subject, roots[i]);
	}
	/* 5.C: merge each root with the table's container for its subject */
	for (size_t i = 0; i < nroots; i++) {
		int32_t c = roots[i];
		if (t->nodes[c].parent != 0)	/* already merged elsewhere */
			continue;
		const struct imap_sort_msg *m = subject_msg(t, c);
		if (m->subject == NULL || m->subject[0] == '\0')
			continue;
		int32_t o = table_get(&subj, m->subject);
		if (o == NONE || o == c)
			continue;
		struct node *x = &t->nodes[c], *y = &t->nodes[o];
		if (x->m == NULL && y->m == NULL) {
			/* both dummies: the other takes this one's children */
			unlink_child(t, c);
			while (x->child != NONE) {
				int32_t k2 = x->child;
				unlink_child(t, k2);
				link_child(t, o, k2);
			}
			x->dead = true;
		} else if (y->m == NULL) {
			unlink_child(t, c);
			link_child(t, o, c);
		} else if (x->m == NULL) {
			unlink_child(t, o);
			link_child(t, c, o);
			table_put(&subj, m->subject, c);
		} else if (!y->m->reply && x->m->reply) {
			unlink_child(t, c);
			link_child(t, o, c);
		} else if (y->m->reply && !x->m->reply) {
			unlink_child(t, o);
			link_child(t, c, o);
			table_put(&subj, m->subject, c);
		} else {
			/* both replies or neither: siblings under a new dummy */
			int32_t d = new_node(t, NULL);
			unlink_child(t, c);
			unlink_child(t, o);
			link_child(t, 0, d);
			link_child(t, d, o);
			link_child(t, d, c);
			table_put(&subj, m->subject, d);
		}
	}
	table_free(&subj);
	free(roots);
}

/* --- ORDEREDSUBJECT --- */

static int cmp_ordered(const void *x, const void *y)
{
	const struct imap_sort_msg *a = x, *b = y;
	int c = base_subject_cmp(a->subject, b->subject);
	if (c != 0)
		return c;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* RFC 5256 ORDEREDSUBJECT: sorted by base subject then sent date; each
 * subject is one thread whose first message is the parent of the rest. */
static void build_ordered(struct tree *t, struct imap_sort_msg *msgs, size_t n)
{
	qsort(msgs, n, sizeof(*msgs), cmp_ordered);
	int32_t parent = NONE;
	for (size_t i = 0; i < n; i++) {
		int32_t x = new_node(t, &msgs[i]);
		if (i == 0 || base_subject_cmp(msgs[i - 1].subject, msgs[i].subject) != 0) {
			link_child(t, 0, x);
			parent = x;
		} else {
			link_child(t, parent, x);
		}
	}
}

/* --- output --- */

/* Numbers of a node and its only-child chain; returns the first child
 * of the node where the chain branches (its children are written as
 * nested lists), or NONE. */
static int32_t put_chain(const struct tree *t, int32_t x, bool uid, struct buf *b)
{
	bool first = true;
	for (;;) {
		const struct node *nd = &t->nodes[x];
		if (nd->m != NULL) {
			buf_printf(b, first ? "%u" : " %u", uid ? nd->m->uid : nd->m->idx + 1);
			first = false;
		}
		if (nd->child == NONE)
			return NONE;
		if (nd->m != NULL && t->nodes[nd->child].next == NONE) {
			x = nd->child;
			continue;
		}
		if (nd->m != NULL)
			buf_putc(b, ' ');
		return nd->child;
	}
}

static void put_threads(const struct tree *t, bool uid, struct buf *b)
{
	int32_t *stack = xmalloc((t->n ? t->n : 1) * sizeof(*stack));
	for (int32_t r = t->nodes[0].child; r != NONE; r = t->nodes[r].next) {
		size_t depth = 0;
		buf_putc(b, '(');
		int32_t c = put_chain(t, r, uid, b);
		if (c == NONE) {
			buf_putc(b, ')');
			continue;
		}
		/* stack[i]: the next sibling still to write as "(...)" at
		 * level i; NONE closes that level's list */
		stack[depth++] = c;
		while (depth > 0) {
			int32_t y = stack[depth - 1];
			if (y == NONE) {
				depth--;
				buf_putc(b, ')');
				continue;
			}
			stack[depth - 1] = t->nodes[y].next;
			buf_putc(b, '(');
			int32_t k = put_chain(t, y, uid, b);
			if (k == NONE)
				buf_putc(b, ')');
			else
				stack[depth++] = k;
		}
	}
	free(stack);
}

int imap_thread_alg_parse(const char *name, enum imap_thread_alg *alg_r)
{
	if (strcasecmp(name, "ORDEREDSUBJECT") == 0)
		*alg_r = IMAP_THREAD_ORDEREDSUBJECT;
	else if (strcasecmp(name, "REFERENCES") == 0)
		*alg_r = IMAP_THREAD_REFERENCES;
	else
		return -1;
	return 0;
}

unsigned imap_thread_needs(enum imap_thread_alg alg)
{
	return alg == IMAP_THREAD_REFERENCES ? IMAP_SORT_NEED_SUBJECT | IMAP_SORT_NEED_IDS
					     : IMAP_SORT_NEED_SUBJECT;
}

void imap_thread_format(enum imap_thread_alg alg, struct imap_sort_msg *msgs, size_t n, bool uid,
			struct buf *b)
{
	struct tree t = {0};
	new_node(&t, NULL);	/* 0: the virtual root */
	if (alg == IMAP_THREAD_ORDEREDSUBJECT) {
		build_ordered(&t, msgs, n);
		/* children by sent date, as they were sorted; threads by the
		 * sent date of their first message */
		sort_tree(&t);
	} else {
		link_messages(&t, msgs, n);
		/* step 2: the root set is every container without a parent */
		for (size_t i = 1; i < t.n; i++)
			if (t.nodes[i].parent == NONE)
				link_child(&t, 0, (int32_t)i);
		prune(&t);
		fix_roots(&t);
		sort_tree(&t);
		gather_subjects(&t);
		sort_tree(&t);
	}
	put_threads(&t, uid, b);
	free(t.nodes);
}
