/*
 * sieve-vars: variables (RFC 5229): ${name} and ${N} expansion, `set`
 * with its modifiers, match variables; and the flag lists of imap4flags
 * (RFC 5232) kept in a variable or in the internal one. Values are cut to
 * max_variable_size (on a UTF-8 boundary); max_variables bounds how many
 * exist.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "lib/alloc.h"
#include "lib/buf.h"
#include "sieve/sieve-interp.h"

bool sv_uses(const struct sv_scope *sc, int ext)
{
	return (sc->s->exts & (1u << ext)) != 0;
}

void sv_free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void sv_vars_free(struct sv_vars *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].name);
		free(v->v[i].val);
	}
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static bool declared_global(const struct sv_scope *sc, const char *name)
{
	for (size_t i = 0; i < sc->nglobals; i++)
		if (strcmp(sc->globals[i], name) == 0)
			return true;
	return false;
}

static struct sv_vars *table_for(struct sv_run *run, struct sv_scope *sc, const char **name)
{
	if (strncmp(*name, "global.", 7) == 0) {
		*name += 7;
		return &run->globals;
	}
	return declared_global(sc, *name) ? &run->globals : &sc->locals;
}

const struct sv_var *sv_var_get(struct sv_run *run, struct sv_scope *sc, const char *name)
{
	struct sv_vars *t = table_for(run, sc, &name);
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static size_t cut_utf8(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

int sv_var_set(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n, const char *name_in,
	       const char *val, size_t len)
{
	char lname[SV_VAR_NAME_MAX + 8];
	size_t nl = strlen(name_in);
	if (nl >= sizeof(lname))
		return sv_rt_error(run, n, "variable name too long");
	for (size_t i = 0; i <= nl; i++)
		lname[i] = (char)tolower((unsigned char)name_in[i]);
	const char *name = lname;
	struct sv_vars *t = table_for(run, sc, &name);
	len = cut_utf8(val, len, run->lim.max_variable_size);
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].name, name) == 0) {
			free(t->v[i].val);
			t->v[i].val = xmemdup(val, len + 1);
			t->v[i].val[len] = '\0';
			t->v[i].len = len;
			return 0;
		}
	}
	if (run->nvars >= run->lim.max_variables)
		return sv_rt_error(run, n, "too many variables (at most %u)", run->lim.max_variables);
	run->nvars++;
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	struct sv_var *v = &t->v[t->n++];
	v->name = xstrdup(name);
	v->val = xmalloc(len + 1);
	memcpy(v->val, val, len);
	v->val[len] = '\0';
	v->len = len;
	return 0;
}

/* RFC 5229 3: "${" name "}" where name is digits (a match variable) or
 * identifiers joined by "." (namespaces); anything else stays literal. */
