/* imap-search: see imap-search.h. */
#include "imap/imap-search.h"
#include "imap/imap-condstore.h"
#include "imap/imap-date.h"
#include "imap/imap-objectid.h"
#include "imap/imap-search-text.h"
#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/workers.h"
#include "mail/address.h"
#include "mail/search-text.h"
#include "store/store-fts.h"
#include "store/store-imap.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum key_kind {
	K_ALL, K_NONE, K_FLAG, K_UNFLAG, K_KEYWORD, K_UNKEYWORD, K_RECENT, K_NEW, K_OLD,
	K_SET, K_UIDSET, K_NOT, K_OR, K_AND,
	K_LARGER, K_SMALLER, K_BEFORE, K_ON, K_SINCE,
	K_SENTBEFORE, K_SENTON, K_SENTSINCE,
	K_FIELD,	/* a header field the store indexes (row string) */
	K_HEADER,	/* any other header field: read the header */
	K_BODY, K_TEXT,
	K_MODSEQ,	/* RFC 7162 3.1.5 */
	K_YOUNGER, K_OLDER,	/* WITHIN (RFC 5032): seconds before now */
	K_SAVEDBEFORE, K_SAVEDON, K_SAVEDSINCE,	/* SAVEDATE (RFC 8514 4.2) */
	K_EMAILID, K_THREADID,	/* OBJECTID (RFC 8474 4.1, 5.1) */
};

/* What a key needs, cheapest first: AND lists are sorted by this. */
enum key_cost { COST_VIEW, COST_ROW, COST_HEADER, COST_BODY };

/* Store-indexed header fields (mime-index.h), by offset in the row. */
enum row_field { F_SUBJECT, F_FROM, F_TO, F_CC, F_BCC, F_MESSAGE_ID, F_IN_REPLY_TO, F_REFERENCES };

static const struct {
	const char *name;
	enum row_field field;
} row_fields[] = {
	{"subject", F_SUBJECT}, {"from", F_FROM}, {"to", F_TO}, {"cc", F_CC}, {"bcc", F_BCC},
	{"message-id", F_MESSAGE_ID}, {"in-reply-to", F_IN_REPLY_TO},
	{"references", F_REFERENCES},
};

struct key {
	enum key_kind kind;
	enum key_cost cost;
	uint32_t flag;
	char *str;		/* keyword, header field name */
	enum row_field field;
	struct imap_search_needle needle;
	int64_t num;
	struct imap_seqset set;
	struct key *a, *b;	/* NOT: a; OR: a, b; AND: a..., linked by next */
	struct key *next;
	/* BODY, TEXT, HEADER answered by the full-text index (store-fts.h):
	 * the matching UIDs, ascending, found once per run */
	bool indexed;
	uint32_t *hits;
	size_t nhits;
};

struct imap_search {
	struct key *root;
	enum key_cost cost;
	bool modseq;		/* a MODSEQ key: the reply tells (MODSEQ n) */
	bool keywords;		/* a KEYWORD key: the snapshot copies keywords */
	bool seqnums;		/* a message sequence set (not UID, not $) */
	/* MESSAGELIMIT (RFC 9738 3.1): messages below this UID are not
	 * searched (imap_search_limit) */
	uint32_t uid_floor;
};

struct parse {
	struct imap_session *s;
	const struct imap_arg *args;
	size_t n, i;
	size_t nkeys;
	bool modseq, keywords, seqnums;
	const char *error;
};

static void key_free(struct key *k)
{
	while (k != NULL) {
		struct key *next = k->next;
		free(k->str);
		free(k->hits);
		imap_search_needle_clear(&k->needle);
		imap_seqset_clear(&k->set);
		key_free(k->a);
		key_free(k->b);
		free(k);
		k = next;
	}
}

void imap_search_free(struct imap_search **search)
{
	if (*search == NULL)
		return;
	key_free((*search)->root);
	free(*search);
	*search = NULL;
}

/* Keys without arguments. NEW/OLD/RECENT use the session's \Recent
 * (imap-view.h); in rev2 nothing is recent. */
static const struct {
	const char *name;
	enum key_kind kind;
	uint32_t flag;
} plain_keys[] = {
	{"ALL", K_ALL, 0},
	{"ANSWERED", K_FLAG, STORE_FLAG_ANSWERED},   {"DELETED", K_FLAG, STORE_FLAG_DELETED},
	{"DRAFT", K_FLAG, STORE_FLAG_DRAFT},	     {"FLAGGED", K_FLAG, STORE_FLAG_FLAGGED},
	{"SEEN", K_FLAG, STORE_FLAG_SEEN},	     {"UNANSWERED", K_UNFLAG, STORE_FLAG_ANSWERED},
	{"UNDELETED", K_UNFLAG, STORE_FLAG_DELETED}, {"UNDRAFT", K_UNFLAG, STORE_FLAG_DRAFT},
	{"UNFLAGGED", K_UNFLAG, STORE_FLAG_FLAGGED}, {"UNSEEN", K_UNFLAG, STORE_FLAG_SEEN},
	{"NEW", K_NEW, 0},			     {"OLD", K_OLD, 0},
	{"RECENT", K_RECENT, 0},
};

