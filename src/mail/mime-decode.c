/*
 * mime-decode: header text to UTF-8 for SEARCH and SORT: RFC 2047
 * encoded-words decoded, white space between adjacent encoded-words dropped
 * (RFC 2047 6.2), raw 8-bit text and unknown charsets converted by GMime's
 * charset guessing. Our own word scanner because GMime 3.2 loses text when
 * adjacent base64 words carry padding ("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?="
 * decodes to one "é"). Decoded bytes of adjacent words in one charset are
 * joined before conversion, so a character split across words survives.
 * Each byte is looked at a bounded number of times: linear. A field with
 * more than MIME_DECODE_MAX_WORDS words keeps the rest raw; its output
 * stops at MIME_DECODE_MAX_OUTPUT bytes (mime-decode.h).
 */
#include "mail/mime-decode.h"
#include "mail/mime-index-private.h"
#include "mail/transfer.h"
#include "lib/alloc.h"
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_MAX_CHARSET 64	/* longer charset names are not encoded-words */

struct ew {
	size_t end;		/* just after "?=" */
	const char *charset;
	size_t charset_len;
	char enc;		/* 'b' or 'q' */
	const char *text;
	size_t text_len;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An encoded-word "=?charset[*lang]?B|Q?text?=" starting at s[i]? */
static bool parse_ew(const char *s, size_t n, size_t i, struct ew *w)
{
	if (i + 1 >= n || s[i] != '=' || s[i + 1] != '?')
		return false;
	size_t p = i + 2, cs = p;
	while (p < n && s[p] != '?' && !is_space(s[p]) && p - cs <= MIME_MAX_CHARSET)
		p++;
	if (p >= n || s[p] != '?' || p == cs || p - cs > MIME_MAX_CHARSET)
		return false;
	w->charset = s + cs;
	w->charset_len = p - cs;
	const char *star = memchr(w->charset, '*', w->charset_len);	/* RFC 2231 5 */
	if (star != NULL)
		w->charset_len = (size_t)(star - w->charset);
	if (p + 2 >= n || s[p + 2] != '?')
		return false;
	char e = s[p + 1];
	if (e != 'b' && e != 'B' && e != 'q' && e != 'Q')
		return false;
	w->enc = (e == 'b' || e == 'B') ? 'b' : 'q';
	p += 3;
	size_t t = p;
	while (p < n && s[p] != '?' && !is_space(s[p]))
		p++;
	if (p + 1 >= n || s[p] != '?' || s[p + 1] != '=')
		return false;
	w->text = s + t;
	w->text_len = p - t;
	w->end = p + 2;
	return true;
}

/* Tolerant decoders: bad characters are skipped, never an error. */
static void decode_word(const struct ew *w, struct buf *out)
{
	if (w->enc == 'b') {
		transfer_base64_decode(w->text, w->text_len, out);
		return;
	}
	for (size_t i = 0; i < w->text_len; i++) {
		char c = w->text[i];
		int hi, lo;
		if (c == '_') {
			buf_putc(out, ' ');
		} else if (c == '=' && i + 2 < w->text_len &&
			   (hi = transfer_hex_value((unsigned char)w->text[i + 1])) >= 0 &&
			   (lo = transfer_hex_value((unsigned char)w->text[i + 2])) >= 0) {
			buf_putc(out, (char)(hi << 4 | lo));
			i += 2;
		} else {
			buf_putc(out, c);
		}
	}
}

/* The output of one field: UTF-8 up to MIME_DECODE_MAX_OUTPUT bytes. */
struct out {
	struct buf b;
	bool full;
	/* the last charset converter opened: adjacent words in one foreign
	 * charset that could not be joined reuse it */
	iconv_t cd;
	char cd_charset[MIME_MAX_CHARSET + 1];
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->b.len + n > MIME_DECODE_MAX_OUTPUT) {
		n = MIME_DECODE_MAX_OUTPUT - o->b.len;
		/* cut on a character boundary */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		o->full = true;
	}
	buf_append(&o->b, s, n);
}

