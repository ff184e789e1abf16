/* imap-search-text: see imap-search-text.h. GMime does the transfer
 * decodings, charset conversion and RFC 2047 words; GLib the Unicode
 * case folding. */
#include "imap/imap-search-text.h"
#include "lib/alloc.h"
#include "mail/transfer.h"
#include "lib/buf.h"
#include "mail/mime-index.h"
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes of one part-map line we accept; longer lines are skipped. */
#define SEARCH_MAX_PARTS_LINE 512
/* An HTML tag name we look at to skip <script>/<style> contents. */
#define SEARCH_MAX_TAG_NAME 16
/* Longest HTML entity name or number we decode ("&thetasym;"). */
#define SEARCH_MAX_ENTITY 10

static char *fold(const char *s, size_t len, size_t *flen_r)
{
	gchar *valid = g_utf8_make_valid(s, (gssize)len);
	gchar *norm = g_utf8_normalize(valid, -1, G_NORMALIZE_ALL_COMPOSE);
	gchar *f = g_utf8_casefold(norm != NULL ? norm : valid, -1);
	size_t n = strlen(f);
	char *out = xmalloc(n + 1);
	memcpy(out, f, n + 1);
	g_free(f);
	g_free(norm);
	g_free(valid);
	*flen_r = n;
	return out;
}

void imap_search_needle_init(struct imap_search_needle *n, const char *s, size_t len)
{
	memset(n, 0, sizeof(*n));
	n->text = xmalloc(len + 1);
	memcpy(n->text, s, len);
	n->text[len] = '\0';
	n->len = len;
	n->ascii = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
			n->ascii = false;
	if (!n->ascii)
		n->folded = fold(s, len, &n->flen);
}

void imap_search_needle_clear(struct imap_search_needle *n)
{
	free(n->text);
	free(n->folded);
	memset(n, 0, sizeof(*n));
}

void imap_search_hay_set(struct imap_search_hay *h, char *text, size_t len)
{
	/* NUL would end the folding early: a space matches nothing either */
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	h->text = text;
	h->len = len;
	h->folded = NULL;
	h->flen = 0;
}

