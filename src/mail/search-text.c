/* search-text: see search-text.h. GMime does the transfer decodings
 * (with mail/transfer.h), charset conversion and RFC 2047 words; GLib the
 * Unicode normalisation and case folding. */
#include "mail/search-text.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/mime-decode.h"
#include "mail/mime-index.h"
#include "mail/transfer.h"
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes of one part-map line we accept; longer lines are skipped. */
#define TEXT_MAX_PARTS_LINE 512
/* An HTML tag name we look at to skip <script>/<style> contents. */
#define TEXT_MAX_TAG_NAME 16
/* Longest HTML entity name or number we decode ("&thetasym;"). */
#define TEXT_MAX_ENTITY 10

/* Is a cut before s[i] safe for normalisation? Yes before a character
 * below U+0300 (ASCII, or a lead byte 0xc2..0xcb): those have combining
 * class 0 and are never the second half of a canonical composition
 * (UAX #15), so nothing before the cut composes or reorders with what
 * follows. They are never continuation bytes either, so each piece is
 * valid UTF-8 exactly where the whole was. */
static bool fold_cut_ok(unsigned char c)
{
	return c < 0x80 || (c >= 0xc2 && c <= 0xcb);
}

/* The end of the piece that starts at `from`. */
static size_t fold_cut(const char *s, size_t len, size_t from)
{
	if (len - from <= SEARCH_TEXT_FOLD_PIECE_MAX)
		return len;
	for (size_t i = from + SEARCH_TEXT_FOLD_PIECE; i < from + SEARCH_TEXT_FOLD_PIECE_MAX; i++)
		if (fold_cut_ok((unsigned char)s[i]))
			return i;
	/* no such character for a whole piece (text without spaces in a
	 * script of composed letters): cut before any character */
	size_t i = from + SEARCH_TEXT_FOLD_PIECE_MAX;
	while (i > from + 1 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return i;
}

/* Fold at most until `max` bytes are out: GLib's g_utf8_normalize() costs
 * the square of its input's length when it composes characters (every
 * composition moves the rest of its buffer), so it gets pieces of at most
 * SEARCH_TEXT_FOLD_PIECE_MAX bytes and the whole stays linear. */
static char *fold_max(const char *s, size_t len, size_t max, size_t *len_r)
{
	struct buf out;
	buf_init(&out, SIZE_MAX);
	for (size_t at = 0; at < len && out.len <= max;) {
		size_t end = fold_cut(s, len, at);
		gchar *valid = g_utf8_make_valid(s + at, (gssize)(end - at));
		gchar *norm = g_utf8_normalize(valid, -1, G_NORMALIZE_ALL_COMPOSE);
		gchar *f = g_utf8_casefold(norm != NULL ? norm : valid, -1);
		buf_puts(&out, f);
		g_free(f);
		g_free(norm);
		g_free(valid);
		at = end;
	}
	*len_r = out.len;
	return buf_steal(&out);
}

char *search_text_fold(const char *s, size_t len, size_t *len_r)
{
	return fold_max(s, len, SIZE_MAX, len_r);
}

bool search_text_find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	return hay != NULL && memmem(hay, hlen, needle, nlen) != NULL;
}

bool search_text_header_find(const char *hdr, size_t hlen, const char *field, const char *needle,
			     size_t nlen)
{
	size_t flen = strlen(field);
	for (size_t i = 0; hdr != NULL && i < hlen;) {
		const char *nl = memchr(hdr + i, '\n', hlen - i);
		size_t end = nl != NULL ? (size_t)(nl - hdr) : hlen;
		/* "name: value" as search_text_header() writes it */
		if (end - i >= flen + 2 && memcmp(hdr + i, field, flen) == 0 &&
		    hdr[i + flen] == ':' && hdr[i + flen + 1] == ' ' &&
		    search_text_find(hdr + i + flen + 2, end - i - flen - 2, needle, nlen))
			return true;
		i = end + 1;
	}
	return false;
}

/* Fold `s` (taking it) and cut it to `max` bytes on a character boundary. */
static char *fold_owned(char *s, size_t len, size_t max, size_t *len_r)
{
	/* NUL would end the folding early: a space matches nothing either */
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	char *f = fold_max(s, len, max, len_r);
	free(s);
	if (*len_r > max) {
		size_t n = max;
		while (n > 0 && ((unsigned char)f[n] & 0xc0) == 0x80)
			n--;
		f[n] = '\0';
		*len_r = n;
	}
	return f;
}

char *search_text_header_folded(const char *hdr, size_t len, size_t *len_r)
{
	size_t n;
	char *t = search_text_header(hdr, len, &n);
	return fold_owned(t, n, SEARCH_TEXT_MAX_HEADER, len_r);
}

void search_text_build_header(struct search_text *t, const char *prefix, size_t prefix_len,
			      const char *content, size_t len)
{
	free(t->prefix);
	free(t->header);
	t->prefix = search_text_header_folded(prefix != NULL ? prefix : "", prefix_len,
					      &t->prefix_len);
	t->header = search_text_header_folded(content, len, &t->header_len);
}

void search_text_build_body(struct search_text *t, const char *content, size_t len,
			    const char *parts)
{
	size_t n;
	free(t->body);
	char *b = search_text_body(content, len, parts, &n);
	t->body = fold_owned(b, n, SEARCH_TEXT_MAX_BODY, &t->body_len);
}

void search_text_build(struct search_text *t, const char *prefix, size_t prefix_len,
		       const char *content, size_t len, const char *parts)
{
	memset(t, 0, sizeof(*t));
	search_text_build_header(t, prefix, prefix_len, content, len);
	search_text_build_body(t, content, len, parts);
}

void search_text_clear(struct search_text *t)
{
	free(t->prefix);
	free(t->header);
	free(t->body);
	memset(t, 0, sizeof(*t));
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
		/* the indexer's decoder: linear, capped per field */
		char *dec = mime_decode_header_text_n(raw.data + a, b - a, NULL);
		buf_puts(out, dec);
		free(dec);
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

char *search_text_header(const char *hdr, size_t len, size_t *len_r)
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

char *search_text_header_field(const char *hdr, size_t len, const char *field, bool decode)
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
	char *ct = search_text_header_field(hdr, len, "content-type", false);
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
	const char *semi = memchr(s, ';', n < TEXT_MAX_ENTITY + 1 ? n : TEXT_MAX_ENTITY + 1);
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
			char tag[TEXT_MAX_TAG_NAME + 1];
			size_t t = 0;
			bool closing = i + 1 < n && s[i + 1] == '/';
			size_t j0 = closing ? i + 2 : i + 1;
			for (size_t j = j0; j < n && t < TEXT_MAX_TAG_NAME && g_ascii_isalpha(s[j]); j++)
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

char *search_text_body(const char *content, size_t clen, const char *parts, size_t *len_r)
{
	struct buf out;
	buf_init(&out, SIZE_MAX);
	mime_index_global_init();
	for (const char *line = parts; line != NULL && *line;) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char tmp[TEXT_MAX_PARTS_LINE], section[128], cte[128], type[256];
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
			char *h = search_text_header(content + hs, bs - hs, &hl);
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
