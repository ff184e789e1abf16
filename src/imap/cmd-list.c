/*
 * LIST and LSUB (RFC 9051 6.3.9, RFC 3501 6.3.8/6.3.9) with LIST-EXTENDED
 * selection and return options (RFC 5258), SPECIAL-USE (RFC 6154),
 * CHILDREN and LIST-STATUS (RFC 5819).
 */
#include "imap/imap-commands.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/mailbox-name.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_MAX_PATTERNS 32
#define LIST_MAX_PATTERN_LEN 1024

struct list_opts {
	bool sel_subscribed, sel_special_use;
	bool ret_subscribed, ret_children, ret_special_use;
	unsigned status_items;
	bool lsub;
};

/* '*' matches any run, '%' any run without '/' (RFC 9051 6.3.9). NFA
 * simulation: O(len(name) * len(pattern)), no backtracking blow-up. */
static bool match(const char *pat, const char *name)
{
	size_t m = strlen(pat);
	bool *cur = xcalloc(m + 1, sizeof(bool)), *next = xcalloc(m + 1, sizeof(bool));
	cur[0] = true;
	for (size_t j = 0; j < m && (pat[j] == '*' || pat[j] == '%'); j++)
		cur[j + 1] = true;
	for (const char *c = name; *c; c++) {
		memset(next, 0, m + 1);
		for (size_t j = 0; j < m; j++) {
			if (!cur[j])
				continue;
			if (pat[j] == '*' || (pat[j] == '%' && *c != '/'))
				next[j] = true;
			else if (pat[j] == *c)
				next[j + 1] = true;
		}
		/* epsilon: a wildcard may match nothing */
		for (size_t j = 0; j < m; j++)
			if (next[j] && (pat[j] == '*' || pat[j] == '%'))
				next[j + 1] = true;
		bool *t = cur;
		cur = next;
		next = t;
	}
	bool r = cur[m];
	free(cur);
	free(next);
	return r;
}

static bool has_children(const struct store_mailbox *list, size_t n, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (strncmp(list[i].name, name, len) == 0 && list[i].name[len] == '/')
			return true;
	return false;
}

static int parse_options(struct imap_cmd *cmd, struct list_opts *o, size_t *i_r, size_t *npat_r)
{
	const struct imap_command_args *a = &cmd->a;
	size_t i = 0;
	if (!o->lsub && a->count > 0 && a->args[0].type == IMAP_ARG_LIST) {
		for (size_t j = 0; j < a->args[0].count; j++) {
			const struct imap_arg *x = &a->args[0].list[j];
			if (imap_arg_is_atom(x, "SUBSCRIBED"))
				o->sel_subscribed = o->ret_subscribed = true;
			else if (imap_arg_is_atom(x, "SPECIAL-USE"))
				o->sel_special_use = o->ret_special_use = true;
			else if (imap_arg_is_atom(x, "REMOTE") || imap_arg_is_atom(x, "RECURSIVEMATCH"))
				;
			else
				return -1;
		}
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
	} else if (!imap_arg_is_astring(p)) {
		return -1;
	}
	size_t r = i + 2;
	if (!o->lsub && a->count == r + 2 && imap_arg_is_atom(&a->args[r], "RETURN") &&
	    a->args[r + 1].type == IMAP_ARG_LIST) {
		const struct imap_arg *ret = &a->args[r + 1];
		for (size_t j = 0; j < ret->count; j++) {
			const struct imap_arg *x = &ret->list[j];
			if (imap_arg_is_atom(x, "SUBSCRIBED"))
				o->ret_subscribed = true;
			else if (imap_arg_is_atom(x, "CHILDREN"))
				o->ret_children = true;
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
	if (strncasecmp(joined, "INBOX", 5) == 0 && (joined[5] == '\0' || joined[5] == '/'))
		memcpy(joined, "INBOX", 5);
	return joined;
}

static void list_run(struct imap_cmd *cmd, struct list_opts *o)
{
	struct imap_session *s = cmd->s;
	size_t i = 0, npat;
	if (parse_options(cmd, o, &i, &npat) < 0) {
		imap_cmd_bad(cmd, "Invalid %s arguments", o->lsub ? "LSUB" : "LIST");
		return;
	}
	const struct imap_arg *ref = &cmd->a.args[i], *p = &cmd->a.args[i + 1];
	const struct imap_arg *pats = p->type == IMAP_ARG_LIST ? p->list : p;
	size_t n = p->type == IMAP_ARG_LIST ? p->count : 1;
	const char *verb = o->lsub ? "LSUB" : "LIST";
	if (n == 1 && pats[0].len == 0) {
		/* the hierarchy delimiter and root (RFC 9051 6.3.9) */
		imap_printf(s, "* %s (\\Noselect) \"/\" \"\"\r\n", verb);
		imap_cmd_ok(cmd, "%s completed", verb);
		return;
	}
	char *patterns[LIST_MAX_PATTERNS];
	for (size_t j = 0; j < n; j++) {
		patterns[j] = full_pattern(s, ref, &pats[j]);
		if (patterns[j] == NULL) {
			for (size_t k = 0; k < j; k++)
				free(patterns[k]);
			imap_cmd_bad(cmd, "[LIMIT] Pattern too long");
			return;
		}
	}
	struct store_mailbox *list;
	size_t nmb;
	if (store_mailbox_list(s->srv->store, s->account_id, &list, &nmb) != STORE_OK) {
		for (size_t k = 0; k < n; k++)
			free(patterns[k]);
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot list mailboxes");
		return;
	}
	struct buf b;
	buf_init(&b, SIZE_MAX);
	for (size_t m = 0; m < nmb; m++) {
		const struct store_mailbox *mb = &list[m];
		bool hit = false;
		for (size_t j = 0; j < n && !hit; j++)
			hit = match(patterns[j], mb->name);
		if (!hit || ((o->sel_subscribed || o->lsub) && !mb->subscribed) ||
		    (o->sel_special_use && mb->special_use == NULL))
			continue;
		buf_reset(&b);
		buf_printf(&b, "* %s (%s", verb,
			   has_children(list, nmb, mb->name) ? "\\HasChildren" : "\\HasNoChildren");
		if (mb->special_use != NULL && !o->lsub)
			buf_printf(&b, " %s", mb->special_use);
		if (o->ret_subscribed && mb->subscribed)
			buf_puts(&b, " \\Subscribed");
		buf_puts(&b, ") \"/\" ");
		char *wire = imap_mailbox_to_wire(s, mb->name);
		imap_buf_astring(&b, wire, strlen(wire));
		free(wire);
		buf_puts(&b, "\r\n");
		imap_write(s, b.data, b.len);
		if (o->status_items != 0)
			imap_status_write(s, mb, o->status_items);
	}
	buf_free(&b);
	store_mailbox_list_free(list, nmb);
	for (size_t k = 0; k < n; k++)
		free(patterns[k]);
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