static const struct {
	const char *name;
	enum key_kind kind;
	const char *field;	/* header field for FROM, TO, ... */
} string_keys[] = {
	{"SUBJECT", K_FIELD, "subject"}, {"FROM", K_FIELD, "from"}, {"TO", K_FIELD, "to"},
	{"CC", K_FIELD, "cc"},		 {"BCC", K_FIELD, "bcc"},   {"BODY", K_BODY, NULL},
	{"TEXT", K_TEXT, NULL},
};

static const struct {
	const char *name;
	enum key_kind kind;
} date_keys[] = {
	{"BEFORE", K_BEFORE},	      {"ON", K_ON},	    {"SINCE", K_SINCE},
	{"SENTBEFORE", K_SENTBEFORE}, {"SENTON", K_SENTON}, {"SENTSINCE", K_SENTSINCE},
	{"SAVEDBEFORE", K_SAVEDBEFORE}, {"SAVEDON", K_SAVEDON}, {"SAVEDSINCE", K_SAVEDSINCE},
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct key *parse_key(struct parse *p, int depth);

static const struct imap_arg *next_arg(struct parse *p, bool string)
{
	if (p->i >= p->n) {
		p->error = "Missing search argument";
		return NULL;
	}
	const struct imap_arg *a = &p->args[p->i++];
	if (string ? !imap_arg_is_astring(a) : a->type != IMAP_ARG_ATOM) {
		p->error = "Bad search argument";
		return NULL;
	}
	return a;
}

static struct key *new_key(struct parse *p, enum key_kind kind, enum key_cost cost)
{
	if (++p->nkeys > IMAP_SEARCH_MAX_KEYS) {
		p->error = "[LIMIT] Too many search keys";
		return NULL;
	}
	struct key *k = xcalloc(1, sizeof(*k));
	k->kind = kind;
	k->cost = cost;
	return k;
}

/* A list of keys ANDed (the top level or a parenthesized list), cheapest
 * first: AND has no order the client could see. */
static struct key *parse_and(struct parse *p, const struct imap_arg *args, size_t n, int depth)
{
	struct parse sub = *p;
	sub.args = args;
	sub.n = n;
	sub.i = 0;
	struct key *and = new_key(p, K_AND, COST_VIEW);
	if (and == NULL)
		return NULL;
	sub.nkeys = p->nkeys;
	struct key *by_cost[COST_BODY + 1] = {NULL}, **tails[COST_BODY + 1];
	for (int c = 0; c <= COST_BODY; c++)
		tails[c] = &by_cost[c];
	while (sub.i < sub.n) {
		struct key *k = parse_key(&sub, depth + 1);
		if (k == NULL) {
			p->error = sub.error;
			for (int c = 0; c <= COST_BODY; c++)
				key_free(by_cost[c]);
			key_free(and);
			return NULL;
		}
		*tails[k->cost] = k;
		tails[k->cost] = &k->next;
		if (k->cost > and->cost)
			and->cost = k->cost;
	}
	struct key **tail = &and->a;
	for (int c = 0; c <= COST_BODY; c++) {
		*tail = by_cost[c];
		if (by_cost[c] != NULL)
			tail = tails[c];
	}
	p->nkeys = sub.nkeys;
	p->modseq |= sub.modseq;
	p->keywords |= sub.keywords;
	p->seqnums |= sub.seqnums;
	return and;
}

static struct key *parse_set(struct parse *p, const char *str, bool uid)
{
	struct imap_view *v = p->s->view;
	struct key *k = new_key(p, uid ? K_UIDSET : K_SET, COST_VIEW);
	if (k == NULL)
		return NULL;
	if (imap_seqset_parse(str, uid ? imap_view_max_uid(v) : (uint32_t)v->count, &k->set) < 0) {
		key_free(k);
		p->error = uid ? "Bad UID set" : "Unknown search key";
		return NULL;
	}
	if (k->set.saved) {
		/* "$" (RFC 5182 2.1): the saved result, always UIDs */
		imap_seqset_clear(&k->set);
		imap_view_saved_set(v, &k->set);
		k->kind = K_UIDSET;
	} else if (!uid) {
		p->seqnums = true;
	}
	return k;
}

static struct key *parse_key(struct parse *p, int depth)
{
	if (depth > IMAP_SEARCH_MAX_DEPTH) {
		p->error = "Search keys nested too deeply";
		return NULL;
	}
	if (p->i >= p->n) {
		p->error = "Missing search key";
		return NULL;
	}
	const struct imap_arg *a = &p->args[p->i++];
	struct key *k;
	if (a->type == IMAP_ARG_LIST) {
		if (a->count == 0) {
			p->error = "Empty search list";
			return NULL;
		}
		return parse_and(p, a->list, a->count, depth);
	}
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "Bad search key";
		return NULL;
	}
	const char *w = a->str;
	for (size_t j = 0; j < NELEMS(plain_keys); j++) {
		if (strcasecmp(w, plain_keys[j].name) == 0) {
			if ((k = new_key(p, plain_keys[j].kind, COST_VIEW)) != NULL)
				k->flag = plain_keys[j].flag;
			return k;
		}
	}
	for (size_t j = 0; j < NELEMS(string_keys); j++) {
		if (strcasecmp(w, string_keys[j].name) != 0)
			continue;
		const struct imap_arg *s = next_arg(p, true);
		enum key_kind kind = string_keys[j].kind;
		if (s == NULL ||
		    (k = new_key(p, kind, kind == K_FIELD ? COST_ROW : COST_BODY)) == NULL)
			return NULL;
		imap_search_needle_init(&k->needle, s->str, s->len);
		for (size_t f = 0; kind == K_FIELD && f < NELEMS(row_fields); f++)
			if (strcmp(row_fields[f].name, string_keys[j].field) == 0)
				k->field = row_fields[f].field;
		return k;
	}
	for (size_t j = 0; j < NELEMS(date_keys); j++) {
		if (strcasecmp(w, date_keys[j].name) != 0)
			continue;
		const struct imap_arg *s = next_arg(p, true);
		int64_t t;
		if (s == NULL || imap_date_parse(s->str, &t) < 0) {
			p->error = "Bad date";
			return NULL;
		}
		enum key_kind kind = date_keys[j].kind;
		bool sent = kind == K_SENTBEFORE || kind == K_SENTON || kind == K_SENTSINCE;
		/* SAVED* (RFC 8514 4.2) compare the save date's day like
		 * BEFORE/ON/SINCE do the internal date's */
		if ((k = new_key(p, kind, sent ? COST_HEADER : COST_ROW)) == NULL)
			return NULL;
		k->num = t;
		return k;
	}
	if (strcasecmp(w, "SAVEDATESUPPORTED") == 0) {
		/* RFC 8514 4.2: all messages when the mailbox keeps save
		 * dates; every mailbox here does (messages.savedate). */
		return new_key(p, K_ALL, COST_VIEW);
	}
	if (strcasecmp(w, "EMAILID") == 0 || strcasecmp(w, "THREADID") == 0) {
		/* RFC 8474 4.1/5.1: objectid, 1*255 of ALPHA DIGIT "_" "-".
		 * An id that is not one of ours ("M<n>", "T<n>") matches
		 * nothing; that is not an error. */
		bool email = (w[0] | 0x20) == 'e';
		const struct imap_arg *s = next_arg(p, true);
		if (s == NULL || s->len == 0 || s->len > IMAP_OBJECTID_MAX ||
		    strspn(s->str, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789_-") != s->len) {
			p->error = "Bad object id";
			return NULL;
		}
		if ((k = new_key(p, email ? K_EMAILID : K_THREADID, COST_ROW)) == NULL)
			return NULL;
		int64_t id;
		k->num = imap_objectid_parse(s->str, email ? 'M' : 'T', &id) == 0 ? id : -1;
		return k;
	}
	if (strcasecmp(w, "KEYWORD") == 0 || strcasecmp(w, "UNKEYWORD") == 0) {
		const struct imap_arg *s = next_arg(p, false);
		if (s == NULL || (k = new_key(p, (w[0] | 0x20) == 'k' ? K_KEYWORD : K_UNKEYWORD,
					      COST_VIEW)) == NULL)
			return NULL;
		k->str = xstrdup(s->str);
		p->keywords = true;
		return k;
	}
	if (strcasecmp(w, "MODSEQ") == 0) {
		/* RFC 7162 3.1.5: MODSEQ [entry-name entry-type-req] value.
		 * Per-flag mod-sequences are not kept, so an entry is
		 * checked for syntax and the message's MODSEQ is used. */
		const struct imap_arg *s = next_arg(p, true);
		if (s != NULL && s->type != IMAP_ARG_ATOM) {
			const struct imap_arg *type = next_arg(p, false);
			if (type == NULL || (!imap_arg_is_atom(type, "priv") &&
					     !imap_arg_is_atom(type, "shared") &&
					     !imap_arg_is_atom(type, "all"))) {
				p->error = "Bad MODSEQ entry type";
				return NULL;
			}
			s = next_arg(p, false);
		}
		uint64_t n;
		if (s == NULL || imap_modseq_parse(s, true, &n) < 0) {
			p->error = "MODSEQ needs a mod-sequence value below 2^63";
			return NULL;
		}
		if ((k = new_key(p, K_MODSEQ, COST_VIEW)) == NULL)
			return NULL;
		k->num = (int64_t)n;
		p->modseq = true;
		imap_condstore_enable(p->s);
		return k;
	}
	if (strcasecmp(w, "UIDAFTER") == 0 || strcasecmp(w, "UIDBEFORE") == 0) {
		/* RFC 9738 3.2: UIDAFTER n is UID n+1:*, UIDBEFORE n is UID
		 * 1:n-1; n is one nz-number UID */
		const struct imap_arg *s = next_arg(p, false);
		uint64_t n;
		if (s == NULL || imap_parse_number(s->str, UINT32_MAX, &n) < 0 || n == 0) {
			p->error = "UIDAFTER and UIDBEFORE need a UID";
			return NULL;
		}
		if ((k = new_key(p, K_UIDSET, COST_VIEW)) == NULL)
			return NULL;
		bool after = (w[3] | 0x20) == 'a';
		if (after && n < UINT32_MAX)
			imap_seqset_add(&k->set, (uint32_t)n + 1, UINT32_MAX);
		else if (!after && n > 1)
			imap_seqset_add(&k->set, 1, (uint32_t)n - 1);
		return k;
	}
	if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
		const struct imap_arg *s = next_arg(p, false);
		uint64_t n;
		/* number64 in rev2 (RFC 9051 9) */
		if (s == NULL || imap_parse_number(s->str, INT64_MAX, &n) < 0) {
			p->error = "Bad size";
			return NULL;
		}
		if ((k = new_key(p, (w[0] | 0x20) == 'l' ? K_LARGER : K_SMALLER, COST_ROW)) == NULL)
			return NULL;
		k->num = (int64_t)n;
		return k;
	}
	if (strcasecmp(w, "HEADER") == 0) {
		const struct imap_arg *f = next_arg(p, true), *s = f ? next_arg(p, true) : NULL;
		if (s == NULL)
			return NULL;
		if (f->len == 0 || strlen(f->str) != f->len) {
			p->error = "Bad header field name";
			return NULL;
		}
		if ((k = new_key(p, K_HEADER, COST_HEADER)) == NULL)
			return NULL;
		for (size_t j = 0; j < NELEMS(row_fields); j++) {
			if (strcasecmp(f->str, row_fields[j].name) == 0) {
				k->kind = K_FIELD;
				k->cost = COST_ROW;
				k->field = row_fields[j].field;
			}
		}
		/* folded like the header text it is compared with */
		size_t flen;
		k->str = search_text_fold(f->str, f->len, &flen);
		imap_search_needle_init(&k->needle, s->str, s->len);
		return k;
	}
	if (strcasecmp(w, "YOUNGER") == 0 || strcasecmp(w, "OLDER") == 0) {
		/* RFC 5032 3: an interval in seconds, nz-number */
		const struct imap_arg *s = next_arg(p, false);
		uint64_t n;
		if (s == NULL || imap_parse_number(s->str, UINT32_MAX, &n) < 0 || n == 0) {
			p->error = "Bad interval";
			return NULL;
		}
		if ((k = new_key(p, (w[0] | 0x20) == 'y' ? K_YOUNGER : K_OLDER, COST_ROW)) == NULL)
			return NULL;
		k->num = (int64_t)time(NULL) - (int64_t)n;	/* the cutoff */
		return k;
	}
	if (strcasecmp(w, "NOT") == 0) {
		struct key *x = parse_key(p, depth + 1);
		if (x == NULL || (k = new_key(p, K_NOT, x->cost)) == NULL) {
			key_free(x);
			return NULL;
		}
		k->a = x;
		return k;
	}
	if (strcasecmp(w, "OR") == 0) {
		struct key *x = parse_key(p, depth + 1);
		struct key *y = x ? parse_key(p, depth + 1) : NULL;
		if (y == NULL || (k = new_key(p, K_OR, x->cost > y->cost ? x->cost : y->cost)) == NULL) {
			key_free(x);
			key_free(y);
			return NULL;
		}
		k->a = x;
		k->b = y;
		return k;
	}
	if (strcasecmp(w, "UID") == 0) {
		a = next_arg(p, false);
		return a == NULL ? NULL : parse_set(p, a->str, true);
	}
	return parse_set(p, w, false);
}

