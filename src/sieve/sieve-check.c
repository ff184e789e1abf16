/*
 * sieve-check: binds each node of the parsed tree to its spec row and
 * type-checks it: known command/test, its extension required, tags
 * allowed and not repeated or conflicting, tag values and positional
 * arguments of the right type and count, tests and block as the command
 * takes them, require only at the start, elsif/else only after if.
 * Constant arguments the interpreter relies on are validated here
 * (comparators, relational operators, date parts, zones, addresses,
 * regular expressions, variable names), so a checked script only fails at
 * run time on values that come from variables or on limits.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/address.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve-run.h"

struct checker {
	struct sieve_script *s;
	const struct sieve_limits *lim;
	sieve_include_fn *include;
	void *include_ctx;
	unsigned depth;
	char ***stack;
	size_t *nstack;
	struct sieve_diag *diag;
};

const struct sv_tagbind *sv_tag(const struct sv_node *n, int id)
{
	for (size_t i = 0; i < n->ntags; i++)
		if (n->tags[i].id == id)
			return &n->tags[i];
	return NULL;
}

static bool has_ext(const struct checker *c, int ext)
{
	return (c->s->exts & (1u << ext)) != 0;
}

static bool tag_allowed(const struct sv_spec *sp, const char *name)
{
	const char *list = sp->tags;
	size_t n = strlen(name);
	static const char *const match_tags[] = { "is", "contains", "matches", "regex", "value",
						  "count", "comparator", NULL };
	static const char *const addr_tags[] = { "all", "localpart", "domain", "user", "detail", NULL };
	for (const char *p = list; *p != '\0';) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e != '\0' && *e != ' ')
			e++;
		size_t w = (size_t)(e - p);
		if (w == 6 && strncmp(p, "@match", 6) == 0) {
			for (int i = 0; match_tags[i] != NULL; i++)
				if (strcmp(match_tags[i], name) == 0)
					return true;
		} else if (w == 5 && strncmp(p, "@addr", 5) == 0) {
			for (int i = 0; addr_tags[i] != NULL; i++)
				if (strcmp(addr_tags[i], name) == 0)
					return true;
		} else if (w == n && strncmp(p, name, n) == 0) {
			return true;
		}
		p = e;
	}
	return false;
}

static int fail(struct checker *c, unsigned line, unsigned col, const char *fmt, const char *a,
		const char *b)
{
	sv_diag(c->diag, line, col, fmt, a, b);
	return -1;
}

static bool constant(const struct sv_arg *a)
{
	for (size_t i = 0; i < a->nstrs; i++)
		if (a->strs[i].var)
			return false;
	return true;
}

/* Variable names of RFC 5229 section 3: identifiers (set takes no
 * namespaces and no match variables). */
static bool var_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > SV_VAR_NAME_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static int check_commands(struct checker *c, struct sv_node **list, size_t n, bool top);

static int check_include(struct checker *c, struct sv_node *n)
{
	const struct sv_arg *a = n->pos[0];
	if (!constant(a))
		return fail(c, a->line, a->column, "include: the script name must be a constant", NULL, NULL);
	const char *name = a->strs[0].s;
	if (a->strs[0].len == 0 || strlen(name) != a->strs[0].len || strchr(name, '/') != NULL)
		return fail(c, a->line, a->column, "include: invalid script name \"%s\"", name, NULL);
	bool global = sv_tag(n, TAG_GLOBAL) != NULL;
	bool optional = sv_tag(n, TAG_OPTIONAL) != NULL;
	if (c->include == NULL) {
		if (optional)
			return 0;
		return fail(c, a->line, a->column, "include \"%s\": includes are not available here", name, NULL);
	}
	if (c->depth + 1 > c->lim->max_include_depth)
		return fail(c, a->line, a->column, "include \"%s\": includes nested too deeply", name, NULL);
	char *key = xasprintf("%s:%s", global ? "global" : "personal", name);
	for (size_t i = 0; i < *c->nstack; i++) {
		if (strcmp((*c->stack)[i], key) == 0) {
			free(key);
			return fail(c, a->line, a->column, "include \"%s\": include loop", name, NULL);
		}
	}
	size_t len = 0;
	char *text = c->include(c->include_ctx, name, global, &len);
	if (text == NULL) {
		free(key);
		if (optional)
			return 0;
		return fail(c, a->line, a->column, "include \"%s\": no such script", name, NULL);
	}
	*c->stack = xrealloc(*c->stack, (*c->nstack + 1) * sizeof(char *));
	(*c->stack)[(*c->nstack)++] = key;
	struct sieve_diag sub = { 0 };
	n->included = sv_compile_depth(text, len, c->lim, c->include, c->include_ctx, c->depth + 1,
				       c->stack, c->nstack, &sub);
	free(text);
	free((*c->stack)[--(*c->nstack)]);
	if (n->included == NULL) {
		sv_diag(c->diag, a->line, a->column, "include \"%s\": %s", name, sub.message);
		return -1;
	}
	c->s->nodes += n->included->nodes;
	if (c->s->nodes > c->lim->max_nodes)
		return fail(c, a->line, a->column, "include \"%s\": script too complex with its includes", name, NULL);
	return 0;
}

