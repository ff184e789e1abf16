/*
 * SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4) with ESEARCH
 * return options (RFC 4731; the rev2 default answer). Keys are parsed into
 * a tree (depth-limited: "NOT NOT NOT ..." or deep parentheses get BAD),
 * then evaluated per message: flags from the view, dates and sizes from
 * the store's message rows, header fields from the store-time index, and
 * BODY/TEXT by scanning the message (issue 6 adds a full-text index).
 */
#include "imap/imap-commands.h"
#include "imap/imap-date.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store-imap.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_MAX_DEPTH 64
#define SEARCH_MAX_KEYS 10000

enum key_kind {
	K_ALL, K_FLAG, K_UNFLAG, K_KEYWORD, K_UNKEYWORD, K_NONE, K_SEQ, K_UID, K_NOT, K_OR, K_AND,
	K_LARGER, K_SMALLER, K_BEFORE, K_ON, K_SINCE, K_SENTBEFORE, K_SENTON, K_SENTSINCE,
	K_HEADER, K_BODY, K_TEXT,
	K_RECENT, K_NEW, K_OLD,	/* rev1 \Recent (imap_view_msg.recent) */
};

struct key {
	enum key_kind kind;
	uint32_t flag;
	char *str, *field;
	int64_t num;
	struct imap_seqset set;
	struct key *a, *b;	/* NOT: a; OR: a, b; AND: a..., linked by next */
	struct key *next;
};

struct parse {
	struct imap_session *s;
	const struct imap_arg *args;
	size_t n, i;
	size_t nkeys;
	const char *error;
	bool need_meta, need_index, need_content;
};

static void key_free(struct key *k)
{
	while (k != NULL) {
		struct key *next = k->next;
		free(k->str);
		free(k->field);
		imap_seqset_clear(&k->set);
		key_free(k->a);
		key_free(k->b);
		free(k);
		k = next;
	}
}

static const struct {
	const char *name;
	enum key_kind kind;
	uint32_t flag;
} flag_keys[] = {
	{"ANSWERED", K_FLAG, STORE_FLAG_ANSWERED},   {"DELETED", K_FLAG, STORE_FLAG_DELETED},
	{"DRAFT", K_FLAG, STORE_FLAG_DRAFT},	     {"FLAGGED", K_FLAG, STORE_FLAG_FLAGGED},
	{"SEEN", K_FLAG, STORE_FLAG_SEEN},	     {"UNANSWERED", K_UNFLAG, STORE_FLAG_ANSWERED},
	{"UNDELETED", K_UNFLAG, STORE_FLAG_DELETED}, {"UNDRAFT", K_UNFLAG, STORE_FLAG_DRAFT},
	{"UNFLAGGED", K_UNFLAG, STORE_FLAG_FLAGGED}, {"UNSEEN", K_UNFLAG, STORE_FLAG_SEEN},
	{"NEW", K_NEW, 0},			     {"RECENT", K_RECENT, 0},
	{"OLD", K_OLD, 0},			     {"ALL", K_ALL, 0},
};

static const struct {
	const char *name;
	enum key_kind kind;
	const char *field;
} string_keys[] = {
	{"SUBJECT", K_HEADER, "subject"}, {"FROM", K_HEADER, "from"}, {"TO", K_HEADER, "to"},
	{"CC", K_HEADER, "cc"},		  {"BCC", K_HEADER, "bcc"},   {"BODY", K_BODY, NULL},
	{"TEXT", K_TEXT, NULL},
};

static const struct {
	const char *name;
	enum key_kind kind;
} date_keys[] = {
	{"BEFORE", K_BEFORE},	      {"ON", K_ON},	    {"SINCE", K_SINCE},
	{"SENTBEFORE", K_SENTBEFORE}, {"SENTON", K_SENTON}, {"SENTSINCE", K_SENTSINCE},
};

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

static struct key *new_key(struct parse *p, enum key_kind kind)
{
	if (++p->nkeys > SEARCH_MAX_KEYS) {
		p->error = "[LIMIT] Too many search keys";
		return NULL;
	}
	struct key *k = xcalloc(1, sizeof(*k));
	k->kind = kind;
	return k;
}