int imap_search_parse(struct imap_session *s, const struct imap_arg *args, size_t n,
		      struct imap_search **search_r, const char **error_r)
{
	struct parse p = {.s = s};
	if (n == 0) {
		*error_r = "Missing search keys";
		return -1;
	}
	struct key *root = parse_and(&p, args, n, 0);
	if (root == NULL) {
		*error_r = p.error != NULL ? p.error : "Bad search";
		return -1;
	}
	struct imap_search *search = xcalloc(1, sizeof(*search));
	search->root = root;
	search->cost = root->cost;
	search->modseq = p.modseq;
	search->keywords = p.keywords;
	search->seqnums = p.seqnums;
	*search_r = search;
	return 0;
}

/* --- evaluation --- */

/* What a worker thread sees of the view: a copy made on the loop, so the
 * session may change or go while the search runs. */
struct imap_search_snap {
	struct store *store;
	int64_t account_id, mailbox_id;	/* every read carries the account */
	struct imap_view_msg *msgs;	/* keywords copied only when a key needs them */
	size_t count;
};

struct imap_search_snap *imap_search_snap_new(struct imap_session *s,
					      const struct imap_search *search)
{
	const struct imap_view *v = s->view;
	struct imap_search_snap *snap = xcalloc(1, sizeof(*snap));
	snap->store = s->srv->store;
	snap->account_id = s->account_id;
	snap->mailbox_id = v->mailbox_id;
	snap->count = v->count;
	snap->msgs = xmalloc((v->count ? v->count : 1) * sizeof(*snap->msgs));
	memcpy(snap->msgs, v->msgs, v->count * sizeof(*snap->msgs));
	for (size_t i = 0; i < v->count; i++)
		snap->msgs[i].keywords = search->keywords && v->msgs[i].keywords != NULL
						 ? xstrdup(v->msgs[i].keywords)
						 : NULL;
	return snap;
}

