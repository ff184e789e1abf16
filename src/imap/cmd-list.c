/*
 * LIST and LSUB (RFC 9051 6.3.9, RFC 3501 6.3.8/6.3.9) with LIST-EXTENDED
 * (RFC 5258): selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH,
 * SPECIAL-USE (RFC 6154); return options SUBSCRIBED, CHILDREN, SPECIAL-USE
 * and STATUS (LIST-STATUS, RFC 5819).
 *
 * The account's mailboxes are seen as a tree of nodes: every mailbox, plus
 * every "implied" parent that does not exist but has descendants (DELETE of
 * a parent leaves its children). An implied node is listed only when the
 * pattern matches it but none of its relevant descendants (RFC 3501 6.3.8:
 * "%" returns the levels of hierarchy it stops at); it is then \NonExistent
 * (RFC 5258 and RFC 9051), or \Noselect to a plain IMAP4rev1 LIST.
 * \HasChildren/\HasNoChildren always go out (RFC 9051 requires them).
 */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/mailbox-name.h"
#include "store/store.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_MAX_PATTERNS 32
/* A pattern longer than a name's maximum plus a wildcard per byte can
 * match nothing more: this also bounds the matcher's state to 1 Kbit. */
#define LIST_MAX_PATTERN_LEN 1024

struct list_opts {
	bool sel_subscribed, sel_special_use, sel_recursive;
	bool ret_subscribed, ret_special_use;
	unsigned status_items;
	bool lsub;
	bool extended;		/* RFC 5258 syntax used: \NonExistent, CHILDINFO */
};

/* --- pattern matching ---------------------------------------------------
 * '*' matches any run, '%' any run without '/' (RFC 9051 6.3.9). The
 * pattern is compiled to a bit-parallel NFA: bit j set = "the first j
 * pattern bytes matched". Each name byte costs O(pattern/64) word
 * operations and no backtracking ever happens, so a LIST over 10,000
 * mailboxes of 512-byte names with hostile patterns stays linear. */

#define PAT_WORDS ((LIST_MAX_PATTERN_LEN + 1 + 63) / 64)

struct pattern {
	size_t len, words;
	uint64_t star[PAT_WORDS], pct[PAT_WORDS];
	uint16_t lit_index[256];	/* byte -> 1 + index into lit, 0 = none */
	uint64_t (*lit)[PAT_WORDS];	/* positions holding that byte */
	size_t nlit;
};

static void set_bit(uint64_t *w, size_t j)
{
	w[j / 64] |= UINT64_C(1) << (j % 64);
}

static bool get_bit(const uint64_t *w, size_t j)
{
	return (w[j / 64] >> (j % 64)) & 1;
}

static void pattern_compile(struct pattern *p, const char *text)
{
	memset(p, 0, sizeof(*p));
	/* "**", "*%", "%*" are "*"; "%%" is "%": one epsilon step then
	 * suffices, since no two wildcards are adjacent */
	char *pat = xmalloc(strlen(text) + 1);
	size_t m = 0;
	for (const char *c = text; *c; c++) {
		bool wild = *c == '*' || *c == '%';
		if (wild && m > 0 && (pat[m - 1] == '*' || pat[m - 1] == '%')) {
			if (*c == '*')
				pat[m - 1] = '*';
			continue;
		}
		pat[m++] = *c;
	}
	p->len = m;
	p->words = (m + 1 + 63) / 64;
	for (size_t j = 0; j < m; j++) {
		unsigned char c = (unsigned char)pat[j];
		if (c != '*' && c != '%' && p->lit_index[c] == 0)
			p->lit_index[c] = (uint16_t)(++p->nlit);
	}
	/* one position mask per distinct byte of the pattern */
	p->lit = xcalloc(p->nlit ? p->nlit : 1, sizeof(*p->lit));
	for (size_t j = 0; j < m; j++) {
		unsigned char c = (unsigned char)pat[j];
		if (c == '*')
			set_bit(p->star, j);
		else if (c == '%')
			set_bit(p->pct, j);
		else
			set_bit(p->lit[p->lit_index[c] - 1], j);
	}
	free(pat);
}

static void pattern_free(struct pattern *p)
{
	free(p->lit);
	p->lit = NULL;
}

/* w |= (w & wild) << 1: a wildcard may match nothing */
static void epsilon(const struct pattern *p, uint64_t *w)
{
	uint64_t carry = 0;
	for (size_t k = 0; k < p->words; k++) {
		uint64_t x = w[k] & (p->star[k] | p->pct[k]);
		uint64_t out = (x << 1) | carry;
		carry = x >> 63;
		w[k] |= out;
	}
}

