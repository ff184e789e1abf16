/*
 * sieve-parse: RFC 5228 section 8.2 grammar to a generic tree.
 *   commands = *command
 *   command  = identifier arguments (";" / block)
 *   arguments = *argument [ test / test-list ]
 *   argument = string-list / number / tag
 *   test     = identifier arguments
 * Nesting (blocks and tests) is bounded by max_nesting, the node count by
 * max_nodes; what the commands mean is sieve-check.c's job.
 */
#include <string.h>
#include "lib/alloc.h"
#include "sieve/sieve-private.h"

struct parser {
	struct sv_lexer lx;
	const struct sieve_limits *lim;
	struct sieve_script *s;
	unsigned depth;
};

void sv_node_free(struct sv_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nargs; i++) {
		struct sv_arg *a = &n->args[i];
		for (size_t j = 0; j < a->nstrs; j++)
			free(a->strs[j].s);
		free(a->strs);
		free(a->tag);
	}
	free(n->args);
	for (size_t i = 0; i < n->ntests; i++)
		sv_node_free(n->tests[i]);
	free(n->tests);
	for (size_t i = 0; i < n->nblock; i++)
		sv_node_free(n->block[i]);
	free(n->block);
	free(n->tags);
	free(n->name);
	if (n->included != NULL)
		sieve_script_free(n->included);
	free(n);
}

static int expect_fail(struct parser *p, const char *what)
{
	if (p->lx.tok == TOK_ERROR)
		return -1;
	sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol, "expected %s, found %s", what,
		sv_tok_name(p->lx.tok));
	return -1;
}

static struct sv_node *new_node(struct parser *p)
{
	if (++p->s->nodes > p->lim->max_nodes) {
		sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol,
			"script too complex: more than %zu commands and tests", p->lim->max_nodes);
		return NULL;
	}
	struct sv_node *n = xcalloc(1, sizeof(*n));
	n->name = p->lx.text;
	p->lx.text = NULL;
	n->line = p->lx.tline;
	n->column = p->lx.tcol;
	return n;
}

static void add_str(struct sv_arg *a, struct parser *p)
{
	a->strs = xgrow(a->strs, &a->strs_cap, a->nstrs + 1, sizeof(*a->strs));
	struct sv_str *st = &a->strs[a->nstrs++];
	st->s = p->lx.text;
	st->len = p->lx.text_len;
	st->var = memmem(st->s, st->len, "${", 2) != NULL;
	p->lx.text = NULL;
}

static int parse_test(struct parser *p, struct sv_node **out);

/* Arguments then an optional test or test list. */
static int parse_arguments(struct parser *p, struct sv_node *n)
{
	for (;;) {
		enum sv_tok t = p->lx.tok;
		if (t != TOK_STRING && t != TOK_NUMBER && t != TOK_TAG && t != TOK_LBRACKET)
			break;
		n->args = xgrow(n->args, &n->args_cap, n->nargs + 1, sizeof(*n->args));
		struct sv_arg *a = &n->args[n->nargs++];
		memset(a, 0, sizeof(*a));
		a->line = p->lx.tline;
		a->column = p->lx.tcol;
		a->tag_id = -1;
		if (t == TOK_NUMBER) {
			a->type = ARG_NUMBER;
			a->num = p->lx.num;
		} else if (t == TOK_TAG) {
			a->type = ARG_TAG;
			a->tag = p->lx.text;
			p->lx.text = NULL;
		} else if (t == TOK_STRING) {
			a->type = ARG_STRINGS;
			add_str(a, p);
		} else {
			a->type = ARG_STRINGS;
			a->list = true;
			for (;;) {
				if (sv_lex_next(&p->lx) != TOK_STRING)
					return expect_fail(p, "a string in the list");
				add_str(a, p);
				if (sv_lex_next(&p->lx) == TOK_RBRACKET)
					break;
				if (p->lx.tok != TOK_COMMA)
					return expect_fail(p, "',' or ']'");
			}
		}
		if (sv_lex_next(&p->lx) == TOK_ERROR)
			return -1;
	}
	if (p->lx.tok == TOK_IDENT) {
		n->tests = xmalloc(sizeof(*n->tests));
		n->ntests = 1;
		n->tests[0] = NULL;
		return parse_test(p, &n->tests[0]);
	}
	if (p->lx.tok == TOK_LPAREN) {
		if (++p->depth > p->lim->max_nesting) {
			sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol, "nesting too deep (more than %u levels)",
				p->lim->max_nesting);
			return -1;
		}
		for (;;) {
			if (sv_lex_next(&p->lx) != TOK_IDENT)
				return expect_fail(p, "a test");
			n->tests = xgrow(n->tests, &n->tests_cap, n->ntests + 1, sizeof(*n->tests));
			n->tests[n->ntests] = NULL;
			if (parse_test(p, &n->tests[n->ntests++]) < 0)
				return -1;
			if (p->lx.tok == TOK_RPAREN)
				break;
			if (p->lx.tok != TOK_COMMA)
				return expect_fail(p, "',' or ')'");
		}
		p->depth--;
		n->test_list = true;
		if (sv_lex_next(&p->lx) == TOK_ERROR)
			return -1;
	}
	return 0;
}