/* A list of keys ANDed: the top level or a parenthesized list. */
static struct key *parse_and(struct parse *p, const struct imap_arg *args, size_t n, int depth)
{
	struct parse sub = *p;
	sub.args = args;
	sub.n = n;
	sub.i = 0;
	struct key *and = new_key(p, K_AND), **tail = &and->a;
	if (and == NULL)
		return NULL;
	while (sub.i < sub.n) {
		struct key *k = parse_key(&sub, depth + 1);
		if (k == NULL) {
			p->error = sub.error;
			key_free(and);
			return NULL;
		}
		*tail = k;
		tail = &k->next;
	}
	p->nkeys = sub.nkeys;
	p->need_meta |= sub.need_meta;
	p->need_index |= sub.need_index;
	p->need_content |= sub.need_content;
	return and;
}

static struct key *parse_key(struct parse *p, int depth)
{
	if (depth > SEARCH_MAX_DEPTH) {
		p->error = "Search keys nested too deeply";
		return NULL;
	}
	if (p->i >= p->n) {
		p->error = "Missing search key";
		return NULL;
	}
	const struct imap_arg *a = &p->args[p->i++];
	struct imap_view *v = p->s->view;
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
	for (size_t j = 0; j < sizeof(flag_keys) / sizeof(flag_keys[0]); j++) {
		if (strcasecmp(w, flag_keys[j].name) == 0) {
			if ((k = new_key(p, flag_keys[j].kind)) != NULL)
				k->flag = flag_keys[j].flag;
			return k;
		}
	}
	for (size_t j = 0; j < sizeof(string_keys) / sizeof(string_keys[0]); j++) {
		if (strcasecmp(w, string_keys[j].name) == 0) {
			const struct imap_arg *s = next_arg(p, true);
			if (s == NULL || (k = new_key(p, string_keys[j].kind)) == NULL)
				return NULL;
			k->str = xstrdup(s->str);
			k->field = string_keys[j].field ? xstrdup(string_keys[j].field) : NULL;
			if (k->kind == K_HEADER)
				p->need_index = true;
			else
				p->need_content = true;
			return k;
		}
	}
	for (size_t j = 0; j < sizeof(date_keys) / sizeof(date_keys[0]); j++) {
		if (strcasecmp(w, date_keys[j].name) == 0) {
			const struct imap_arg *s = next_arg(p, true);
			int64_t t;
			if (s == NULL || imap_date_parse(s->str, &t) < 0) {
				p->error = "Bad date";
				return NULL;
			}
			if ((k = new_key(p, date_keys[j].kind)) == NULL)
				return NULL;
			k->num = t;
			if (k->kind >= K_SENTBEFORE)
				p->need_index = p->need_content = true;
			else
				p->need_meta = true;
			return k;
		}
	}
	if (strcasecmp(w, "KEYWORD") == 0 || strcasecmp(w, "UNKEYWORD") == 0) {
		const struct imap_arg *s = next_arg(p, false);
		if (s == NULL || (k = new_key(p, w[0] == 'K' || w[0] == 'k' ? K_KEYWORD : K_UNKEYWORD)) == NULL)
			return NULL;
		k->str = xstrdup(s->str);
		return k;
	}
	if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
		const struct imap_arg *s = next_arg(p, false);
		uint64_t n;
		if (s == NULL || imap_parse_number(s->str, UINT32_MAX, &n) < 0) {
			p->error = "Bad size";
			return NULL;
		}
		if ((k = new_key(p, (w[0] | 0x20) == 'l' ? K_LARGER : K_SMALLER)) == NULL)
			return NULL;
		k->num = (int64_t)n;
		p->need_meta = true;
		return k;
	}
	if (strcasecmp(w, "HEADER") == 0) {
		const struct imap_arg *f = next_arg(p, true), *s = f ? next_arg(p, true) : NULL;
		if (s == NULL || (k = new_key(p, K_HEADER)) == NULL)
			return NULL;
		k->field = xstrdup(f->str);
		k->str = xstrdup(s->str);
		p->need_index = p->need_content = true;
		return k;
	}
	if (strcasecmp(w, "NOT") == 0) {
		struct key *x = parse_key(p, depth + 1);
		if (x == NULL || (k = new_key(p, K_NOT)) == NULL) {
			key_free(x);
			return NULL;
		}
		k->a = x;
		return k;
	}
	if (strcasecmp(w, "OR") == 0) {
		struct key *x = parse_key(p, depth + 1);
		struct key *y = x ? parse_key(p, depth + 1) : NULL;
		if (y == NULL || (k = new_key(p, K_OR)) == NULL) {
			key_free(x);
			key_free(y);
			return NULL;
		}
		k->a = x;
		k->b = y;
		return k;
	}
	bool uid = strcasecmp(w, "UID") == 0;
	if (uid) {
		a = next_arg(p, false);
		if (a == NULL)
			return NULL;
	}
	k = new_key(p, uid ? K_UID : K_SEQ);
	if (k == NULL)
		return NULL;
	if (imap_seqset_parse(a->str, uid ? imap_view_max_uid(v) : (uint32_t)v->count, &k->set) < 0) {
		key_free(k);
		p->error = "Unknown search key";
		return NULL;
	}
	if (k->set.saved) {
		/* "$" (RFC 5182 2.1): the saved result, a set of UIDs */
		imap_view_saved_set(v, &k->set);
		k->kind = K_UID;
	}
	return k;
}