static bool pattern_match(const struct pattern *p, const char *name)
{
	uint64_t cur[PAT_WORDS] = {0}, next[PAT_WORDS];
	cur[0] = 1;
	epsilon(p, cur);
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		const uint64_t *lit = p->lit_index[*c] ? p->lit[p->lit_index[*c] - 1] : NULL;
		uint64_t carry = 0, any = 0;
		for (size_t k = 0; k < p->words; k++) {
			uint64_t adv = lit ? cur[k] & lit[k] : 0;
			next[k] = (adv << 1) | carry | (cur[k] & p->star[k]) |
				  (*c != '/' ? cur[k] & p->pct[k] : 0);
			carry = adv >> 63;
			any |= next[k];
		}
		if (!any)
			return false;
		epsilon(p, next);
		memcpy(cur, next, p->words * sizeof(uint64_t));
	}
	return get_bit(cur, p->len);
}

/* --- the mailbox tree ---------------------------------------------------- */

struct node {
	const char *name;
	char *owned;			/* implied nodes own their name */
	const struct store_mailbox *mb;	/* NULL: implied (\NonExistent) */
	bool has_children;		/* some existing descendant */
	bool has_subscribed_child;	/* some subscribed descendant */
	bool matched;			/* the pattern matches it */
	bool desc_selected;		/* some descendant is listed on its own */
};

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->name, ((const struct node *)b)->name);
}

static struct node *node_find(struct node *nodes, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(nodes[mid].name, name, len);
		if (c == 0 && nodes[mid].name[len] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return &nodes[mid];
	}
	return NULL;
}

/* Every mailbox and every missing ancestor, sorted by name. */
static struct node *tree_build(const struct store_mailbox *list, size_t nmb, size_t *n_r)
{
	size_t cap = nmb + 1, n = 0;
	struct node *nodes = xcalloc(cap, sizeof(*nodes));
	for (size_t i = 0; i < nmb; i++) {
		nodes[n].name = list[i].name;
		nodes[n].mb = &list[i];
		n++;
	}
	qsort(nodes, n, sizeof(*nodes), cmp_node);
	size_t nreal = n;
	/* implied parents: collected first, then sorted and deduplicated */
	for (size_t i = 0; i < nmb; i++) {
		const char *name = list[i].name;
		for (const char *sl = strchr(name, '/'); sl != NULL; sl = strchr(sl + 1, '/')) {
			size_t len = (size_t)(sl - name);
			if (node_find(nodes, nreal, name, len) != NULL)
				continue;
			nodes = xgrow(nodes, &cap, n + 1, sizeof(*nodes));
			memset(&nodes[n], 0, sizeof(nodes[n]));
			nodes[n].owned = xstrndup(name, len);
			nodes[n].name = nodes[n].owned;
			n++;
		}
	}
	qsort(nodes, n, sizeof(*nodes), cmp_node);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o > 0 && strcmp(nodes[o - 1].name, nodes[i].name) == 0) {
			free(nodes[i].owned);
			continue;
		}
		nodes[o++] = nodes[i];
	}
	n = o;
	/* children flags: each existing mailbox marks its ancestors */
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].mb == NULL)
			continue;
		const char *name = nodes[i].name;
		for (const char *sl = strchr(name, '/'); sl != NULL; sl = strchr(sl + 1, '/')) {
			struct node *up = node_find(nodes, n, name, (size_t)(sl - name));
			if (up == NULL)
				continue;
			up->has_children = true;
			if (nodes[i].mb->subscribed)
				up->has_subscribed_child = true;
		}
	}
	*n_r = n;
	return nodes;
}

static void tree_free(struct node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(nodes[i].owned);
	free(nodes);
}

/* --- arguments ----------------------------------------------------------- */

