/* imap-list: see imap-list.h. */
#include "imap/imap-list.h"
#include "imap/imap-commands.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

/* --- pattern matching ---------------------------------------------------- */

static void set_bit(uint64_t *w, size_t j)
{
	w[j / 64] |= UINT64_C(1) << (j % 64);
}

static bool get_bit(const uint64_t *w, size_t j)
{
	return (w[j / 64] >> (j % 64)) & 1;
}

void imap_list_pattern_compile(struct imap_list_pattern *p, const char *text)
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

void imap_list_pattern_free(struct imap_list_pattern *p)
{
	free(p->lit);
	p->lit = NULL;
}

/* w |= (w & wild) << 1: a wildcard may match nothing */
static void epsilon(const struct imap_list_pattern *p, uint64_t *w)
{
	uint64_t carry = 0;
	for (size_t k = 0; k < p->words; k++) {
		uint64_t x = w[k] & (p->star[k] | p->pct[k]);
		uint64_t out = (x << 1) | carry;
		carry = x >> 63;
		w[k] |= out;
	}
}

bool imap_list_pattern_match(const struct imap_list_pattern *p, const char *name)
{
	uint64_t cur[IMAP_LIST_PATTERN_WORDS] = {0}, next[IMAP_LIST_PATTERN_WORDS];
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

/* --- arguments ----------------------------------------------------------- */

int imap_list_parse_options(struct imap_session *s, const struct imap_command_args *a,
			    struct imap_list_opts *o, size_t *i_r)
{
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
		if (o->lsub || p->count == 0 || p->count > IMAP_LIST_MAX_PATTERNS)
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
				 imap_status_items_parse(s, &ret->list[j + 1], &o->status_items) == 0)
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