struct imap_search_snap *imap_search_snap_subset(struct imap_session *s,
						 const struct imap_search *search,
						 const uint32_t *idx, size_t n)
{
	const struct imap_view *v = s->view;
	struct imap_search_snap *snap = xcalloc(1, sizeof(*snap));
	snap->store = s->srv->store;
	snap->account_id = s->account_id;
	snap->mailbox_id = v->mailbox_id;
	snap->count = n;
	snap->msgs = xmalloc((n ? n : 1) * sizeof(*snap->msgs));
	for (size_t i = 0; i < n; i++) {
		snap->msgs[i] = v->msgs[idx[i]];
		snap->msgs[i].keywords = search->keywords && v->msgs[idx[i]].keywords != NULL
						 ? xstrdup(v->msgs[idx[i]].keywords)
						 : NULL;
	}
	return snap;
}

void imap_search_snap_free(struct imap_search_snap **snap)
{
	if (*snap == NULL)
		return;
	for (size_t i = 0; i < (*snap)->count; i++)
		free((*snap)->msgs[i].keywords);
	free((*snap)->msgs);
	free(*snap);
	*snap = NULL;
}

struct store *imap_search_snap_store(const struct imap_search_snap *snap)
{
	return snap->store;
}

int64_t imap_search_snap_account(const struct imap_search_snap *snap)
{
	return snap->account_id;
}

