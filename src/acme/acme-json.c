/*
 * acme-json: the bounded JSON reader (see acme-json.h). A recursive
 * descent parser whose recursion is capped at ACME_JSON_MAX_DEPTH.
 */
#include "acme/acme-json.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *p, *end, *start;
	size_t nodes;
	char *error;
};

static void perr(struct parser *ps, const char *what)
{
	if (ps->error == NULL)
		ps->error = xasprintf("JSON: %s at offset %zu", what, (size_t)(ps->p - ps->start));
}

static void skip_ws(struct parser *ps)
{
	/* RFC 8259 2: space, tab, LF, CR only */
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
				   *ps->p == '\r'))
		ps->p++;
}

static struct acme_json *node_new(struct parser *ps, enum acme_json_type type)
{
	if (++ps->nodes > ACME_JSON_MAX_NODES) {
		perr(ps, "too many values");
		return NULL;
	}
	struct acme_json *j = xcalloc(1, sizeof(*j));
	j->type = type;
	return j;
}

static int hex4(const char *s, uint32_t *v_r)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*v_r = v;
	return 0;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
	char out[4];
	size_t n;
	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (char)(0xf0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(b, out, n); /* the buffer's maximum is the input size */
}

/* A string at ps->p (the opening quote), decoded; NULL on error. */
static char *parse_string(struct parser *ps)
{
	struct buf b;
	buf_init(&b, (size_t)(ps->end - ps->p) + 1);
	ps->p++; /* '"' */
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		if (c < 0x20) {
			perr(ps, "control character in a string");
			goto fail;
		}
		if (c != '\\') {
			buf_putc(&b, (char)c);
			ps->p++;
			continue;
		}
		if (ps->end - ps->p < 2) {
			perr(ps, "unfinished escape");
			goto fail;
		}
		char e = ps->p[1];
		ps->p += 2;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e != '\0' && simple != NULL) {
			static const char to[] = "\"\\/\b\f\n\r\t";
			buf_putc(&b, to[simple - "\"\\/bfnrt"]);
			continue;
		}
		uint32_t cp, lo;
		if (e != 'u' || ps->end - ps->p < 4 || hex4(ps->p, &cp) < 0) {
			perr(ps, "bad escape");
			goto fail;
		}
		ps->p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			/* a high surrogate must be followed by a low one */
			if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
			    hex4(ps->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
				perr(ps, "unpaired surrogate");
				goto fail;
			}
			ps->p += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			perr(ps, "unpaired surrogate");
			goto fail;
		}
		if (cp == 0) {
			perr(ps, "NUL in a string");
			goto fail;
		}
		put_utf8(&b, cp);
	}
	if (ps->p >= ps->end) {
		perr(ps, "unterminated string");
		goto fail;
	}
	ps->p++; /* closing '"' */
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
fail:
	buf_free(&b);
	return NULL;
}