static int parse_test(struct parser *p, struct sv_node **out)
{
	if (++p->depth > p->lim->max_nesting) {
		sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol, "nesting too deep (more than %u levels)",
			p->lim->max_nesting);
		return -1;
	}
	struct sv_node *n = new_node(p);
	if (n == NULL)
		return -1;
	*out = n;
	if (sv_lex_next(&p->lx) == TOK_ERROR)
		return -1;
	if (parse_arguments(p, n) < 0)
		return -1;
	p->depth--;
	return 0;
}

static int parse_commands(struct parser *p, struct sv_node ***list, size_t *count, size_t *cap,
			  bool in_block);

static int parse_command(struct parser *p, struct sv_node **out)
{
	struct sv_node *n = new_node(p);
	if (n == NULL)
		return -1;
	*out = n;
	if (sv_lex_next(&p->lx) == TOK_ERROR)
		return -1;
	if (parse_arguments(p, n) < 0)
		return -1;
	if (p->lx.tok == TOK_SEMI)
		return sv_lex_next(&p->lx) == TOK_ERROR ? -1 : 0;
	if (p->lx.tok == TOK_LBRACE) {
		if (++p->depth > p->lim->max_nesting) {
			sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol, "nesting too deep (more than %u levels)",
				p->lim->max_nesting);
			return -1;
		}
		n->has_block = true;
		if (sv_lex_next(&p->lx) == TOK_ERROR)
			return -1;
		if (parse_commands(p, &n->block, &n->nblock, &n->block_cap, true) < 0)
			return -1;
		p->depth--;
		return sv_lex_next(&p->lx) == TOK_ERROR ? -1 : 0;
	}
	if (p->lx.tok == TOK_ERROR)
		return -1;
	if (p->lx.tok == TOK_IDENT || p->lx.tok == TOK_RBRACE || p->lx.tok == TOK_EOF) {
		sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol, "missing ';' after \"%s\"", n->name);
		return -1;
	}
	return expect_fail(p, "';' or '{'");
}

static int parse_commands(struct parser *p, struct sv_node ***list, size_t *count, size_t *cap,
			  bool in_block)
{
	for (;;) {
		if (p->lx.tok == TOK_RBRACE) {
			if (in_block)
				return 0;
			sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol, "unexpected '}'");
			return -1;
		}
		if (p->lx.tok == TOK_EOF) {
			if (!in_block)
				return 0;
			sv_diag(p->lx.diag, p->lx.tline, p->lx.tcol, "missing '}' at end of script");
			return -1;
		}
		if (p->lx.tok != TOK_IDENT)
			return expect_fail(p, "a command");
		*list = xgrow(*list, cap, *count + 1, sizeof(**list));
		(*list)[*count] = NULL;
		if (parse_command(p, &(*list)[(*count)++]) < 0)
			return -1;
	}
}

int sv_parse(const char *text, size_t len, const struct sieve_limits *lim,
	     struct sieve_script *s, struct sieve_diag *diag)
{
	struct parser p = { .lim = lim, .s = s };
	sv_lex_init(&p.lx, text, len, diag);
	int rc = -1;
	if (sv_lex_next(&p.lx) != TOK_ERROR)
		rc = parse_commands(&p, &s->cmds, &s->ncmds, &s->cmds_cap, false);
	sv_lex_free(&p.lx);
	return rc;
}