int64_t imap_search_snap_mailbox(const struct imap_search_snap *snap)
{
	return snap->mailbox_id;
}

/* The full-text index for one run: on (search.fts), and the messages
 * whose content it does not hold yet (read from their files instead). */
struct fts_state {
	bool on;
	uint32_t *unindexed;
	size_t nunindexed;
};

/* One message being tested; what is read for it is read once. */
struct msg {
	const struct imap_search_snap *snap;
	const struct imap_view_msg *vm;
	uint32_t seq;
	const struct store_imap_search_row *row;	/* NULL: gone from the store */
	const struct fts_state *fts;
	enum store_err *read_err;	/* the run's: a failed read fails SEARCH */
	bool header_read, data_read, data_ok, text_header, text_body;
	char *header;		/* raw header block (prefix + top header) */
	size_t header_len;
	char *data, *parts;	/* the message file and its part map */
	size_t len, prefix_len;
	struct search_text text;	/* read from the message, without an index */
};

static void msg_clear(struct msg *m)
{
	free(m->header);
	free(m->data);
	free(m->parts);
	search_text_clear(&m->text);
}

static bool read_header(struct msg *m)
{
	if (!m->header_read) {
		m->header_read = true;
		enum store_err err = m->row == NULL ? STORE_ENOTFOUND :
			store_imap_message_header(m->snap->store, m->snap->account_id,
						  m->snap->mailbox_id, m->vm->uid, &m->header,
						  &m->header_len);
		if (err != STORE_OK)
			m->header = NULL;
		/* expunged meanwhile: no match; any other failure is not an answer */
		if (err != STORE_OK && err != STORE_ENOTFOUND)
			*m->read_err = err;
	}
	return m->header != NULL;
}

/* The message's search text made from its file, the way the index makes
 * it at store time (mail/search-text.h), only the halves the key needs
 * (a BODY search never builds header text): false when it cannot be read
 * (expunged meanwhile), and then no text key matches. */