static int parse_options(struct imap_cmd *cmd, struct list_opts *o, size_t *i_r)
{
	const struct imap_command_args *a = &cmd->a;
	size_t i = 0;
	if (!o->lsub && a->count > 0 && a->args[0].type == IMAP_ARG_LIST) {
		o->extended = true;
		for (size_t j = 0; j < a->args[0].count; j++) {
			const struct imap_arg *x = &a->args[0].list[j];
			if (imap_arg_is_atom(x, "SUBSCRIBED"))
				o->sel_subscribed = o->ret_subscribed = true;
			else if (imap_arg_is_atom(x, "SPECIAL-USE"))
				o->sel_special_use = o->ret_special_use = true;
			else if (imap_arg_is_atom(x, "RECURSIVEMATCH"))
				o->sel_recursive = true;
			else if (imap_arg_is_atom(x, "REMOTE"))
				; /* no remote mailboxes here (RFC 5258 3.1) */
			else
				return -1;
		}
		/* RFC 5258 3.1: RECURSIVEMATCH needs another selection option
		 * it can apply to; here only SUBSCRIBED has descendants to find */
		if (o->sel_recursive && !o->sel_subscribed)
			return -1;
		i = 1;
	}
	if (a->count < i + 2 || !imap_arg_is_astring(&a->args[i]))
		return -1;
	const struct imap_arg *p = &a->args[i + 1];
	if (p->type == IMAP_ARG_LIST) {
		if (o->lsub || p->count == 0 || p->count > LIST_MAX_PATTERNS)
			return -1;
		for (size_t j = 0; j < p->count; j++)
			if (!imap_arg_is_astring(&p->list[j]))
				return -1;
		o->extended = true;
	} else if (!imap_arg_is_astring(p)) {
		return -1;
	}
	size_t r = i + 2;
	if (!o->lsub && a->count == r + 2 && imap_arg_is_atom(&a->args[r], "RETURN") &&
	    a->args[r + 1].type == IMAP_ARG_LIST) {
		o->extended = true;
		const struct imap_arg *ret = &a->args[r + 1];
		for (size_t j = 0; j < ret->count; j++) {
			const struct imap_arg *x = &ret->list[j];
			if (imap_arg_is_atom(x, "SUBSCRIBED"))
				o->ret_subscribed = true;
			else if (imap_arg_is_atom(x, "CHILDREN"))
				; /* always sent */
			else if (imap_arg_is_atom(x, "SPECIAL-USE"))
				o->ret_special_use = true;
			else if (imap_arg_is_atom(x, "STATUS") && j + 1 < ret->count &&
				 imap_status_items_parse(cmd->s, &ret->list[j + 1], &o->status_items) == 0)
				j++;
			else
				return -1;
		}
	} else if (a->count != r) {
		return -1;
	}
	*i_r = i;
	return 0;
}

/* Reference + pattern, decoded from the client's form, INBOX normalized. */
static char *full_pattern(struct imap_session *s, const struct imap_arg *ref,
			  const struct imap_arg *pat)
{
	if (ref->len + pat->len > LIST_MAX_PATTERN_LEN)
		return NULL;
	char *joined = xasprintf("%s%s", ref->str, pat->str);
	char *dec = NULL;
	if (!s->utf8_names && mailbox_name_mutf7_decode(joined, &dec) == 0) {
		free(joined);
		joined = dec;
	}
	if (strlen(joined) > LIST_MAX_PATTERN_LEN) {
		free(joined);
		return NULL;
	}
	if (strncasecmp(joined, "INBOX", 5) == 0 && (joined[5] == '\0' || joined[5] == '/'))
		memcpy(joined, "INBOX", 5);
	return joined;
}

/* --- output -------------------------------------------------------------- */

/* Is this node listed on its own merit (before the implied-parent rule)? */
static bool selected(const struct list_opts *o, const struct node *nd)
{
	if (nd->mb == NULL)
		return false;
	if ((o->lsub || o->sel_subscribed) && !nd->mb->subscribed)
		return false;
	if (o->sel_special_use && nd->mb->special_use == NULL)
		return false;
	return true;
}