static iconv_t converter(struct out *o, const char *charset)
{
	if (o->cd != (iconv_t)-1 && strcasecmp(o->cd_charset, charset) == 0)
		return o->cd;
	if (o->cd != (iconv_t)-1)
		g_mime_iconv_close(o->cd);
	o->cd = g_mime_iconv_open("UTF-8", charset);
	snprintf(o->cd_charset, sizeof(o->cd_charset), "%s", charset);
	return o->cd;
}

/* Append bytes in charset (NULL: unknown, raw 8-bit) to out as UTF-8. */
static void convert(struct out *o, const char *charset, const char *s, size_t n)
{
	if (n == 0 || o->full)
		return;
	char *u = NULL;
	if (charset != NULL && strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0) {
		iconv_t cd = converter(o, charset);
		if (cd != (iconv_t)-1)
			u = g_mime_iconv_strndup(cd, s, n);
	}
	if (u == NULL) {
		bool ascii = true;
		for (size_t i = 0; i < n && ascii; i++)
			ascii = (unsigned char)s[i] < 0x80;
		if (ascii || g_utf8_validate(s, (gssize)n, NULL)) {
			put(o, s, n);
			return;
		}
		/* Unknown charset or raw 8-bit: GMime guesses (its fallback
		 * charsets, then Latin-1), always yielding UTF-8. */
		u = g_mime_utils_decode_8bit(NULL, s, n);
	}
	if (u != NULL) {
		put(o, u, strlen(u));
		g_free(u);
	}
}

char *mime_decode_header_text_n(const char *s, size_t n, size_t *words_r)
{
	struct out o = {.cd = (iconv_t)-1};
	struct buf pend;
	mime_index_global_init();	/* GMime's charset tables */
	char charset[MIME_MAX_CHARSET + 1] = "";
	buf_init(&o.b, (size_t)-1);
	buf_init(&pend, (size_t)-1);	/* decoded bytes awaiting conversion */
	size_t i = 0, raw = 0, words = 0;
	bool prev_ew = false;
	/* past the word cap the rest is raw; past the output cap nothing
	 * more can be written, so the scan stops */
	while (i < n && words < MIME_DECODE_MAX_WORDS && !o.full) {
		struct ew w;
		if (!parse_ew(s, n, i, &w)) {
			i++;
			continue;
		}
		/* Text before the word: dropped if only white space between two
		 * encoded-words. */
		bool gap_is_space = prev_ew;
		for (size_t k = raw; k < i && gap_is_space; k++)
			gap_is_space = is_space(s[k]);
		bool same = pend.len > 0 && gap_is_space && strlen(charset) == w.charset_len &&
			    strncasecmp(charset, w.charset, w.charset_len) == 0;
		if (!same) {
			convert(&o, charset, pend.data, pend.len);
			buf_reset(&pend);
			if (!gap_is_space)
				convert(&o, NULL, s + raw, i - raw);
			memcpy(charset, w.charset, w.charset_len);
			charset[w.charset_len] = '\0';
		}
		decode_word(&w, &pend);
		/* a run of words in one charset is joined before conversion:
		 * convert it in pieces anyway, so pend stays small */
		if (pend.len > MIME_DECODE_MAX_OUTPUT) {
			convert(&o, charset, pend.data, pend.len);
			buf_reset(&pend);
		}
		i = raw = w.end;
		prev_ew = true;
		words++;
	}
	convert(&o, charset, pend.data, pend.len);
	convert(&o, NULL, s + raw, n - raw);
	buf_free(&pend);
	if (o.cd != (iconv_t)-1)
		g_mime_iconv_close(o.cd);
	if (words_r != NULL)
		*words_r = words;
	return buf_steal(&o.b);
}

char *mime_decode_header_text(const char *s, size_t n)
{
	return mime_decode_header_text_n(s, n, NULL);
}