static bool read_text(struct msg *m, bool header, bool body)
{
	if (!m->data_read) {
		m->data_read = true;
		enum store_err err = store_imap_message_text(m->snap->store, m->snap->account_id,
							     m->snap->mailbox_id, m->vm->uid,
							     &m->data, &m->len, &m->prefix_len,
							     &m->parts);
		/* expunged meanwhile: no match; any other failure is not an answer */
		if (err != STORE_OK && err != STORE_ENOTFOUND)
			*m->read_err = err;
		m->data_ok = err == STORE_OK;
	}
	if (!m->data_ok)
		return false;
	if (header && !m->text_header) {
		m->text_header = true;
		search_text_build_header(&m->text, m->data, m->prefix_len, m->data + m->prefix_len,
					 m->len - m->prefix_len);
	}
	if (body && !m->text_body) {
		m->text_body = true;
		search_text_build_body(&m->text, m->data + m->prefix_len, m->len - m->prefix_len,
				       m->parts != NULL ? m->parts : "");
	}
	return true;
}

/* Does the index answer for this key and message (its content indexed)? */
static bool by_index(const struct key *k, const struct msg *m)
{
	return m->fts->on && k->indexed && !imap_uids_contain(m->fts->unindexed, m->fts->nunindexed, m->vm->uid);
}

static bool text_key(const struct key *k, struct msg *m)
{
	if (by_index(k, m))
		return imap_uids_contain(k->hits, k->nhits, m->vm->uid);
	if (!read_text(m, k->kind != K_BODY, k->kind != K_HEADER))
		return false;
	const struct search_text *t = &m->text;
	const char *n = k->needle.folded;
	size_t nl = k->needle.flen;
	switch (k->kind) {
	case K_BODY: return search_text_find(t->body, t->body_len, n, nl);
	case K_TEXT:
		return search_text_find(t->prefix, t->prefix_len, n, nl) ||
		       search_text_find(t->header, t->header_len, n, nl) ||
		       search_text_find(t->body, t->body_len, n, nl);
	case K_HEADER:
		return search_text_header_find(t->prefix, t->prefix_len, k->str, n, nl) ||
		       search_text_header_find(t->header, t->header_len, k->str, n, nl);
	default: return false;
	}
}

static bool has_keyword(const char *list, const char *kw)
{
	size_t n = strlen(kw);
	for (const char *p = list; p && *p;) {
		const char *sp = strchr(p, ' ');
		size_t l = sp ? (size_t)(sp - p) : strlen(p);
		if (l == n && strncasecmp(p, kw, n) == 0)
			return true;
		p = sp ? sp + 1 : NULL;
	}
	return false;
}

static int64_t day_of(int64_t t)
{
	return t - (t % 86400 + 86400) % 86400;
}

/* SENT* compare the Date: field's own calendar day, "disregarding time
 * and timezone" (RFC 9051 6.4.4); without a usable Date: field, the
 * internal date stands in. */
static bool sent_day(struct msg *m, int64_t *day_r)
{
	if (m->row == NULL)
		return false;
	if (m->row->date == 0) {
		*day_r = day_of(m->row->internaldate);
		return true;
	}
	int64_t zone = read_header(m) ? imap_search_date_zone(m->header, m->header_len) : 0;
	*day_r = day_of(m->row->date + zone);
	return true;
}

static const char *row_field(const struct store_imap_search_row *r, enum row_field f)
{
	switch (f) {
	case F_SUBJECT: return r->subject;
	case F_FROM: return r->from;
	case F_TO: return r->to;
	case F_CC: return r->cc;
	case F_BCC: return r->bcc;
	case F_MESSAGE_ID: return r->message_id;
	case F_IN_REPLY_TO: return r->in_reply_to;
	case F_REFERENCES: return r->references;
	}
	return NULL;
}

/* SEARCH FROM/TO/CC/BCC: the field's text, or else its addresses without
 * their comments ("<user (c)@ (c) example.com>" holds "user@example.com",
 * RFC 5322 3.2.2: comments are not part of the address). */
static bool field_contains(const char *text, enum row_field f,
			   const struct imap_search_needle *needle)
{
	if (imap_search_str_contains(text, needle))
		return true;
	if (text == NULL || (f != F_FROM && f != F_TO && f != F_CC && f != F_BCC))
		return false;
	char *plain = address_strip_comments(text);
	bool hit = plain != NULL && imap_search_str_contains(plain, needle);
	free(plain);
	return hit;
}