struct msgdata {
	const struct imap_view_msg *vm;
	uint32_t seq;
	const struct store_msg *meta;
	struct store_msg_index idx;
	bool have_idx;
	char *data;
	size_t len;
	bool have_data;
};

static bool contains_ci(const char *hay, size_t hlen, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0)
		return true;
	if (hay == NULL || hlen < n)
		return false;
	for (size_t i = 0; i + n <= hlen; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return true;
	return false;
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

/* Header field value from the raw header (for HEADER with other names). */
static bool header_search(const struct msgdata *m, const char *field, const char *needle)
{
	size_t flen = strlen(field);
	const char *d = m->data;
	size_t len = m->len;
	for (size_t i = 0; i < len;) {
		if (d[i] == '\r' || d[i] == '\n')
			break;
		size_t start = i;
		do {
			const char *nl = memchr(d + i, '\n', len - i);
			i = nl ? (size_t)(nl - d) + 1 : len;
		} while (i < len && (d[i] == ' ' || d[i] == '\t'));
		if (i - start > flen && strncasecmp(d + start, field, flen) == 0 && d[start + flen] == ':')
			if (contains_ci(d + start + flen + 1, i - start - flen - 1, needle))
				return true;
	}
	return false;
}

/* SENT* compare the Date: header's own calendar day, "disregarding time
 * and timezone" (RFC 9051 6.4.4): shift by the zone written in the field. */
static int64_t sent_day(const struct msgdata *m)
{
	int64_t t = m->idx.date;
	const char *d = m->data;
	for (size_t i = 0; m->have_data && i + 5 < m->len;) {
		if (d[i] == '\r' || d[i] == '\n')
			break;
		const char *nl = memchr(d + i, '\n', m->len - i);
		size_t end = nl ? (size_t)(nl - d) : m->len;
		if (strncasecmp(d + i, "Date:", 5) == 0) {
			for (size_t j = i + 5; j + 5 <= end; j++) {
				if ((d[j] == '+' || d[j] == '-') && j > 0 && d[j - 1] == ' ' &&
				    d[j + 1] >= '0' && d[j + 1] <= '9' && d[j + 2] >= '0' && d[j + 2] <= '9' &&
				    d[j + 3] >= '0' && d[j + 3] <= '9' && d[j + 4] >= '0' && d[j + 4] <= '9') {
					int64_t off = ((d[j + 1] - '0') * 10 + (d[j + 2] - '0')) * 3600 +
						      ((d[j + 3] - '0') * 10 + (d[j + 4] - '0')) * 60;
					t += d[j] == '+' ? off : -off;
					break;
				}
			}
			break;
		}
		i = end + 1;
	}
	return day_of(t);
}

static bool eval(const struct key *k, struct msgdata *m)
{
	switch (k->kind) {
	case K_ALL: return true;
	case K_NONE: return false;
	case K_FLAG: return (m->vm->flags & k->flag) != 0;
	case K_UNFLAG: return (m->vm->flags & k->flag) == 0;
	case K_KEYWORD: return has_keyword(m->vm->keywords, k->str);
	case K_UNKEYWORD: return !has_keyword(m->vm->keywords, k->str);
	case K_SEQ: return imap_seqset_contains(&k->set, m->seq);
	case K_UID: return imap_seqset_contains(&k->set, m->vm->uid);
	case K_NOT: return !eval(k->a, m);
	case K_OR: return eval(k->a, m) || eval(k->b, m);
	case K_AND:
		for (const struct key *x = k->a; x; x = x->next)
			if (!eval(x, m))
				return false;
		return true;
	case K_LARGER: return m->meta && m->meta->size > k->num;
	case K_SMALLER: return m->meta && m->meta->size < k->num;
	case K_BEFORE: return m->meta && day_of(m->meta->internaldate) < k->num;
	case K_ON: return m->meta && day_of(m->meta->internaldate) == k->num;
	case K_SINCE: return m->meta && day_of(m->meta->internaldate) >= k->num;
	case K_SENTBEFORE: return m->have_idx && m->idx.date && sent_day(m) < k->num;
	case K_SENTON: return m->have_idx && m->idx.date && sent_day(m) == k->num;
	case K_SENTSINCE: return m->have_idx && m->idx.date && sent_day(m) >= k->num;
	case K_HEADER: {
		const char *v = NULL;
		if (!m->have_idx)
			return false;
		if (strcasecmp(k->field, "subject") == 0) v = m->idx.subject;
		else if (strcasecmp(k->field, "from") == 0) v = m->idx.from;
		else if (strcasecmp(k->field, "to") == 0) v = m->idx.to;
		else if (strcasecmp(k->field, "cc") == 0) v = m->idx.cc;
		else if (strcasecmp(k->field, "bcc") == 0) v = m->idx.bcc;
		else if (strcasecmp(k->field, "message-id") == 0) v = m->idx.message_id;
		else if (strcasecmp(k->field, "in-reply-to") == 0) v = m->idx.in_reply_to;
		else if (strcasecmp(k->field, "references") == 0) v = m->idx.references;
		else return m->have_data && header_search(m, k->field, k->str);
		return v != NULL && contains_ci(v, strlen(v), k->str);
	}
	case K_BODY: {
		if (!m->have_data)
			return false;
		size_t off = m->idx.prefix_len;
		const char *sep = NULL;
		for (size_t i = off; i + 1 < m->len && sep == NULL; i++)
			if (m->data[i] == '\n' && (m->data[i + 1] == '\n' ||
						   (m->data[i + 1] == '\r' && i + 2 < m->len && m->data[i + 2] == '\n')))
				sep = m->data + i;
		size_t start = sep ? (size_t)(sep - m->data) : m->len;
		return contains_ci(m->data + start, m->len - start, k->str);
	}
	case K_TEXT: return m->have_data && contains_ci(m->data, m->len, k->str);
	case K_RECENT: return m->vm->recent;
	case K_NEW: return m->vm->recent && (m->vm->flags & STORE_FLAG_SEEN) == 0;
	case K_OLD: return !m->vm->recent;
	}
	return false;
}

/* RETURN (SAVE) (RFC 5182 2.1): with MIN and/or MAX only those are saved;
 * otherwise every match. Hits are UIDs or sequence numbers. */
static void save_result(struct imap_view *v, unsigned ret, const uint32_t *hits, size_t n,
			     bool uid)
{
	uint32_t pick[2];
	size_t np = 0;
	if ((ret & 12) == 0 && (ret & 3) != 0 && n > 0) {
		if (ret & 1)
			pick[np++] = hits[0];
		if ((ret & 2) && (np == 0 || hits[n - 1] != hits[0]))
			pick[np++] = hits[n - 1];
		hits = pick;
		n = np;
	}
	uint32_t *uids = xmalloc((n ? n : 1) * sizeof(*uids));
	for (size_t i = 0; i < n; i++)
		uids[i] = uid ? hits[i] : v->msgs[hits[i] - 1].uid;
	imap_view_save_result(v, uids, n);
	free(uids);
}

void cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	const struct imap_command_args *a = &cmd->a;
	size_t i = 0;
	bool esearch = s->rev2;
	unsigned ret = 0; /* 1 MIN, 2 MAX, 4 ALL, 8 COUNT, 16 SAVE (RFC 5182) */
	if (i + 1 < a->count && imap_arg_is_atom(&a->args[i], "RETURN") &&
	    a->args[i + 1].type == IMAP_ARG_LIST) {
		esearch = true;
		const struct imap_arg *r = &a->args[i + 1];
		for (size_t j = 0; j < r->count; j++) {
			if (imap_arg_is_atom(&r->list[j], "MIN")) ret |= 1;
			else if (imap_arg_is_atom(&r->list[j], "MAX")) ret |= 2;
			else if (imap_arg_is_atom(&r->list[j], "ALL")) ret |= 4;
			else if (imap_arg_is_atom(&r->list[j], "COUNT")) ret |= 8;
			else if (imap_arg_is_atom(&r->list[j], "SAVE")) ret |= 16;
			else {
				imap_cmd_bad(cmd, "Unknown RETURN option");
				return;
			}
		}
		i += 2;
	}
	/* RETURN (SAVE) alone: the result is only saved, no ESEARCH (RFC 5182 2.1) */
	bool save_only = ret == 16;
	if (ret == 0 || ret == 16)
		ret |= 4;
	/* RFC 5182 2.4: a SEARCH that fails leaves "$" empty */
	if (ret & 16)
		imap_view_save_result(v, NULL, 0);
	if (i + 1 < a->count && imap_arg_is_atom(&a->args[i], "CHARSET")) {
		const struct imap_arg *cs = &a->args[i + 1];
		if (!imap_arg_is_astring(cs) ||
		    (strcasecmp(cs->str, "UTF-8") != 0 && strcasecmp(cs->str, "US-ASCII") != 0)) {
			imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
			return;
		}
		i += 2;
	}
	if (i >= a->count) {
		imap_cmd_bad(cmd, "Missing search keys");
		return;
	}
	struct parse p = {.s = s};
	struct key *root = parse_and(&p, a->args + i, a->count - i, 0);
	if (root == NULL) {
		imap_cmd_bad(cmd, "%s", p.error ? p.error : "Bad search");
		return;
	}
	struct store_msg *meta = NULL;
	size_t nmeta = 0, mpos = 0;
	if (p.need_meta && v->count > 0 &&
	    store_imap_messages_range(s->srv->store, v->mailbox_id, v->msgs[0].uid,
				      imap_view_max_uid(v), &meta, &nmeta) != STORE_OK) {
		key_free(root);
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot read messages");
		return;
	}
	uint32_t *hits = xmalloc((v->count ? v->count : 1) * sizeof(uint32_t));
	size_t nhits = 0;
	for (size_t q = 0; q < v->count; q++) {
		struct msgdata m = {.vm = &v->msgs[q], .seq = (uint32_t)q + 1};
		if (p.need_meta) {
			while (mpos < nmeta && meta[mpos].uid < m.vm->uid)
				mpos++;
			if (mpos < nmeta && meta[mpos].uid == m.vm->uid)
				m.meta = &meta[mpos];
		}
		if (p.need_index || p.need_content)
			m.have_idx = store_message_index(s->srv->store, v->mailbox_id, m.vm->uid,
							 &m.idx) == STORE_OK;
		if (p.need_content)
			m.have_data = store_message_content(s->srv->store, v->mailbox_id, m.vm->uid,
							    &m.data, &m.len, NULL) == STORE_OK;
		if (eval(root, &m))
			hits[nhits++] = a->uid ? m.vm->uid : m.seq;
		free(m.data);
		if (m.have_idx)
			store_msg_index_clear(&m.idx);
	}
	key_free(root);
	store_msg_list_free(meta, nmeta);
	if (ret & 16)
		save_result(v, ret, hits, nhits, a->uid);
	struct buf b;
	buf_init(&b, SIZE_MAX);
	if (!esearch) {
		buf_puts(&b, "* SEARCH");
		for (size_t q = 0; q < nhits; q++)
			buf_printf(&b, " %u", hits[q]);
	} else {
		buf_puts(&b, "* ESEARCH (TAG ");
		imap_buf_string(&b, a->tag, strlen(a->tag));
		buf_putc(&b, ')');
		if (a->uid)
			buf_puts(&b, " UID");
		if ((ret & 1) && nhits)
			buf_printf(&b, " MIN %u", hits[0]);
		if ((ret & 2) && nhits)
			buf_printf(&b, " MAX %u", hits[nhits - 1]);
		if ((ret & 4) && nhits) {
			char *set = imap_seqset_format_list(hits, nhits);
			buf_printf(&b, " ALL %s", set);
			free(set);
		}
		if (ret & 8)
			buf_printf(&b, " COUNT %zu", nhits);
	}
	buf_puts(&b, "\r\n");
	if (!save_only)
		imap_write(s, b.data, b.len);
	buf_free(&b);
	free(hits);
	imap_cmd_ok(cmd, "SEARCH completed");
}