char *sv_expand(struct sv_run *run, struct sv_scope *sc, const struct sv_str *st, size_t *len_r)
{
	if (!st->var || !sv_uses(sc, EXT_VARIABLES)) {
		*len_r = st->len;
		return xmemdup(st->s, st->len + 1);
	}
	struct buf b;
	buf_init(&b, SV_EXPAND_MAX);
	size_t i = 0;
	while (i < st->len) {
		if (!(st->s[i] == '$' && i + 1 < st->len && st->s[i + 1] == '{')) {
			buf_putc(&b, st->s[i++]);
			continue;
		}
		size_t j = i + 2, k = j;
		while (k < st->len && (isalnum((unsigned char)st->s[k]) || st->s[k] == '_' || st->s[k] == '.') &&
		       k - j <= SV_VAR_NAME_MAX * 2)
			k++;
		if (k >= st->len || st->s[k] != '}' || k == j) {
			buf_putc(&b, st->s[i++]);
			continue;
		}
		char name[SV_VAR_NAME_MAX * 2 + 2];
		size_t nl = k - j;
		for (size_t x = 0; x < nl; x++)
			name[x] = (char)tolower((unsigned char)st->s[j + x]);
		name[nl] = '\0';
		bool digits = true, valid = true;
		for (size_t x = 0; x < nl; x++)
			if (!isdigit((unsigned char)name[x]))
				digits = false;
		if (!digits) {
			/* each dot-separated part an identifier */
			size_t start = 0;
			for (size_t x = 0; x <= nl; x++) {
				if (x == nl || name[x] == '.') {
					if (x == start || isdigit((unsigned char)name[start]))
						valid = false;
					start = x + 1;
				}
			}
		}
		if (!valid) {
			buf_putc(&b, st->s[i++]);
			continue;
		}
		if (digits) {
			size_t idx = 0;
			for (size_t x = 0; x < nl && idx < 100; x++)
				idx = idx * 10 + (size_t)(name[x] - '0');
			if (idx < 10 && run->caps.v[idx] != NULL)
				buf_puts(&b, run->caps.v[idx]);
		} else {
			const struct sv_var *v = sv_var_get(run, sc, name);
			if (v != NULL && buf_append(&b, v->val, v->len) < 0)
				buf_append(&b, v->val, b.max - b.len - 1);
		}
		i = k + 1;
	}
	/* expansion output is work too: the next step check sees it */
	run->steps += b.len / 64;
	*len_r = b.len;
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

char **sv_expand_list(struct sv_run *run, struct sv_scope *sc, const struct sv_arg *a, size_t *n_r)
{
	char **l = xcalloc(a->nstrs + 1, sizeof(char *));
	for (size_t i = 0; i < a->nstrs; i++) {
		size_t len;
		l[i] = sv_expand(run, sc, &a->strs[i], &len);
	}
	*n_r = a->nstrs;
	return l;
}

void sv_view_init(struct sv_view *w, struct sv_run *run, struct sv_scope *sc, const struct sv_arg *a)
{
	w->n = a->nstrs;
	if (a->nstrs <= SV_VIEW_SMALL) {
		w->v = w->small_v;
		w->own = w->small_own;
	} else {
		w->v = xcalloc(a->nstrs + 1, sizeof(char *));
		w->own = xcalloc(a->nstrs, sizeof(char *));
	}
	bool vars = sv_uses(sc, EXT_VARIABLES);
	for (size_t i = 0; i < a->nstrs; i++) {
		if (!vars || !a->strs[i].var) {
			w->v[i] = a->strs[i].s;
			w->own[i] = NULL;
		} else {
			size_t len;
			w->v[i] = w->own[i] = sv_expand(run, sc, &a->strs[i], &len);
		}
	}
	w->v[a->nstrs] = NULL;
}

void sv_view_free(struct sv_view *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->own[i]);
	if (w->v != w->small_v) {
		free(w->v);
		free(w->own);
	}
	w->v = NULL;
	w->own = NULL;
	w->n = 0;
}

char **sv_flags_split(const char *s, size_t *n_r)
{
	char **out = NULL;
	size_t n = 0;
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		const char *e = s;
		while (*e != '\0' && *e != ' ')
			e++;
		if (e > s && n < SV_FLAGS_MAX) {
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++)
				dup = strlen(out[i]) == (size_t)(e - s) && strncasecmp(out[i], s, (size_t)(e - s)) == 0;
			if (!dup) {
				out = xrealloc(out, (n + 2) * sizeof(char *));
				out[n++] = xstrndup(s, (size_t)(e - s));
				out[n] = NULL;
			}
		}
		s = e;
	}
	*n_r = n;
	return out;
}

char *sv_flags_join(char **flags, size_t n)
{
	struct buf b;
	buf_init(&b, SV_EXPAND_MAX);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(&b, ' ');
		buf_puts(&b, flags[i]);
	}
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