static bool eval(const struct key *k, struct msg *m)
{
	int64_t day;
	switch (k->kind) {
	case K_ALL: return true;
	case K_NONE: return false;
	case K_FLAG: return (m->vm->flags & k->flag) != 0;
	case K_UNFLAG: return (m->vm->flags & k->flag) == 0;
	case K_KEYWORD: return has_keyword(m->vm->keywords, k->str);
	case K_UNKEYWORD: return !has_keyword(m->vm->keywords, k->str);
	case K_RECENT: return m->vm->recent;
	case K_NEW: return m->vm->recent && (m->vm->flags & STORE_FLAG_SEEN) == 0;
	case K_OLD: return !m->vm->recent;
	case K_SET: return imap_seqset_contains(&k->set, m->seq);
	case K_UIDSET: return imap_seqset_contains(&k->set, m->vm->uid);
	case K_NOT: return !eval(k->a, m);
	case K_OR: return eval(k->a, m) || eval(k->b, m);
	case K_AND:
		for (const struct key *x = k->a; x; x = x->next)
			if (!eval(x, m))
				return false;
		return true;
	case K_MODSEQ: return m->vm->modseq >= (uint64_t)k->num;
	case K_LARGER: return m->row && m->row->size > k->num;
	case K_SMALLER: return m->row && m->row->size < k->num;
	case K_BEFORE: return m->row && day_of(m->row->internaldate) < k->num;
	case K_ON: return m->row && day_of(m->row->internaldate) == k->num;
	case K_SINCE: return m->row && day_of(m->row->internaldate) >= k->num;
	case K_SENTBEFORE: return sent_day(m, &day) && day < k->num;
	case K_SENTON: return sent_day(m, &day) && day == k->num;
	case K_SENTSINCE: return sent_day(m, &day) && day >= k->num;
	case K_FIELD:
		/* an empty string matches every message that has the field
		 * (RFC 9051 6.4.4 HEADER) */
		return m->row && field_contains(row_field(m->row, k->field), k->field, &k->needle);
	case K_SAVEDBEFORE: return m->row && day_of(m->row->savedate) < k->num;
	case K_SAVEDON: return m->row && day_of(m->row->savedate) == k->num;
	case K_SAVEDSINCE: return m->row && day_of(m->row->savedate) >= k->num;
	case K_EMAILID: return m->row && k->num > 0 && m->row->emailid == k->num;
	case K_THREADID: return m->row && k->num > 0 && m->row->threadid == k->num;
	case K_YOUNGER: return m->row && m->row->internaldate >= k->num;
	case K_OLDER: return m->row && m->row->internaldate < k->num;
	case K_HEADER:
	case K_BODY:
	case K_TEXT: return text_key(k, m);
	}
	return false;
}

struct run {
	const struct imap_search_snap *snap;
	const struct key *root;
	const struct fts_state *fts;
	size_t next;		/* next snapshot index to evaluate */
	uint32_t uid_floor;	/* imap_search_limit */
	uint32_t *hits;		/* UIDs */
	size_t nhits;
	enum store_err read_err;	/* a message could not be read (not: expunged) */
};

static void test_one(struct run *r, const struct store_imap_search_row *row)
{
	struct msg m = {.snap = r->snap, .vm = &r->snap->msgs[r->next],
			.seq = (uint32_t)r->next + 1, .row = row, .fts = r->fts,
			.read_err = &r->read_err};
	if (m.vm->uid >= r->uid_floor && eval(r->root, &m))
		r->hits[r->nhits++] = m.vm->uid;
	msg_clear(&m);
	r->next++;
}

static int on_row(void *ctx, const struct store_imap_search_row *row)
{
	struct run *r = ctx;
	/* view messages the store no longer has (expunges not yet told to
	 * the client) are still searched, with what the view knows */
	while (r->next < r->snap->count && r->snap->msgs[r->next].uid < row->uid)
		test_one(r, NULL);
	if (r->next < r->snap->count && r->snap->msgs[r->next].uid == row->uid)
		test_one(r, row);
	return 0;
}

static bool is_text_key(const struct key *k)
{
	return k->kind == K_BODY || k->kind == K_TEXT || k->kind == K_HEADER;
}

/* Does any key need the store's message rows? (Text keys do not: the
 * index answers them, or the message is read.) */
static bool need_rows(const struct key *k)
{
	for (; k != NULL; k = k->next) {
		if (k->kind == K_AND || k->kind == K_OR || k->kind == K_NOT) {
			if (need_rows(k->a) || need_rows(k->b))
				return true;
		} else if (!is_text_key(k) && k->cost > COST_VIEW) {
			return true;
		}
	}
	return false;
}

/* Ask the index once per text key. */
static int fts_lookup(const struct imap_search_snap *snap, struct key *k)
{
	for (; k != NULL; k = k->next) {
		if (fts_lookup(snap, k->a) < 0 || fts_lookup(snap, k->b) < 0)
			return -1;
		if (!is_text_key(k))
			continue;
		enum store_fts_scope scope = k->kind == K_BODY   ? STORE_FTS_BODY
					     : k->kind == K_TEXT ? STORE_FTS_TEXT
								 : STORE_FTS_HEADER;
		free(k->hits);
		k->hits = NULL;
		if (store_fts_search(snap->store, snap->account_id, snap->mailbox_id, scope, k->str,
				     k->needle.folded, k->needle.flen, &k->hits,
				     &k->nhits) != STORE_OK)
			return -1;
		k->indexed = true;
	}
	return 0;
}

