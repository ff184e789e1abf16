/*
 * mime-preview: the PREVIEW text (RFC 8970) computed at store time. The
 * first text part is chosen (text/plain over text/html inside
 * multipart/alternative; attached messages are not this message's text),
 * its Content-Transfer-Encoding undone, its charset converted to UTF-8,
 * HTML reduced to text (tags, comments, <style> and <script> dropped,
 * common entities decoded), white space and controls collapsed to single
 * spaces, and the result cut to MIME_PREVIEW_MAX characters without
 * splitting a UTF-8 sequence (RFC 8970 3.3).
 */
#include "mail/mime-index-private.h"
#include "mail/transfer.h"
#include "lib/alloc.h"
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Raw body bytes looked at: enough for the first 256 characters even
 * behind a large HTML <head>; the rest of a big part is not worth it. */
#define MIME_PREVIEW_INPUT_MAX (64 * 1024)
#define MIME_PREVIEW_CHARSET_MAX 64
#define MIME_PREVIEW_ENTITY_MAX 10	/* "&#x10FFFF;" */

static bool is_text(const struct mime_part *p, const char *subtype)
{
	return p->kind == MIME_LEAF && strcmp(p->type, "text") == 0 &&
	       strcmp(p->subtype, subtype) == 0;
}

/* Depth-first: the first text/plain or text/html leaf; in an alternative,
 * a text/plain child wins over an earlier text/html one. -1 for none. */
static int find_text(const struct mime_tree *t, int idx, int depth)
{
	const struct mime_part *p = &t->parts[idx];
	if (p->kind == MIME_LEAF)
		return is_text(p, "plain") || is_text(p, "html") ? idx : -1;
	if (p->kind != MIME_MULTIPART || depth >= MIME_MAX_DEPTH)
		return -1;
	bool alternative = strcmp(p->subtype, "alternative") == 0;
	int found = -1;
	for (int c = p->first_child; c >= 0; c = t->parts[c].next) {
		int r = find_text(t, c, depth + 1);
		if (r < 0)
			continue;
		if (!alternative)
			return r;
		if (is_text(&t->parts[r], "plain"))
			return r;
		if (found < 0)
			found = r;
	}
	return found;
}

/* The charset parameter of the part's Content-Type, or "" (us-ascii). */
static void part_charset(const struct mime_tree *t, const struct mime_part *p,
			 char out[MIME_PREVIEW_CHARSET_MAX + 1])
{
	struct buf v, val;
	out[0] = '\0';
	buf_init(&v, (size_t)-1);
	buf_init(&val, (size_t)-1);
	if (p->params == PARAMS_HEADER && mime_field_unfold(t->data, &p->field[MF_CONTENT_TYPE], &v)) {
		struct mime_lex lx = {v.data, v.data + v.len};
		const char *tok, *name;
		size_t tl, nl;
		mime_lex_skip_cfws(&lx);
		mime_lex_token(&lx, &tok, &tl);
		mime_lex_skip_cfws(&lx);
		if (lx.p < lx.end && *lx.p == '/')
			lx.p++;
		mime_lex_skip_cfws(&lx);
		mime_lex_token(&lx, &tok, &tl);
		for (int i = 0; i < MIME_MAX_PARAMS && mime_lex_param(&lx, &name, &nl, &val); i++) {
			if (nl == 7 && strncasecmp(name, "charset", 7) == 0 &&
			    val.len <= MIME_PREVIEW_CHARSET_MAX) {
				memcpy(out, val.data ? val.data : "", val.len);
				out[val.len] = '\0';
				break;
			}
		}
	}
	buf_free(&val);
	buf_free(&v);
}

/* Bytes in charset to valid UTF-8 (malloc'd). */
static char *to_utf8(const char *charset, const char *s, size_t n)
{
	if (charset[0] != '\0' && strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0) {
		iconv_t cd = g_mime_iconv_open("UTF-8", charset);
		if (cd != (iconv_t)-1) {
			char *u = g_mime_iconv_strndup(cd, s, n);
			g_mime_iconv_close(cd);
			if (u != NULL) {
				char *r = xstrdup(u);
				g_free(u);
				if (g_utf8_validate(r, -1, NULL))
					return r;
				free(r);
			}
		}
	}
	if (g_utf8_validate(s, (gssize)n, NULL))
		return xstrndup(s, n);
	/* Unknown charset or raw 8-bit: GMime's guess, always UTF-8. */
	char *u = g_mime_utils_decode_8bit(NULL, s, n);
	char *r = xstrdup(u ? u : "");
	g_free(u);
	if (!g_utf8_validate(r, -1, NULL)) {
		char *valid = g_utf8_make_valid(r, -1);
		free(r);
		r = xstrdup(valid);
		g_free(valid);
	}
	return r;
}

/* Append code point cp as UTF-8 (invalid ones become U+FFFD). */
static void put_utf8(struct buf *out, unsigned long cp)
{
	char tmp[6];
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	int n = g_unichar_to_utf8((gunichar)cp, tmp);
	buf_append(out, tmp, (size_t)n);
}

/* "&...;" at s (n bytes left): decoded into out; returns bytes used, 0
 * when it is not an entity we know (the '&' is then kept as text). */