/* setflag / addflag / removeflag [variable] list (RFC 5232 4.1-4.3) */
int sv_cmd_flags(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	size_t nk;
	char **keys = sv_expand_list(run, sc, n->pos[1], &nk);
	char *joined = sv_flags_join(keys, nk);
	sv_free_list(keys, nk);
	size_t na;
	char **add = sv_flags_split(joined, &na);
	free(joined);
	const char *varname = NULL;
	char *cur;
	if (n->pos[0] != NULL) {
		varname = n->pos[0]->strs[0].s;
		const struct sv_var *v = sv_var_get(run, sc, varname);
		cur = xstrdup(v != NULL ? v->val : "");
	} else {
		cur = xstrdup(run->flags != NULL ? run->flags : "");
	}
	size_t nc;
	char **have = sv_flags_split(cur, &nc);
	free(cur);
	char **res = xcalloc(nc + na + 1, sizeof(char *));
	size_t nr = 0;
	int id = n->spec->id;
	if (id != CMD_SETFLAG)
		for (size_t i = 0; i < nc; i++) {
			bool drop = false;
			if (id == CMD_REMOVEFLAG)
				for (size_t j = 0; j < na && !drop; j++)
					drop = strcasecmp(have[i], add[j]) == 0;
			if (!drop)
				res[nr++] = have[i];
		}
	if (id != CMD_REMOVEFLAG)
		for (size_t j = 0; j < na; j++)
			res[nr++] = add[j];
	char *tmp = sv_flags_join(res, nr);
	size_t nf;
	char **norm = sv_flags_split(tmp, &nf);	/* de-duplicate */
	free(tmp);
	char *out = sv_flags_join(norm, nf);
	sv_free_list(norm, nf);
	free(res);
	sv_free_list(have, nc);
	sv_free_list(add, na);
	int rc = 0;
	if (varname != NULL) {
		rc = sv_var_set(run, sc, n, varname, out, strlen(out));
		free(out);
	} else {
		free(run->flags);
		run->flags = out;
	}
	return rc;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t c = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* set [modifiers] name value; modifiers apply highest precedence first
 * (RFC 5229 4.1): lower/upper, lowerfirst/upperfirst, quotewildcard,
 * length. Case changes are ASCII-only. */
int sv_cmd_set(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	size_t len;
	char *v = sv_expand(run, sc, &n->pos[1]->strs[0], &len);
	if (sv_tag(n, TAG_LOWER) || sv_tag(n, TAG_UPPER)) {
		bool up = sv_tag(n, TAG_UPPER) != NULL;
		for (size_t i = 0; i < len; i++)
			v[i] = (char)(up ? toupper((unsigned char)v[i]) : tolower((unsigned char)v[i]));
	}
	if (len > 0 && sv_tag(n, TAG_LOWERFIRST))
		v[0] = (char)tolower((unsigned char)v[0]);
	if (len > 0 && sv_tag(n, TAG_UPPERFIRST))
		v[0] = (char)toupper((unsigned char)v[0]);
	if (sv_tag(n, TAG_QUOTEWILDCARD)) {
		struct buf b;
		buf_init(&b, SV_EXPAND_MAX * 2);
		for (size_t i = 0; i < len; i++) {
			if (v[i] == '*' || v[i] == '?' || v[i] == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, v[i]);
		}
		free(v);
		len = b.len;
		v = b.data != NULL ? buf_steal(&b) : xstrdup("");
	}
	if (sv_tag(n, TAG_LENGTH)) {
		char num[32];
		int k = snprintf(num, sizeof(num), "%zu", utf8_chars(v, len));
		free(v);
		v = xstrdup(num);
		len = (size_t)k;
	}
	int rc = sv_var_set(run, sc, n, n->pos[0]->strs[0].s, v, len);
	free(v);
	return rc;
}

/* RFC 5232 3: flags that are not IMAP flags are ignored when stored:
 * system flags other than \Seen \Answered \Flagged \Deleted \Draft
 * (\Recent cannot be set) and keywords that are not atoms. */
static bool flag_ok(const char *f)
{
	static const char *const sys[] = { "\\seen", "\\answered", "\\flagged", "\\deleted",
					   "\\draft", NULL };
	if (f[0] == '\\') {
		for (int i = 0; sys[i] != NULL; i++)
			if (strcasecmp(f, sys[i]) == 0)
				return true;
		return false;
	}
	size_t n = strlen(f);
	if (n == 0 || n > SV_FLAG_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

void sv_flags_filter(char **flags)
{
	if (flags == NULL)
		return;
	size_t o = 0;
	for (size_t i = 0; flags[i] != NULL; i++) {
		if (flag_ok(flags[i]))
			flags[o++] = flags[i];
		else
			free(flags[i]);
	}
	flags[o] = NULL;
}