void imap_search_hay_clear(struct imap_search_hay *h)
{
	free(h->text);
	free(h->folded);
	memset(h, 0, sizeof(*h));
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool ascii_ci_find(const char *h, size_t hl, const char *n, size_t nl)
{
	if (nl == 0)
		return true;
	unsigned char first = ascii_lower((unsigned char)n[0]);
	for (size_t i = 0; i + nl <= hl; i++) {
		if (ascii_lower((unsigned char)h[i]) != first)
			continue;
		size_t j = 1;
		while (j < nl && ascii_lower((unsigned char)h[i + j]) == ascii_lower((unsigned char)n[j]))
			j++;
		if (j == nl)
			return true;
	}
	return false;
}

bool imap_search_hay_contains(struct imap_search_hay *h, const struct imap_search_needle *n)
{
	if (n->len == 0)
		return true;
	if (h->text == NULL)
		return false;
	if (n->ascii)
		return ascii_ci_find(h->text, h->len, n->text, n->len);
	if (h->folded == NULL)
		h->folded = fold(h->text, h->len, &h->flen);
	return memmem(h->folded, h->flen, n->folded, n->flen) != NULL;
}

bool imap_search_str_contains(const char *s, const struct imap_search_needle *n)
{
	if (s == NULL)
		return false;
	if (n->ascii)
		return ascii_ci_find(s, strlen(s), n->text, n->len);
	size_t flen;
	char *f = fold(s, strlen(s), &flen);
	bool found = memmem(f, flen, n->folded, n->flen) != NULL;
	free(f);
	return found;
}

/* --- headers --- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Walk the fields of a header block: calls back with the field name and
 * its raw (folded) value; stops at the blank line. */
typedef void field_fn(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen);

static void each_field(const char *h, size_t len, field_fn *fn, void *ctx)
{
	size_t i = 0;
	while (i < len && h[i] != '\r' && h[i] != '\n') {
		size_t start = i;
		do {
			const char *nl = memchr(h + i, '\n', len - i);
			i = nl != NULL ? (size_t)(nl - h) + 1 : len;
		} while (i < len && is_wsp(h[i]));
		const char *colon = memchr(h + start, ':', i - start);
		if (colon == NULL)
			continue;
		size_t nlen = (size_t)(colon - (h + start));
		while (nlen > 0 && is_wsp(h[start + nlen - 1]))
			nlen--;
		fn(ctx, h + start, nlen, colon + 1, (size_t)(h + i - colon - 1));
	}
}

/* Unfolded, trimmed, decoded value appended to out. */
static void append_decoded(struct buf *out, const char *val, size_t vlen)
{
	struct buf raw;
	buf_init(&raw, SIZE_MAX);
	for (size_t i = 0; i < vlen; i++)
		if (val[i] != '\r' && val[i] != '\n' && val[i] != '\0')
			buf_putc(&raw, val[i]);
	size_t a = 0, b = raw.len;
	while (a < b && is_wsp(raw.data[a]))
		a++;
	while (b > a && is_wsp(raw.data[b - 1]))
		b--;
	if (b > a) {
		raw.data[b] = '\0';
		mime_index_global_init();
		char *dec = g_mime_utils_header_decode_text(NULL, raw.data + a);
		if (dec != NULL) {
			buf_puts(out, dec);
			g_free(dec);
		}
	}
	buf_free(&raw);
}

struct all_ctx {
	struct buf out;
};

static void all_field(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct all_ctx *c = ctx;
	buf_append(&c->out, name, nlen);
	buf_puts(&c->out, ": ");
	append_decoded(&c->out, val, vlen);
	buf_putc(&c->out, '\n');
}

char *imap_search_header_text(const char *hdr, size_t len, size_t *len_r)
{
	struct all_ctx c;
	buf_init(&c.out, SIZE_MAX);
	each_field(hdr, len, all_field, &c);
	*len_r = c.out.len;
	buf_putc(&c.out, '\0');
	return buf_steal(&c.out);
}

struct one_ctx {
	const char *want;
	bool found, decode;
	struct buf out;
};

static void one_field(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct one_ctx *c = ctx;
	if (nlen != strlen(c->want) || strncasecmp(name, c->want, nlen) != 0)
		return;
	if (c->found)
		buf_putc(&c->out, '\n');
	c->found = true;
	if (c->decode) {
		append_decoded(&c->out, val, vlen);
	} else {
		for (size_t i = 0; i < vlen; i++)
			if (val[i] != '\r' && val[i] != '\n')
				buf_putc(&c->out, val[i]);
	}
}

static char *field_value(const char *hdr, size_t len, const char *field, bool decode)
{
	struct one_ctx c = {.want = field, .decode = decode};
	buf_init(&c.out, SIZE_MAX);
	each_field(hdr, len, one_field, &c);
	if (!c.found) {
		buf_free(&c.out);
		return NULL;
	}
	buf_putc(&c.out, '\0');
	return buf_steal(&c.out);
}

char *imap_search_header_field(const char *hdr, size_t len, const char *field)
{
	return field_value(hdr, len, field, true);
}

int64_t imap_search_date_zone(const char *hdr, size_t len)
{
	char *d = field_value(hdr, len, "date", false);
	int64_t off = 0;
	/* the zone is the last "+hhmm" / "-hhmm" after a space (RFC 5322 3.3) */
	for (const char *p = d; p != NULL && *p; p++) {
		if ((p[0] == '+' || p[0] == '-') && p > d && p[-1] == ' ' &&
		    strspn(p + 1, "0123456789") >= 4) {
			off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
			      ((p[3] - '0') * 10 + (p[4] - '0')) * 60;
			if (p[0] == '-')
				off = -off;
		}
	}
	free(d);
	return off;
}

/* --- bodies --- */

/* Undo the Content-Transfer-Encoding (mail/transfer.h); uuencode, which
 * only old mailers use, through GMime; anything unknown is searched as is. */
static char *body_decode(const char *in, size_t n, const char *cte, size_t *len_r)
{
	char *out = transfer_decode(cte, in, n, len_r);
	if (out != NULL)
		return out;
	if (g_mime_content_encoding_from_string(cte) == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeEncoding st;
		g_mime_encoding_init_decode(&st, GMIME_CONTENT_ENCODING_UUENCODE);
		out = xmalloc(g_mime_encoding_outlen(&st, n) + 16);
		size_t got = g_mime_encoding_step(&st, in, n, out);
		got += g_mime_encoding_flush(&st, NULL, 0, out + got);
		out[got] = '\0';
		*len_r = got;
		return out;
	}
	return transfer_decode("binary", in, n, len_r);
}

/* The part's charset parameter from its Content-Type (malloc'd or NULL). */
static char *part_charset(const char *hdr, size_t len)
{
	char *ct = field_value(hdr, len, "content-type", false);
	if (ct == NULL)
		return NULL;
	char *cs = NULL;
	GMimeContentType *t = g_mime_content_type_parse(NULL, ct);
	if (t != NULL) {
		const char *v = g_mime_content_type_get_parameter(t, "charset");
		if (v != NULL)
			cs = xstrdup(v);
		g_object_unref(t);
	}
	free(ct);
	return cs;
}

/* Text in `charset` to valid UTF-8 (unknown charsets: Latin-1 guess for
 * 8-bit text that is not UTF-8). */
static void to_utf8(struct buf *out, const char *in, size_t n, const char *charset)
{
	gchar *conv = NULL;
	if (charset != NULL && strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0) {
		iconv_t cd = g_mime_iconv_open("UTF-8", charset);
		if (cd != (iconv_t)-1) {
			conv = g_mime_iconv_strndup(cd, in, n);
			g_mime_iconv_close(cd);
		}
	}
	if (conv == NULL && !g_utf8_validate(in, (gssize)n, NULL)) {
		iconv_t cd = g_mime_iconv_open("UTF-8", "windows-1252");
		if (cd != (iconv_t)-1) {
			conv = g_mime_iconv_strndup(cd, in, n);
			g_mime_iconv_close(cd);
		}
	}
	gchar *valid = g_utf8_make_valid(conv != NULL ? conv : in, conv != NULL ? -1 : (gssize)n);
	buf_puts(out, valid);
	g_free(valid);
	g_free(conv);
}

static void put_codepoint(struct buf *out, gunichar c)
{
	char u[8];
	int n = g_unichar_to_utf8(c, u);
	buf_append(out, u, (size_t)n);
}

/* "&...;" at s (after '&'): decoded into out; returns bytes consumed after
 * '&', 0 when it is not an entity we know. */
static size_t html_entity(const char *s, size_t n, struct buf *out)
{
	static const struct {
		const char *name;
		gunichar c;
	} names[] = {
		{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
		{"nbsp", ' '}, {"eacute", 0xe9}, {"egrave", 0xe8}, {"agrave", 0xe0},
		{"uuml", 0xfc}, {"ouml", 0xf6}, {"auml", 0xe4}, {"szlig", 0xdf}, {"euro", 0x20ac},
	};
	const char *semi = memchr(s, ';', n < SEARCH_MAX_ENTITY + 1 ? n : SEARCH_MAX_ENTITY + 1);
	if (semi == NULL || semi == s)
		return 0;
	size_t len = (size_t)(semi - s);
	if (s[0] == '#') {
		bool hex = len > 1 && (s[1] == 'x' || s[1] == 'X');
		size_t i = hex ? 2 : 1;
		gunichar c = 0;
		if (i >= len)
			return 0;
		for (; i < len; i++) {
			int d = g_ascii_xdigit_value(s[i]);
			if (d < 0 || (!hex && d > 9) || c > 0x10ffff)
				return 0;
			c = c * (hex ? 16 : 10) + (gunichar)d;
		}
		if (c == 0 || c > 0x10ffff)
			return 0;
		put_codepoint(out, c);
		return len + 1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len && memcmp(s, names[i].name, len) == 0) {
			put_codepoint(out, names[i].c);
			return len + 1;
		}
	}
	return 0;
}

static bool is_inline_tag(const char *tag)
{
	static const char *const inl[] = {"a", "b", "i", "u", "em", "strong", "span", "font",
					  "small", "big", "sub", "sup", "code", "tt", "s", "mark"};
	for (size_t i = 0; i < sizeof(inl) / sizeof(inl[0]); i++)
		if (strcmp(tag, inl[i]) == 0)
			return true;
	return false;
}

/* HTML to its text: tags become spaces, <script>/<style> contents and
 * comments go, entities are decoded, runs of white space become one
 * space (as a browser shows them). Linear in the input. */
static void html_to_text(struct buf *out, const char *s, size_t n)
{
	const char *skip_until = NULL;	/* "</script" or "</style" */
	for (size_t i = 0; i < n;) {
		if (skip_until != NULL) {
			size_t sl = strlen(skip_until);
			if (i + sl <= n && strncasecmp(s + i, skip_until, sl) == 0) {
				const char *gt = memchr(s + i, '>', n - i);
				i = gt != NULL ? (size_t)(gt - s) + 1 : n;
				skip_until = NULL;
				buf_putc(out, ' ');
			} else {
				i++;
			}
			continue;
		}
		if (s[i] == '<') {
			if (i + 4 <= n && memcmp(s + i, "<!--", 4) == 0) {
				const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
				i = end != NULL ? (size_t)(end - s) + 3 : n;
				buf_putc(out, ' ');
				continue;
			}
			char tag[SEARCH_MAX_TAG_NAME + 1];
			size_t t = 0;
			bool closing = i + 1 < n && s[i + 1] == '/';
			size_t j0 = closing ? i + 2 : i + 1;
			for (size_t j = j0; j < n && t < SEARCH_MAX_TAG_NAME && g_ascii_isalpha(s[j]); j++)
				tag[t++] = g_ascii_tolower(s[j]);
			tag[t] = '\0';
			const char *gt = memchr(s + i, '>', n - i);
			i = gt != NULL ? (size_t)(gt - s) + 1 : n;
			if (closing)
				;
			else if (strcmp(tag, "script") == 0)
				skip_until = "</script";
			else if (strcmp(tag, "style") == 0)
				skip_until = "</style";
			/* inline tags (<b>, <span>) join words; others separate */
			if (!is_inline_tag(tag))
				buf_putc(out, ' ');
			continue;
		}
		if (s[i] == '&') {
			size_t used = html_entity(s + i + 1, n - i - 1, out);
			if (used > 0) {
				i += used + 1;
				continue;
			}
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			if (out->len > 0 && out->data[out->len - 1] != ' ')
				buf_putc(out, ' ');
			i++;
			continue;
		}
		buf_putc(out, s[i++]);
	}
}

char *imap_search_body_text(const char *data, size_t len, size_t prefix_len, const char *parts,
			    size_t *len_r)
{
	struct buf out;
	buf_init(&out, SIZE_MAX);
	mime_index_global_init();
	const char *content = data + prefix_len;
	size_t clen = len - prefix_len;
	for (const char *line = parts; line != NULL && *line;) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char tmp[SEARCH_MAX_PARTS_LINE], section[128], cte[128], type[256];
		size_t hs, bs, end;
		if (ll < sizeof(tmp)) {
			memcpy(tmp, line, ll);
			tmp[ll] = '\0';
		} else {
			tmp[0] = '\0';
		}
		line = nl != NULL ? nl + 1 : NULL;
		if (sscanf(tmp, "%127s %zu %zu %zu %127s %255s", section, &hs, &bs, &end, cte, type) != 6 ||
		    hs > bs || bs > end || end > clen)
			continue;
		size_t sl = strlen(section);
		if (strcmp(section, "0") == 0)
			continue;	/* the top header is not body text */
		if (sl >= 2 && strcmp(section + sl - 2, ".0") == 0) {
			/* an attached message: its header is part of our body */
			size_t hl;
			char *h = imap_search_header_text(content + hs, bs - hs, &hl);
			buf_append(&out, h, hl);
			free(h);
			continue;
		}
		if (strncasecmp(type, "text/", 5) != 0)
			continue;	/* multiparts, messages, attachments */
		size_t dl;
		char *dec = body_decode(content + bs, end - bs, cte, &dl);
		char *charset = part_charset(content + hs, bs - hs);
		struct buf utf8;
		buf_init(&utf8, SIZE_MAX);
		to_utf8(&utf8, dec, dl, charset);
		if (strcasecmp(type, "text/html") == 0)
			html_to_text(&out, utf8.data ? utf8.data : "", utf8.len);
		else
			buf_append(&out, utf8.data ? utf8.data : "", utf8.len);
		buf_putc(&out, '\n');
		buf_free(&utf8);
		free(charset);
		free(dec);
	}
	*len_r = out.len;
	buf_putc(&out, '\0');
	return buf_steal(&out);
}