static void write_node(struct imap_session *s, const struct list_opts *o, const struct node *nd,
		       bool childinfo, struct buf *b)
{
	const char *verb = o->lsub ? "LSUB" : "LIST";
	const char *sep = "";
	buf_reset(b);
	buf_printf(b, "* %s (", verb);
	if (nd->mb == NULL || (o->lsub && !nd->mb->subscribed)) {
		/* LSUB: an unsubscribed level is \Noselect (RFC 3501 6.3.9) */
		bool nonexistent = nd->mb == NULL && !o->lsub && (s->rev2 || o->extended);
		buf_puts(b, nonexistent ? "\\NonExistent" : "\\Noselect");
		sep = " ";
	}
	buf_printf(b, "%s%s", sep, nd->has_children ? "\\HasChildren" : "\\HasNoChildren");
	if (nd->mb != NULL) {
		if (nd->mb->special_use != NULL && !o->lsub)
			buf_printf(b, " %s", nd->mb->special_use);
		if (o->ret_subscribed && nd->mb->subscribed)
			buf_puts(b, " \\Subscribed");
	}
	buf_puts(b, ") \"/\" ");
	char *wire = imap_mailbox_to_wire(s, nd->name);
	imap_session_buf_string(s, b, wire, strlen(wire));
	free(wire);
	if (childinfo)
		buf_puts(b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_puts(b, "\r\n");
	imap_write(s, b->data, b->len);
	if (o->status_items != 0 && nd->mb != NULL)
		imap_status_write(s, nd->mb, o->status_items);
}

static void list_run(struct imap_cmd *cmd, struct list_opts *o)
{
	struct imap_session *s = cmd->s;
	size_t i = 0;
	if (parse_options(cmd, o, &i) < 0) {
		imap_cmd_bad(cmd, "Invalid %s arguments", o->lsub ? "LSUB" : "LIST");
		return;
	}
	const struct imap_arg *ref = &cmd->a.args[i], *p = &cmd->a.args[i + 1];
	const struct imap_arg *pats = p->type == IMAP_ARG_LIST ? p->list : p;
	size_t npat = p->type == IMAP_ARG_LIST ? p->count : 1;
	const char *verb = o->lsub ? "LSUB" : "LIST";
	if (npat == 1 && pats[0].len == 0) {
		/* the hierarchy delimiter and root (RFC 9051 6.3.9) */
		imap_printf(s, "* %s (\\Noselect) \"/\" \"\"\r\n", verb);
		imap_cmd_ok(cmd, "%s completed", verb);
		return;
	}
	struct pattern *patterns = xcalloc(npat, sizeof(*patterns));
	for (size_t j = 0; j < npat; j++) {
		char *text = full_pattern(s, ref, &pats[j]);
		if (text == NULL) {
			for (size_t k = 0; k < j; k++)
				pattern_free(&patterns[k]);
			free(patterns);
			imap_cmd_bad(cmd, "[LIMIT] Pattern too long");
			return;
		}
		pattern_compile(&patterns[j], text);
		free(text);
	}
	struct store_mailbox *list;
	size_t nmb, n;
	enum store_err err = store_mailbox_list(s->srv->store, s->account_id, &list, &nmb);
	if (err != STORE_OK) {
		for (size_t k = 0; k < npat; k++)
			pattern_free(&patterns[k]);
		free(patterns);
		imap_store_no(cmd, err, "Cannot list mailboxes");
		return;
	}
	struct node *nodes = tree_build(list, nmb, &n);
	for (size_t m = 0; m < n; m++)
		for (size_t j = 0; j < npat && !nodes[m].matched; j++)
			nodes[m].matched = pattern_match(&patterns[j], nodes[m].name);
	/* a listed node makes its ancestors' own listing unnecessary */
	for (size_t m = 0; m < n; m++) {
		if (!nodes[m].matched || !selected(o, &nodes[m]))
			continue;
		const char *name = nodes[m].name;
		for (const char *sl = strchr(name, '/'); sl != NULL; sl = strchr(sl + 1, '/')) {
			struct node *up = node_find(nodes, n, name, (size_t)(sl - name));
			if (up != NULL)
				up->desc_selected = true;
		}
	}
	struct buf b;
	buf_init(&b, SIZE_MAX);
	for (size_t m = 0; m < n; m++) {
		const struct node *nd = &nodes[m];
		if (!nd->matched)
			continue;
		bool own = selected(o, nd);
		/* RECURSIVEMATCH (RFC 5258 3.5): a parent of subscribed mailboxes
		 * is listed with CHILDINFO even when not itself subscribed */
		bool recursive = o->sel_recursive && nd->has_subscribed_child;
		/* a level "%" stopped at (RFC 3501 6.3.8/6.3.9) */
		bool level = !own && !nd->desc_selected &&
			     (o->lsub ? nd->has_subscribed_child
			      : !o->sel_subscribed && !o->sel_special_use && nd->has_children);
		if (!own && !recursive && !level)
			continue;
		write_node(s, o, nd, recursive, &b);
	}
	buf_free(&b);
	tree_free(nodes, n);
	store_mailbox_list_free(list, nmb);
	for (size_t k = 0; k < npat; k++)
		pattern_free(&patterns[k]);
	free(patterns);
	imap_cmd_ok(cmd, "%s completed", verb);
}

void cmd_list(struct imap_cmd *cmd)
{
	struct list_opts o = {0};
	list_run(cmd, &o);
}

void cmd_lsub(struct imap_cmd *cmd)
{
	struct list_opts o = {.lsub = true};
	list_run(cmd, &o);
}