static bool date_part_ok(const char *s)
{
	static const char *const parts[] = { "year", "month", "day", "date", "julian", "hour",
					     "minute", "second", "time", "iso8601", "std11",
					     "zone", "weekday", NULL };
	for (int i = 0; parts[i] != NULL; i++)
		if (strcasecmp(parts[i], s) == 0)
			return true;
	return false;
}

static bool zone_ok(const char *s)
{
	if (strlen(s) != 5 || (s[0] != '+' && s[0] != '-'))
		return false;
	for (int i = 1; i < 5; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return (s[1] - '0') * 10 + (s[2] - '0') <= 23 && s[3] <= '5';
}

static int check_special(struct checker *c, struct sv_node *n)
{
	const struct sv_tagbind *t;
	/* comparator */
	n->comparator = CMP_CASEMAP;
	if ((t = sv_tag(n, TAG_COMPARATOR)) != NULL) {
		const char *name = t->val->strs[0].s;
		if (strcasecmp(name, "i;ascii-casemap") == 0)
			n->comparator = CMP_CASEMAP;
		else if (strcasecmp(name, "i;octet") == 0)
			n->comparator = CMP_OCTET;
		else if (strcasecmp(name, "i;ascii-numeric") == 0 && has_ext(c, EXT_NUMERIC))
			n->comparator = CMP_NUMERIC;
		else
			return fail(c, t->val->line, t->val->column, "comparator \"%s\" not supported%s",
				    name, strcasecmp(name, "i;ascii-numeric") == 0
				    ? " (require \"comparator-i;ascii-numeric\")" : "");
	}
	n->match = MATCH_IS;
	static const int mt[][2] = { { TAG_IS, MATCH_IS }, { TAG_CONTAINS, MATCH_CONTAINS },
				     { TAG_MATCHES, MATCH_MATCHES }, { TAG_REGEX, MATCH_REGEX },
				     { TAG_VALUE, MATCH_VALUE }, { TAG_COUNT, MATCH_COUNT } };
	for (size_t i = 0; i < sizeof(mt) / sizeof(mt[0]); i++)
		if ((t = sv_tag(n, mt[i][0])) != NULL)
			n->match = mt[i][1];
	if ((n->match == MATCH_VALUE || n->match == MATCH_COUNT)) {
		t = sv_tag(n, n->match == MATCH_VALUE ? TAG_VALUE : TAG_COUNT);
		static const char *const ops[] = { "gt", "ge", "lt", "le", "eq", "ne" };
		n->relop = -1;
		for (int i = 0; i < 6; i++)
			if (strcasecmp(t->val->strs[0].s, ops[i]) == 0)
				n->relop = i;
		if (n->relop < 0)
			return fail(c, t->val->line, t->val->column,
				    "relational operator \"%s\" unknown (gt, ge, lt, le, eq or ne)",
				    t->val->strs[0].s, NULL);
	}
	if (n->comparator == CMP_NUMERIC &&
	    (n->match == MATCH_CONTAINS || n->match == MATCH_MATCHES || n->match == MATCH_REGEX))
		return fail(c, n->line, n->column, "comparator \"i;ascii-numeric\" only supports :is, :value and :count",
			    NULL, NULL);
	n->addrpart = AP_ALL;
	static const int ap[][2] = { { TAG_LOCALPART, AP_LOCALPART }, { TAG_DOMAIN, AP_DOMAIN },
				     { TAG_USER, AP_USER }, { TAG_DETAIL, AP_DETAIL } };
	for (size_t i = 0; i < sizeof(ap) / sizeof(ap[0]); i++)
		if (sv_tag(n, ap[i][0]) != NULL)
			n->addrpart = ap[i][1];
	if ((t = sv_tag(n, TAG_LAST)) != NULL && n->spec->id != CMD_ADDHEADER &&
	    n->spec->id != TEST_DUPLICATE) {
		if (sv_tag(n, TAG_INDEX) == NULL)
			return fail(c, t->arg->line, t->arg->column, "\":last\" needs \":index\"", NULL, NULL);
	}
	if ((t = sv_tag(n, TAG_INDEX)) != NULL && t->val->num == 0)
		return fail(c, t->val->line, t->val->column, "\":index\" must be 1 or more", NULL, NULL);
	/* :regex keys that are constants are compiled now for their errors. */
	if (n->match == MATCH_REGEX) {
		const struct sv_arg *keys = NULL;
		for (int i = 3; i >= 0 && keys == NULL; i--)
			keys = n->pos[i];
		for (size_t i = 0; keys != NULL && i < keys->nstrs; i++) {
			if (keys->strs[i].var)
				continue;
			char err[160];
			if (sv_regex_check(keys->strs[i].s, keys->strs[i].len,
					   n->comparator == CMP_CASEMAP, err, sizeof(err)) < 0)
				return fail(c, keys->line, keys->column, "%s", err, NULL);
		}
	}
	switch (n->spec->id) {
	case CMD_REDIRECT: {
		const struct sv_arg *a = n->pos[0];
		if (constant(a) && !sv_address_ok(a->strs[0].s))
			return fail(c, a->line, a->column, "redirect: invalid address \"%s\"", a->strs[0].s, NULL);
		break;
	}
	case CMD_VACATION:
		if ((t = sv_tag(n, TAG_FROM)) != NULL && constant(t->val) &&
		    !sv_address_ok(t->val->strs[0].s) && strchr(t->val->strs[0].s, '<') == NULL)
			return fail(c, t->val->line, t->val->column, "vacation: invalid :from address \"%s\"",
				    t->val->strs[0].s, NULL);
		if ((sv_tag(n, TAG_FLAGS) || sv_tag(n, TAG_CREATE) || sv_tag(n, TAG_SPECIALUSE) ||
		     sv_tag(n, TAG_MAILBOXID)) && sv_tag(n, TAG_FCC) == NULL)
			return fail(c, n->line, n->column, "vacation: :flags, :create, :specialuse and :mailboxid need :fcc",
				    NULL, NULL);
		break;
	case CMD_SET: {
		const struct sv_arg *a = n->pos[0];
		/* RFC 6609 5: "global." names the global namespace */
		size_t skip = a->strs[0].len > 7 && strncasecmp(a->strs[0].s, "global.", 7) == 0 &&
			has_ext(c, EXT_INCLUDE) ? 7 : 0;
		if (!constant(a) || !var_name_ok(a->strs[0].s + skip, a->strs[0].len - skip))
			return fail(c, a->line, a->column, "set: invalid variable name \"%s\"", a->strs[0].s, NULL);
		break;
	}
	case CMD_SETFLAG: case CMD_ADDFLAG: case CMD_REMOVEFLAG: case TEST_HASFLAG:
		if (n->pos[0] != NULL) {
			const struct sv_arg *a = n->pos[0];
			if (!has_ext(c, EXT_VARIABLES))
				return fail(c, a->line, a->column, "%s: a variable name needs require \"variables\"",
					    n->name, NULL);
			for (size_t i = 0; i < a->nstrs; i++)
				if (a->strs[i].var || !var_name_ok(a->strs[i].s, a->strs[i].len))
					return fail(c, a->line, a->column, "%s: invalid variable name \"%s\"",
						    n->name, a->strs[i].s);
		}
		break;
	case CMD_GLOBAL: {
		const struct sv_arg *a = n->pos[0];
		if (!has_ext(c, EXT_VARIABLES))
			return fail(c, n->line, n->column, "global needs require \"variables\"", NULL, NULL);
		for (size_t i = 0; i < a->nstrs; i++)
			if (a->strs[i].var || !var_name_ok(a->strs[i].s, a->strs[i].len))
				return fail(c, a->line, a->column, "global: invalid variable name \"%s\"",
					    a->strs[i].s, NULL);
		break;
	}
	case TEST_DATE: case TEST_CURRENTDATE: {
		const struct sv_arg *dp = n->pos[n->spec->id == TEST_DATE ? 1 : 0];
		if (constant(dp) && !date_part_ok(dp->strs[0].s))
			return fail(c, dp->line, dp->column, "unknown date part \"%s\"", dp->strs[0].s, NULL);
		if ((t = sv_tag(n, TAG_ZONE)) != NULL && constant(t->val) && !zone_ok(t->val->strs[0].s))
			return fail(c, t->val->line, t->val->column, "invalid time zone \"%s\" (+hhmm or -hhmm)",
				    t->val->strs[0].s, NULL);
		break;
	}
	case TEST_ENVELOPE: {
		const struct sv_arg *a = n->pos[0];
		for (size_t i = 0; i < a->nstrs; i++)
			if (!a->strs[i].var && strcasecmp(a->strs[i].s, "from") != 0 &&
			    strcasecmp(a->strs[i].s, "to") != 0)
				return fail(c, a->line, a->column, "envelope: unknown envelope part \"%s\"",
					    a->strs[i].s, NULL);
		break;
	}
	case TEST_SIZE:
		if (sv_tag(n, TAG_OVER) == NULL && sv_tag(n, TAG_UNDER) == NULL)
			return fail(c, n->line, n->column, "size needs :over or :under", NULL, NULL);
		break;
	case CMD_INCLUDE:
		return check_include(c, n);
	case CMD_ADDHEADER: case CMD_DELETEHEADER: {
		const struct sv_arg *a = n->pos[0];
		if (constant(a) && !sv_header_name_ok(a->strs[0].s))
			return fail(c, a->line, a->column, "%s: invalid header field name \"%s\"", n->name,
				    a->strs[0].s);
		break;
	}
	default:
		break;
	}
	return 0;
}

static int check_node(struct checker *c, struct sv_node *n, bool as_test)
{
	const struct sv_spec *sp = sv_spec_lookup(n->name);
	if (sp == NULL)
		return fail(c, n->line, n->column, as_test ? "unknown test \"%s\"" : "unknown command \"%s\"",
			    n->name, NULL);
	if (sp->test != as_test)
		return fail(c, n->line, n->column, as_test ? "\"%s\" is a command, not a test"
			    : "\"%s\" is a test, not a command", n->name, NULL);
	n->spec = sp;
	if (sp->ext >= 0 && !has_ext(c, sp->ext))
		return fail(c, n->line, n->column, "\"%s\" used without require \"%s\"", n->name,
			    sv_exts[sp->ext].name);
	if (has_ext(c, EXT_ENCODED))
		for (size_t i = 0; i < n->nargs; i++)
			for (size_t j = 0; j < n->args[i].nstrs; j++)
				if (sv_decode_encoded(&n->args[i], &n->args[i].strs[j], c->diag) < 0)
					return -1;
	struct sv_arg *positional[8];
	size_t npos = 0;
	for (size_t i = 0; i < n->nargs; i++) {
		struct sv_arg *a = &n->args[i];
		if (a->type != ARG_TAG) {
			if (npos == 8)
				return fail(c, a->line, a->column, "too many arguments for \"%s\"", n->name, NULL);
			positional[npos++] = a;
			continue;
		}
		if (npos > 0)
			return fail(c, a->line, a->column, "tagged argument \":%s\" after positional arguments",
				    a->tag, NULL);
		int id = sv_tag_lookup(a->tag);
		if (id < 0 || !tag_allowed(sp, a->tag))
			return fail(c, a->line, a->column, "unknown tagged argument \":%s\" for \"%s\"", a->tag, n->name);
		const struct sv_tagspec *ts = &sv_tagspecs[id];
		/* :seconds is vacation-seconds' only on vacation (duplicate has its own) */
		/* :index is editheader's own on deleteheader (RFC 5293 5) */
		if (ts->ext >= 0 && !has_ext(c, ts->ext) && !(id == TAG_SECONDS && sp->id == TEST_DUPLICATE) &&
		    !(id == TAG_INDEX && sp->id == CMD_DELETEHEADER))
			return fail(c, a->line, a->column, "\":%s\" used without require \"%s\"", a->tag,
				    sv_exts[ts->ext].name);
		if (id == TAG_LAST && sp->id != CMD_ADDHEADER && sp->id != TEST_DUPLICATE &&
		    sp->id != CMD_DELETEHEADER && !has_ext(c, EXT_INDEX))
			return fail(c, a->line, a->column, "\":%s\" used without require \"%s\"", a->tag, "index");
		for (size_t k = 0; k < n->ntags; k++) {
			if (n->tags[k].id == id)
				return fail(c, a->line, a->column, "tagged argument \":%s\" given twice", a->tag, NULL);
			if (ts->group != 0 && sv_tagspecs[n->tags[k].id].group == ts->group)
				return fail(c, a->line, a->column, "\":%s\" conflicts with \":%s\"", a->tag,
					    sv_tagspecs[n->tags[k].id].name);
		}
		a->tag_id = id;
		n->tags = xrealloc(n->tags, (n->ntags + 1) * sizeof(*n->tags));
		struct sv_tagbind *b = &n->tags[n->ntags++];
		b->id = id;
		b->arg = a;
		b->val = a;
		if (ts->val != 0) {
			struct sv_arg *v = i + 1 < n->nargs ? &n->args[i + 1] : NULL;
			bool ok = v != NULL && (ts->val == 'N' ? v->type == ARG_NUMBER
						: v->type == ARG_STRINGS && (ts->val == 'L' || !v->list));
			if (!ok)
				return fail(c, v != NULL ? v->line : a->line, v != NULL ? v->column : a->column,
					    ts->val == 'N' ? "\":%s\" needs a number" : ts->val == 'S'
					    ? "\":%s\" needs a string" : "\":%s\" needs a string list", a->tag, NULL);
			b->val = v;
			i++;
		}
	}
	/* positional arguments against the pattern */
	size_t plen = strlen(sp->pos), required = 0;
	for (size_t i = 0; i < plen; i++)
		if (isupper((unsigned char)sp->pos[i]))
			required++;
	if (npos < required)
		return fail(c, n->line, n->column, "missing argument for \"%s\"", n->name, NULL);
	if (npos > plen)
		return fail(c, positional[plen]->line, positional[plen]->column, "too many arguments for \"%s\"",
			    n->name, NULL);
	size_t skip = plen - npos; /* optional slots left out */
	size_t k = 0;
	for (size_t i = 0; i < plen; i++) {
		char want = sp->pos[i];
		if (islower((unsigned char)want) && skip > 0) {
			skip--;
			continue;
		}
		struct sv_arg *a = positional[k++];
		want = (char)toupper((unsigned char)want);
		bool ok = want == 'N' ? a->type == ARG_NUMBER
			: a->type == ARG_STRINGS && (want == 'L' || !a->list);
		if (!ok)
			return fail(c, a->line, a->column,
				    want == 'N' ? "\"%s\" expects a number here" : want == 'S'
				    ? "\"%s\" expects a string here" : "\"%s\" expects a string list here",
				    n->name, NULL);
		if (i < 4)
			n->pos[i] = a;
	}
	if (sp->block && !n->has_block)
		return fail(c, n->line, n->column, "\"%s\" needs a block { ... }", n->name, NULL);
	/* tests */
	if (sp->tests == 0 && n->ntests > 0) {
		if (!n->test_list && !as_test && !n->tests[0]->has_block)
			return fail(c, n->tests[0]->line, n->tests[0]->column, "missing ';' after \"%s\"",
				    n->name, NULL);
		return fail(c, n->tests[0]->line, n->tests[0]->column, "\"%s\" takes no test", n->name, NULL);
	}
	if (sp->tests == '1' && (n->ntests != 1 || n->test_list))
		return fail(c, n->line, n->column, "\"%s\" needs exactly one test", n->name, NULL);
	if (sp->tests == 'L' && !n->test_list)
		return fail(c, n->line, n->column, "\"%s\" needs a test list in ( )", n->name, NULL);
	if (!sp->block && n->has_block)
		return fail(c, n->line, n->column, "\"%s\" takes no block", n->name, NULL);
	if (check_special(c, n) < 0)
		return -1;
	for (size_t i = 0; i < n->ntests; i++)
		if (check_node(c, n->tests[i], true) < 0)
			return -1;
	if (n->has_block && check_commands(c, n->block, n->nblock, false) < 0)
		return -1;
	return 0;
}

static int check_require(struct checker *c, struct sv_node *n)
{
	if (n->nargs != 1 || n->args[0].type != ARG_STRINGS || n->ntests > 0 || n->has_block) {
		if (n->ntests > 0 && !n->test_list)
			return fail(c, n->tests[0]->line, n->tests[0]->column, "missing ';' after \"%s\"", n->name, NULL);
		return fail(c, n->line, n->column, "require needs a string list of extensions", NULL, NULL);
	}
	n->spec = sv_spec_lookup("require");
	const struct sv_arg *a = &n->args[0];
	for (size_t i = 0; i < a->nstrs; i++) {
		int e = sv_ext_lookup(a->strs[i].s);
		if (e < 0 || strlen(a->strs[i].s) != a->strs[i].len)
			return fail(c, a->line, a->column, "require \"%s\": extension not supported",
				    a->strs[i].s, NULL);
		c->s->exts |= 1u << e;
		if (e == EXT_SPAMTESTPLUS)
			c->s->exts |= 1u << EXT_SPAMTEST;
		if (e == EXT_VACSECONDS)
			c->s->exts |= 1u << EXT_VACATION;
	}
	return 0;
}

static int check_commands(struct checker *c, struct sv_node **list, size_t n, bool top)
{
	bool started = false;
	int prev = -1;
	for (size_t i = 0; i < n; i++) {
		struct sv_node *cmd = list[i];
		if (strcmp(cmd->name, "require") == 0) {
			if (!top || started)
				return fail(c, cmd->line, cmd->column, "require must come before other commands",
					    NULL, NULL);
			if (check_require(c, cmd) < 0)
				return -1;
			prev = CMD_REQUIRE;
			continue;
		}
		started = true;
		if (check_node(c, cmd, false) < 0)
			return -1;
		int id = cmd->spec->id;
		if ((id == CMD_ELSIF || id == CMD_ELSE) && prev != CMD_IF && prev != CMD_ELSIF)
			return fail(c, cmd->line, cmd->column, "\"%s\" without a preceding if", cmd->name, NULL);
		prev = id;
	}
	return 0;
}

int sv_check(struct sieve_script *s, const struct sieve_limits *lim,
	     sieve_include_fn *include, void *include_ctx, unsigned depth,
	     char ***stack, size_t *nstack, struct sieve_diag *diag)
{
	struct checker c = { .s = s, .lim = lim, .include = include, .include_ctx = include_ctx,
			     .depth = depth, .stack = stack, .nstack = nstack, .diag = diag };
	return check_commands(&c, s->cmds, s->ncmds, true);
}