int imap_search_run_snap(const struct imap_search_snap *snap, const struct imap_search *search,
			 uint32_t **uids_r, size_t *n_r)
{
	struct fts_state fts = {.on = store_fts_enabled(snap->store) && snap->count > 0};
	if (fts.on && (store_fts_unindexed(snap->store, snap->account_id, snap->mailbox_id,
					   &fts.unindexed,
					   &fts.nunindexed) != STORE_OK ||
		       fts_lookup(snap, search->root) < 0))
		fts.on = false;	/* the messages themselves still answer */
	struct run r = {.snap = snap, .root = search->root, .fts = &fts,
			.uid_floor = search->uid_floor};
	r.hits = xmalloc((snap->count ? snap->count : 1) * sizeof(*r.hits));
	if (need_rows(search->root) && snap->count > 0 &&
	    store_imap_search_rows(snap->store, snap->account_id, snap->mailbox_id,
				   snap->msgs[0].uid, snap->msgs[snap->count - 1].uid, on_row,
				   &r) != STORE_OK) {
		free(r.hits);
		free(fts.unindexed);
		return -1;
	}
	while (r.next < snap->count)
		test_one(&r, NULL);
	free(fts.unindexed);
	if (r.read_err != STORE_OK) {
		free(r.hits);
		return -1;
	}
	*uids_r = r.hits;
	*n_r = r.nhits;
	return 0;
}

/* --- running on a worker --- */

struct offload {
	struct imap_cmd *cmd;
	struct imap_session *s;
	imap_offload_work_fn *work;
	imap_offload_done_fn *done;
	imap_offload_free_fn *free_ctx;
	void *ctx;
};

static void offload_work(void *arg)
{
	struct offload *o = arg;
	o->work(o->ctx);
}

static void offload_done(void *arg)
{
	struct offload *o = arg;
	/* the reference kept the session (and its command) alive; when the
	 * client left meanwhile there is no one to answer */
	if (imap_session_unref(o->s))
		o->done(o->cmd, o->ctx);
	o->free_ctx(o->ctx);
	free(o);
}

bool imap_search_is_heavy(const struct imap_search *search, const struct imap_view *v)
{
	return search->cost >= COST_HEADER || v->count > IMAP_SEARCH_INLINE_MAX;
}

void imap_cmd_offload(struct imap_cmd *cmd, bool heavy, imap_offload_work_fn *work,
		      imap_offload_done_fn *done, imap_offload_free_fn *free_ctx, void *ctx)
{
	if (!heavy) {
		/* a thread hop would cost more than the work */
		work(ctx);
		done(cmd, ctx);
		free_ctx(ctx);
		return;
	}
	struct offload *o = xcalloc(1, sizeof(*o));
	o->cmd = cmd;
	o->s = cmd->s;
	o->work = work;
	o->done = done;
	o->free_ctx = free_ctx;
	o->ctx = ctx;
	imap_session_ref(cmd->s);
	/* keyed by account: one account's searches do not queue in front of
	 * every other account's (lib/workers.h) */
	workers_submit_read((uint64_t)cmd->s->account_id, offload_work, offload_done, o);
}

bool imap_search_uses_modseq(const struct imap_search *search)
{
	return search->modseq;
}

bool imap_search_uses_seqnums(const struct imap_search *search)
{
	return search->seqnums;
}

bool imap_search_reads_content(const struct imap_search *search)
{
	return search->cost >= COST_HEADER;
}

/* Does the message pass the keys at the top level (and in parenthesized
 * lists there) that name messages: sequence sets, UID sets, "$",
 * UIDAFTER, UIDBEFORE? Every match must. */
static bool candidate(const struct key *and, const struct imap_view *v, size_t i)
{
	for (const struct key *k = and->a; k != NULL; k = k->next) {
		if ((k->kind == K_SET && !imap_seqset_contains(&k->set, (uint32_t)i + 1)) ||
		    (k->kind == K_UIDSET && !imap_seqset_contains(&k->set, v->msgs[i].uid)) ||
		    (k->kind == K_AND && !candidate(k, v, i)))
			return false;
	}
	return true;
}

uint32_t imap_search_limit(struct imap_search *search, const struct imap_view *v, uint32_t limit)
{
	if (limit == 0 || v->count <= limit)
		return 0;
	/* from the highest UID down: the limit-th candidate is the floor */
	uint32_t floor = 0;
	size_t seen = 0;
	for (size_t i = v->count; i-- > 0;) {
		if (!candidate(search->root, v, i))
			continue;
		if (++seen == limit)
			floor = v->msgs[i].uid;
		else if (seen > limit) {
			search->uid_floor = floor;
			return floor;
		}
	}
	return 0;
}
