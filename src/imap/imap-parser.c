/*
 * imap-parser: command framing helpers and the argument parser.
 * See imap-parser.h. Grammar: RFC 9051 section 9 (atom, quoted, literal,
 * literal8, lists); literal markers with '+' are LITERAL+ (RFC 7888),
 * '-' LITERAL-.
 */
#include "imap/imap-parser.h"
#include "lib/alloc.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Characters that end an atom (RFC 9051 atom-specials minus the ones we
 * accept leniently: list-wildcards, '\' for flags, ']' for resp-text). */
static bool atom_end(unsigned char c)
{
	return c == ' ' || c == '(' || c == ')' || c == '{' || c == '"' || is_ctl(c);
}

int imap_parse_number(const char *s, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*n_r = n;
	return 0;
}

bool imap_parser_line_literal(const char *line, size_t len, struct imap_literal_info *lit_r)
{
	bool in_quote = false;
	for (size_t i = 0; i < len; i++) {
		if (in_quote) {
			if (line[i] == '\\' && i + 1 < len)
				i++;
			else if (line[i] == '"')
				in_quote = false;
		} else if (line[i] == '"') {
			in_quote = true;
		}
	}
	if (in_quote || len < 3 || line[len - 1] != '}')
		return false;
	size_t end = len - 1; /* index of '}' */
	size_t p = end;
	bool nonsync = false;
	if (line[p - 1] == '+' || line[p - 1] == '-') {
		nonsync = true;
		p--;
	}
	size_t digits_end = p;
	while (p > 0 && line[p - 1] >= '0' && line[p - 1] <= '9')
		p--;
	if (p == 0 || line[p - 1] != '{' || p == digits_end)
		return false;
	uint64_t n = 0;
	bool overflow = false;
	for (size_t i = p; i < digits_end; i++) {
		unsigned d = (unsigned)(line[i] - '0');
		if (n > (UINT64_MAX - 1 - d) / 10)
			overflow = true;
		else
			n = n * 10 + d;
	}
	lit_r->size = overflow ? UINT64_MAX : n;
	lit_r->nonsync = nonsync;
	lit_r->literal8 = p >= 2 && line[p - 2] == '~';
	return true;
}

static bool tag_char(unsigned char c)
{
	return !atom_end(c) && c != '%' && c != '*' && c != '\\' && c != '+' && c < 0x80;
}