/* RFC 8259 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static char *parse_number(struct parser *ps)
{
	const char *s = ps->p, *p = ps->p;
	if (p < ps->end && *p == '-')
		p++;
	if (p < ps->end && *p == '0') {
		p++;
	} else if (p < ps->end && *p >= '1' && *p <= '9') {
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		ps->p = p;
		perr(ps, "bad number");
		return NULL;
	}
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || *p < '0' || *p > '9') {
			ps->p = p;
			perr(ps, "bad fraction");
			return NULL;
		}
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9') {
			ps->p = p;
			perr(ps, "bad exponent");
			return NULL;
		}
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	ps->p = p;
	return xstrndup(s, (size_t)(p - s));
}

static void add_child(struct acme_json *parent, struct acme_json *c)
{
	if (parent->last != NULL)
		parent->last->next = c;
	else
		parent->child = c;
	parent->last = c;
	parent->n++;
}

static struct acme_json *parse_value(struct parser *ps, int depth);

static struct acme_json *parse_container(struct parser *ps, int depth, bool object)
{
	if (depth >= ACME_JSON_MAX_DEPTH) {
		perr(ps, "nested too deeply");
		return NULL;
	}
	struct acme_json *j = node_new(ps, object ? ACME_JSON_OBJECT : ACME_JSON_ARRAY);
	if (j == NULL)
		return NULL;
	char close = object ? '}' : ']';
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return j;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"') {
				perr(ps, "expected a member name");
				goto fail;
			}
			key = parse_string(ps);
			if (key == NULL)
				goto fail;
			if (acme_json_get(j, key) != NULL) {
				perr(ps, "duplicate member name");
				free(key);
				goto fail;
			}
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				perr(ps, "expected ':'");
				free(key);
				goto fail;
			}
			ps->p++;
		}
		struct acme_json *v = parse_value(ps, depth + 1);
		if (v == NULL) {
			free(key);
			goto fail;
		}
		v->key = key;
		add_child(j, v);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return j;
		}
		perr(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
		goto fail;
	}
fail:
	acme_json_free(&j);
	return NULL;
}

static struct acme_json *parse_literal(struct parser *ps, const char *word,
				       enum acme_json_type type)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
		perr(ps, "unexpected character");
		return NULL;
	}
	ps->p += n;
	return node_new(ps, type);
}

static struct acme_json *parse_value(struct parser *ps, int depth)
{
	skip_ws(ps);
	if (ps->p >= ps->end) {
		perr(ps, "unexpected end");
		return NULL;
	}
	struct acme_json *j;
	char *s;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, depth, true);
	case '[':
		return parse_container(ps, depth, false);
	case '"':
		if ((s = parse_string(ps)) == NULL)
			return NULL;
		if ((j = node_new(ps, ACME_JSON_STRING)) == NULL) {
			free(s);
			return NULL;
		}
		j->str = s;
		return j;
	case 't':
		return parse_literal(ps, "true", ACME_JSON_TRUE);
	case 'f':
		return parse_literal(ps, "false", ACME_JSON_FALSE);
	case 'n':
		return parse_literal(ps, "null", ACME_JSON_NULL);
	default:
		if ((s = parse_number(ps)) == NULL)
			return NULL;
		if ((j = node_new(ps, ACME_JSON_NUMBER)) == NULL) {
			free(s);
			return NULL;
		}
		j->str = s;
		return j;
	}
}

struct acme_json *acme_json_parse(const char *text, size_t len, char **error_r)
{
	if (len > ACME_JSON_MAX_INPUT) {
		*error_r = xasprintf("JSON: document of %zu bytes is over the limit of %d", len,
				     ACME_JSON_MAX_INPUT);
		return NULL;
	}
	struct parser ps = {.p = text, .end = text + len, .start = text};
	struct acme_json *j = parse_value(&ps, 0);
	if (j != NULL) {
		skip_ws(&ps);
		if (ps.p != ps.end) {
			perr(&ps, "text after the value");
			acme_json_free(&j);
		}
	}
	if (j == NULL) {
		*error_r = ps.error != NULL ? ps.error : xstrdup("JSON: parse error");
		return NULL;
	}
	free(ps.error);
	return j;
}

void acme_json_free(struct acme_json **jp)
{
	struct acme_json *j = *jp;
	if (j == NULL)
		return;
	*jp = NULL;
	/* iterative over siblings; recursion depth is bounded by the parser */
	struct acme_json *c = j->child;
	while (c != NULL) {
		struct acme_json *next = c->next;
		acme_json_free(&c);
		c = next;
	}
	free(j->key);
	free(j->str);
	free(j);
}

const struct acme_json *acme_json_get(const struct acme_json *j, const char *key)
{
	if (j == NULL || j->type != ACME_JSON_OBJECT)
		return NULL;
	for (const struct acme_json *c = j->child; c != NULL; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const char *acme_json_get_str(const struct acme_json *j, const char *key)
{
	const struct acme_json *v = acme_json_get(j, key);
	return v != NULL && v->type == ACME_JSON_STRING ? v->str : NULL;
}

const struct acme_json *acme_json_nth(const struct acme_json *j, size_t i)
{
	if (j == NULL || j->type != ACME_JSON_ARRAY)
		return NULL;
	const struct acme_json *c = j->child;
	while (c != NULL && i-- > 0)
		c = c->next;
	return c;
}