static size_t entity(const char *s, size_t n, struct buf *out)
{
	static const struct {
		const char *name;
		unsigned long cp;
	} names[] = {
		{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
		{"nbsp", ' '}, {"copy", 0xa9}, {"reg", 0xae}, {"hellip", 0x2026},
		{"mdash", 0x2014}, {"ndash", 0x2013}, {"rsquo", 0x2019}, {"lsquo", 0x2018},
		{"rdquo", 0x201d}, {"ldquo", 0x201c}, {"euro", 0x20ac},
	};
	size_t end = 1;
	while (end < n && end <= MIME_PREVIEW_ENTITY_MAX + 1 && s[end] != ';')
		end++;
	if (end >= n || s[end] != ';' || end < 2)
		return 0;
	const char *name = s + 1;
	size_t len = end - 1;
	if (name[0] == '#') {
		unsigned long cp = 0;
		bool hex = len > 1 && (name[1] == 'x' || name[1] == 'X');
		size_t i = hex ? 2 : 1;
		if (i >= len)
			return 0;
		for (; i < len; i++) {
			int d = hex ? transfer_hex_value((unsigned char)name[i])
				    : (name[i] >= '0' && name[i] <= '9' ? name[i] - '0' : -1);
			if (d < 0)
				return 0;
			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
		}
		put_utf8(out, cp);
		return end + 1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len && strncmp(names[i].name, name, len) == 0) {
			put_utf8(out, names[i].cp);
			return end + 1;
		}
	}
	return 0;
}

/* Does s (n bytes) start with the tag name `tag` (case-insensitive),
 * followed by a delimiter? */
static bool tag_is(const char *s, size_t n, const char *tag)
{
	size_t tl = strlen(tag);
	return n > tl && strncasecmp(s, tag, tl) == 0 &&
	       (s[tl] == '>' || s[tl] == ' ' || s[tl] == '\t' || s[tl] == '\r' ||
		s[tl] == '\n' || s[tl] == '/');
}

/* Find needle (case-insensitive) in s[0..n); offset or n. */
static size_t find_ci(const char *s, size_t n, const char *needle)
{
	size_t nl = strlen(needle);
	for (size_t i = 0; i + nl <= n; i++)
		if (strncasecmp(s + i, needle, nl) == 0)
			return i;
	return n;
}

/* HTML to text: tags become spaces, comments and the contents of <style>,
 * <script> and <head> vanish, entities are decoded. */
static void html_to_text(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;
	while (i < n) {
		if (s[i] == '&') {
			size_t used = entity(s + i, n - i, out);
			if (used > 0) {
				i += used;
				continue;
			}
			buf_putc(out, '&');
			i++;
			continue;
		}
		if (s[i] != '<') {
			buf_putc(out, s[i++]);
			continue;
		}
		const char *rest = s + i + 1;
		size_t rn = n - i - 1;
		size_t skip;
		if (rn >= 3 && strncmp(rest, "!--", 3) == 0) {
			skip = find_ci(rest + 3, rn - 3, "-->");
			i += 1 + 3 + skip + 3;
		} else if (tag_is(rest, rn, "style") || tag_is(rest, rn, "script") ||
			   tag_is(rest, rn, "head")) {
			const char *close = tag_is(rest, rn, "style") ? "</style"
					    : tag_is(rest, rn, "script") ? "</script" : "</head";
			skip = find_ci(rest, rn, close);
			i += 1 + skip;
			skip = find_ci(s + i, n - i, ">");
			i += skip + 1;
		} else {
			skip = find_ci(rest, rn, ">");
			i += 1 + skip + 1;
		}
		buf_putc(out, ' ');
	}
}

/* Collapse white space and controls to one space, trim, and cut at
 * MIME_PREVIEW_MAX characters (never inside a UTF-8 sequence). */
static char *collapse(const char *s)
{
	struct buf out;
	buf_init(&out, (size_t)-1);
	size_t chars = 0;
	bool space = false;
	for (const char *p = s; *p != '\0' && chars < MIME_PREVIEW_MAX;) {
		gunichar c = g_utf8_get_char(p);
		const char *next = g_utf8_next_char(p);
		if (c < 0x20 || c == 0x7f || g_unichar_isspace(c) || c == 0xa0) {
			space = out.len > 0;
		} else {
			if (space) {
				buf_putc(&out, ' ');
				space = false;
				if (++chars == MIME_PREVIEW_MAX)
					break;
			}
			buf_append(&out, p, (size_t)(next - p));
			chars++;
		}
		p = next;
	}
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out);
}

char *mime_preview_build(const struct mime_tree *t)
{
	int idx = find_text(t, 0, 0);
	if (idx < 0)
		return NULL;
	const struct mime_part *p = &t->parts[idx];
	size_t len = p->end > p->body_start ? p->end - p->body_start : 0;
	if (len > MIME_PREVIEW_INPUT_MAX)
		len = MIME_PREVIEW_INPUT_MAX;
	size_t dlen;
	char *decoded = transfer_decode(p->cte, t->data + p->body_start, len, &dlen);
	if (decoded == NULL)
		return NULL; /* an encoding we cannot undo: no preview */
	char charset[MIME_PREVIEW_CHARSET_MAX + 1];
	part_charset(t, p, charset);
	/* NULs would end the C string early */
	size_t o = 0;
	for (size_t i = 0; i < dlen; i++)
		if (decoded[i] != '\0')
			decoded[o++] = decoded[i];
	char *text = to_utf8(charset, decoded, o);
	free(decoded);
	if (is_text(p, "html")) {
		struct buf b;
		buf_init(&b, (size_t)-1);
		html_to_text(text, strlen(text), &b);
		free(text);
		text = b.data ? buf_steal(&b) : xstrdup("");
		buf_free(&b);
	}
	char *r = collapse(text);
	free(text);
	return r;
}
