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
 * Subscriptions are names (RFC 3501 6.3.6): a subscribed name with no
 * mailbox is a node too, listed by LSUB (\Noselect) and LIST (SUBSCRIBED)
 * (\NonExistent, RFC 5258 3.1), never by a plain LIST.
 * The argument grammar and the pattern matcher are in imap-list.c.
 */
#include "imap/imap-commands.h"
#include "imap/imap-list.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/mailbox-name.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- the mailbox tree ---------------------------------------------------- */

struct node {
	const char *name;
	char *owned;			/* implied nodes own their name */
	const struct store_mailbox *mb;	/* NULL: implied or only subscribed (\NonExistent) */
	bool subscribed;		/* the name is on the subscription list */
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

/* Every mailbox, every subscribed name and every missing ancestor,
 * sorted by name. */
static struct node *tree_build(const struct store_mailbox *list, size_t nmb, char **subs,
			       size_t nsubs, size_t *n_r)
{
	size_t cap = nmb + nsubs + 1, n = 0;
	struct node *nodes = xcalloc(cap, sizeof(*nodes));
	for (size_t i = 0; i < nmb; i++) {
		nodes[n].name = list[i].name;
		nodes[n].mb = &list[i];
		nodes[n].subscribed = list[i].subscribed;
		n++;
	}
	qsort(nodes, n, sizeof(*nodes), cmp_node);
	size_t nmbox = n;
	for (size_t i = 0; i < nsubs; i++) {
		struct node *nd = node_find(nodes, nmbox, subs[i], strlen(subs[i]));
		if (nd != NULL) {
			nd->subscribed = true;
			continue;
		}
		nodes[n].name = subs[i];
		nodes[n].subscribed = true;
		n++;
	}
	qsort(nodes, n, sizeof(*nodes), cmp_node);
	size_t nreal = n;
	/* implied parents: collected first, then sorted and deduplicated */
	for (size_t i = 0; i < nreal; i++) {
		const char *name = nodes[i].name;
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
	/* children flags: each existing mailbox and each subscribed name
	 * marks its ancestors */
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].mb == NULL && !nodes[i].subscribed)
			continue;
		const char *name = nodes[i].name;
		for (const char *sl = strchr(name, '/'); sl != NULL; sl = strchr(sl + 1, '/')) {
			struct node *up = node_find(nodes, n, name, (size_t)(sl - name));
			if (up == NULL)
				continue;
			if (nodes[i].mb != NULL)
				up->has_children = true;
			if (nodes[i].subscribed)
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

/* Reference + pattern, decoded from the client's form, INBOX normalized. */
static char *full_pattern(struct imap_session *s, const struct imap_arg *ref,
			  const struct imap_arg *pat)
{
	if (ref->len + pat->len > IMAP_LIST_MAX_PATTERN_LEN)
		return NULL;
	char *joined = xasprintf("%s%s", ref->str, pat->str);
	char *dec = NULL;
	if (!s->utf8_names && mailbox_name_mutf7_decode(joined, &dec) == 0) {
		free(joined);
		joined = dec;
	}
	if (strlen(joined) > IMAP_LIST_MAX_PATTERN_LEN) {
		free(joined);
		return NULL;
	}
	if (strncasecmp(joined, "INBOX", 5) == 0 && (joined[5] == '\0' || joined[5] == '/'))
		memcpy(joined, "INBOX", 5);
	return joined;
}

/* --- output -------------------------------------------------------------- */

/* Is this node listed on its own merit (before the implied-parent rule)? */
static bool selected(const struct imap_list_opts *o, const struct node *nd)
{
	if (o->lsub || o->sel_subscribed)
		return nd->subscribed && (!o->sel_special_use ||
					  (nd->mb != NULL && nd->mb->special_use != NULL));
	if (nd->mb == NULL)
		return false;
	if (o->sel_special_use && nd->mb->special_use == NULL)
		return false;
	return true;
}

static void write_node(struct imap_session *s, const struct imap_list_opts *o, const struct node *nd,
		       bool childinfo, struct buf *b)
{
	const char *verb = o->lsub ? "LSUB" : "LIST";
	const char *sep = "";
	buf_reset(b);
	buf_printf(b, "* %s (", verb);
	if (nd->mb == NULL || (o->lsub && !nd->subscribed)) {
		/* LSUB: an unsubscribed level is \Noselect (RFC 3501 6.3.9);
		 * so is a subscribed name with no mailbox (RFC 5258 3.1:
		 * \NonExistent, which implies \Noselect, where it is known) */
		bool nonexistent = nd->mb == NULL && !o->lsub && (s->rev2 || o->extended);
		buf_puts(b, nonexistent ? "\\NonExistent" : "\\Noselect");
		sep = " ";
	}
	buf_printf(b, "%s%s", sep, nd->has_children ? "\\HasChildren" : "\\HasNoChildren");
	if (nd->mb != NULL && nd->mb->special_use != NULL && !o->lsub)
		buf_printf(b, " %s", nd->mb->special_use);
	if (o->ret_subscribed && nd->subscribed)
		buf_puts(b, " \\Subscribed");
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

static void list_run(struct imap_cmd *cmd, struct imap_list_opts *o)
{
	struct imap_session *s = cmd->s;
	size_t i = 0;
	if (imap_list_parse_options(cmd->s, &cmd->a, o, &i) < 0) {
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
	struct imap_list_pattern *patterns = xcalloc(npat, sizeof(*patterns));
	for (size_t j = 0; j < npat; j++) {
		char *text = full_pattern(s, ref, &pats[j]);
		if (text == NULL) {
			for (size_t k = 0; k < j; k++)
				imap_list_pattern_free(&patterns[k]);
			free(patterns);
			imap_cmd_bad(cmd, "[LIMIT] Pattern too long");
			return;
		}
		imap_list_pattern_compile(&patterns[j], text);
		free(text);
	}
	struct store_mailbox *list;
	size_t nmb, n;
	enum store_err err = store_mailbox_list(s->srv->store, s->account_id, &list, &nmb);
	if (err != STORE_OK) {
		for (size_t k = 0; k < npat; k++)
			imap_list_pattern_free(&patterns[k]);
		free(patterns);
		imap_store_no(cmd, err, "Cannot list mailboxes");
		return;
	}
	char **subs = NULL;
	size_t nsubs = 0;
	if (o->lsub || o->sel_subscribed || o->ret_subscribed || o->sel_recursive)
		err = store_subscription_list(s->srv->store, s->account_id, &subs, &nsubs);
	if (err != STORE_OK) {
		store_mailbox_list_free(list, nmb);
		for (size_t k = 0; k < npat; k++)
			imap_list_pattern_free(&patterns[k]);
		free(patterns);
		imap_store_no(cmd, err, "Cannot list subscriptions");
		return;
	}
	struct node *nodes = tree_build(list, nmb, subs, nsubs, &n);
	for (size_t m = 0; m < n; m++)
		for (size_t j = 0; j < npat && !nodes[m].matched; j++)
			nodes[m].matched = imap_list_pattern_match(&patterns[j], nodes[m].name);
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
	store_subscription_list_free(subs, nsubs);
	for (size_t k = 0; k < npat; k++)
		imap_list_pattern_free(&patterns[k]);
	free(patterns);
	imap_cmd_ok(cmd, "%s completed", verb);
}

void cmd_list(struct imap_cmd *cmd)
{
	struct imap_list_opts o = {0};
	list_run(cmd, &o);
}

void cmd_lsub(struct imap_cmd *cmd)
{
	struct imap_list_opts o = {.lsub = true};
	list_run(cmd, &o);
}