static char *upper_dup(const char *s, size_t n)
{
	char *r = xstrndup(s, n);
	for (char *p = r; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return r;
}

/* Parses "tag SP name [SP subname]"; *pos_r is where arguments start. */
static int parse_head(const char *buf, size_t len, char **tag_r, char **name_r, bool *uid_r,
		      size_t *pos_r)
{
	size_t i = 0;
	while (i < len && tag_char((unsigned char)buf[i]))
		i++;
	if (i == 0 || i > IMAP_MAX_TAG)
		return -1;
	*tag_r = xstrndup(buf, i);
	*name_r = NULL;
	*uid_r = false;
	*pos_r = i;
	if (i >= len || buf[i] != ' ')
		return 0;
	for (int word = 0; word < 2; word++) {
		size_t s = ++i;
		while (i < len && isalnum((unsigned char)buf[i]))
			i++;
		if (i == s || i - s > IMAP_MAX_COMMAND_NAME || (i < len && buf[i] != ' ')) {
			xfree(name_r);
			*pos_r = s;
			return 0;
		}
		*name_r = upper_dup(buf + s, i - s);
		*pos_r = i;
		if (word == 0 && strcmp(*name_r, "UID") == 0 && i < len) {
			*uid_r = true;
			xfree(name_r);
			continue;
		}
		break;
	}
	if (*uid_r && *name_r == NULL)
		*name_r = xstrdup("UID");
	return 0;
}

int imap_parser_peek(const char *line, size_t len, char **tag_r, char **name_r, bool *uid_r)
{
	size_t pos;
	return parse_head(line, len, tag_r, name_r, uid_r, &pos);
}

struct parser {
	const char *buf;
	size_t len, pos;
	size_t nargs;
	const char *error;
};

static int parse_list(struct parser *p, int depth, bool top, struct imap_arg **args_r,
		      size_t *count_r);

static int parse_quoted(struct parser *p, struct imap_arg *a)
{
	size_t start = ++p->pos;
	size_t n = 0;
	/* first pass: validate and measure */
	size_t i = start;
	for (;; i++) {
		if (i >= p->len) {
			p->error = "Unterminated quoted string";
			return -1;
		}
		unsigned char c = (unsigned char)p->buf[i];
		if (c == '"')
			break;
		if (c == '\0' || c == '\r' || c == '\n') {
			p->error = "NUL, CR or LF in quoted string";
			return -1;
		}
		if (c == '\\') {
			i++;
			if (i >= p->len || (p->buf[i] != '\\' && p->buf[i] != '"')) {
				p->error = "Bad escape in quoted string";
				return -1;
			}
		}
		n++;
	}
	a->type = IMAP_ARG_QUOTED;
	a->str = xmalloc(n + 1);
	a->len = n;
	size_t o = 0;
	for (size_t j = start; j < i; j++) {
		if (p->buf[j] == '\\')
			j++;
		a->str[o++] = p->buf[j];
	}
	a->str[o] = '\0';
	p->pos = i + 1;
	return 0;
}

static int parse_literal(struct parser *p, struct imap_arg *a)
{
	if (p->buf[p->pos] == '~') {
		a->literal8 = true;
		p->pos++;
		if (p->pos >= p->len || p->buf[p->pos] != '{') {
			p->error = "Bad literal8";
			return -1;
		}
	}
	size_t i = ++p->pos;
	uint64_t n = 0;
	while (i < p->len && p->buf[i] >= '0' && p->buf[i] <= '9') {
		if (n > (UINT64_MAX / 10) - 10) {
			p->error = "Literal too large";
			return -1;
		}
		n = n * 10 + (uint64_t)(p->buf[i] - '0');
		i++;
	}
	if (i == p->pos) {
		p->error = "Bad literal size";
		return -1;
	}
	if (i < p->len && (p->buf[i] == '+' || p->buf[i] == '-'))
		i++;
	if (i + 3 > p->len || p->buf[i] != '}' || p->buf[i + 1] != '\r' || p->buf[i + 2] != '\n') {
		p->error = "Literal marker must end the line";
		return -1;
	}
	i += 3;
	if (n > p->len - i) {
		p->error = "Literal shorter than announced";
		return -1;
	}
	a->type = IMAP_ARG_LITERAL;
	a->str = xmemdup(p->buf + i, (size_t)n + 1);
	a->str[n] = '\0';
	a->len = (size_t)n;
	p->pos = i + (size_t)n;
	return 0;
}

static int parse_atom(struct parser *p, struct imap_arg *a)
{
	size_t start = p->pos;
	size_t i = p->pos;
	while (i < p->len) {
		unsigned char c = (unsigned char)p->buf[i];
		if (c == '[') {
			/* BODY[HEADER.FIELDS (A B)]: a section may hold SP and
			 * parentheses; it runs to the next ']'. */
			const char *close = memchr(p->buf + i, ']', p->len - i);
			if (close == NULL) {
				p->error = "Missing ']'";
				return -1;
			}
			for (const char *q = p->buf + i; q < close; q++) {
				if (*q == '\0' || *q == '\r' || *q == '\n' || *q == '{') {
					p->error = "Bad character in section";
					return -1;
				}
			}
			i = (size_t)(close - p->buf) + 1;
			continue;
		}
		if (atom_end(c))
			break;
		i++;
	}
	if (i == start) {
		p->error = "Bad character where an argument was expected";
		return -1;
	}
	a->type = IMAP_ARG_ATOM;
	a->str = xstrndup(p->buf + start, i - start);
	a->len = i - start;
	p->pos = i;
	return 0;
}

static int parse_one(struct parser *p, int depth, struct imap_arg *a)
{
	if (++p->nargs > IMAP_MAX_ARGS) {
		p->error = "Too many arguments";
		return -1;
	}
	char c = p->buf[p->pos];
	if (c == '(') {
		if (depth + 1 > IMAP_MAX_LIST_DEPTH) {
			p->error = "Lists nested too deeply";
			return -1;
		}
		p->pos++;
		a->type = IMAP_ARG_LIST;
		return parse_list(p, depth + 1, false, &a->list, &a->count);
	}
	if (c == '"')
		return parse_quoted(p, a);
	/* Only "~{" opens a literal8 (RFC 3516 section 4.2); otherwise '~'
	 * is an ATOM-CHAR, so "~foo" is an atom (RFC 9051 section 9). */
	if (c == '{' || (c == '~' && p->pos + 1 < p->len && p->buf[p->pos + 1] == '{'))
		return parse_literal(p, a);
	return parse_atom(p, a);
}

/* Elements up to ')' (or the end, at the top level). */
static int parse_list(struct parser *p, int depth, bool top, struct imap_arg **args_r,
		      size_t *count_r)
{
	struct imap_arg *args = NULL;
	size_t n = 0, cap = 0;
	bool need_sep = false;
	*args_r = NULL;
	*count_r = 0;
	for (;;) {
		if (p->pos >= p->len) {
			if (top)
				break;
			p->error = "Missing ')'";
			goto fail;
		}
		char c = p->buf[p->pos];
		if (c == ')') {
			if (top) {
				p->error = "Unexpected ')'";
				goto fail;
			}
			p->pos++;
			break;
		}
		if (c == ' ') {
			p->pos++;
			need_sep = false;
			continue;
		}
		if (need_sep) {
			p->error = "Missing space between arguments";
			goto fail;
		}
		args = xgrow(args, &cap, n + 1, sizeof(*args));
		memset(&args[n], 0, sizeof(args[n]));
		n++;
		if (parse_one(p, depth, &args[n - 1]) < 0)
			goto fail;
		need_sep = true;
	}
	*args_r = args;
	*count_r = n;
	return 0;
fail:
	imap_args_free(args, n);
	return -1;
}

void imap_args_free(struct imap_arg *args, size_t count)
{
	if (args == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		free(args[i].str);
		imap_args_free(args[i].list, args[i].count);
	}
	free(args);
}

int imap_parse_args(const char *buf, size_t len, struct imap_arg **args_r, size_t *count_r,
		    const char **error_r)
{
	struct parser p = {.buf = buf, .len = len};
	if (parse_list(&p, 0, true, args_r, count_r) < 0) {
		*error_r = p.error;
		return -1;
	}
	return 0;
}

int imap_parse_command(const char *buf, size_t len, struct imap_command_args *cmd_r,
		       const char **error_r)
{
	size_t pos;
	memset(cmd_r, 0, sizeof(*cmd_r));
	if (parse_head(buf, len, &cmd_r->tag, &cmd_r->name, &cmd_r->uid, &pos) < 0) {
		*error_r = "Missing or bad tag";
		return -1;
	}
	if (cmd_r->name == NULL) {
		*error_r = "Missing or bad command name";
		imap_command_args_clear(cmd_r);
		return -1;
	}
	if (pos < len && buf[pos] != ' ') {
		*error_r = "Bad command name";
		imap_command_args_clear(cmd_r);
		return -1;
	}
	if (imap_parse_args(buf + pos, len - pos, &cmd_r->args, &cmd_r->count, error_r) < 0) {
		imap_command_args_clear(cmd_r);
		return -1;
	}
	return 0;
}

void imap_command_args_clear(struct imap_command_args *cmd)
{
	xfree(&cmd->tag);
	xfree(&cmd->name);
	imap_args_free(cmd->args, cmd->count);
	cmd->args = NULL;
	cmd->count = 0;
}

bool imap_arg_is_atom(const struct imap_arg *a, const char *word)
{
	return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, word) == 0;
}

bool imap_arg_is_nil(const struct imap_arg *a)
{
	return imap_arg_is_atom(a, "NIL");
}

bool imap_arg_is_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_QUOTED || (a->type == IMAP_ARG_LITERAL && !a->literal8);
}

bool imap_arg_is_astring(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_ATOM)
		return strchr(a->str, '[') == NULL || strchr(a->str, ']') != NULL;
	return imap_arg_is_string(a);
}
