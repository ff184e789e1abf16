/* imap-quote: IMAP quoted strings and literals; see imap-quote.h. */
#include "mail/imap-quote.h"
#include <stdint.h>
#include <stdio.h>

/* RFC 3501 9: QUOTED-CHAR is any TEXT-CHAR (CHAR %x01-7F minus CR and LF). */
static bool quotable(const char *s, size_t n)
{
	if (n > IMAP_QUOTE_MAX_QUOTED)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80 || c == '\r' || c == '\n')
			return false;
	}
	return true;
}

bool imap_quote_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4, cp = c & 0x07;
		} else {
			return false; /* continuation byte, C0/C1 overlong lead, > F4 */
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* shortest form only; no UTF-16 surrogates; Unicode's range */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

/* RFC 6855 3 uQUOTED-CHAR: QUOTED-CHAR plus well-formed UTF-8. */
static bool quotable_utf8(const char *s, size_t n)
{
	if (n > IMAP_QUOTE_MAX_QUOTED)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n')
			return false;
	return imap_quote_utf8_valid(s, n);
}

static void put_quoted(struct buf *out, const char *s, size_t n)
{
	buf_putc(out, '"');
	size_t run = 0;	/* copy unescaped runs in one append */
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '"' || c == '\\' || c == '\0') {
			buf_append(out, s + run, i - run);
			if (c != '\0') {
				buf_putc(out, '\\');
				buf_putc(out, c);
			}
			run = i + 1;
		}
	}
	buf_append(out, s + run, n - run);
	buf_putc(out, '"');
}

static void put_literal(struct buf *out, const char *s, size_t n)
{
	size_t nuls = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			nuls++;
	buf_printf(out, "{%zu}\r\n", n - nuls);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0') {
			buf_append(out, s + run, i - run);
			run = i + 1;
		}
	}
	buf_append(out, s + run, n - run);
}

void imap_quote_string(struct buf *out, const char *s, size_t n)
{
	if (quotable(s, n))
		put_quoted(out, s, n);
	else
		put_literal(out, s, n);
}

void imap_quote_string_utf8(struct buf *out, const char *s, size_t n)
{
	if (quotable_utf8(s, n))
		put_quoted(out, s, n);
	else
		put_literal(out, s, n);
}

void imap_quote_nstring(struct buf *out, const char *s, size_t n)
{
	if (s == NULL)
		buf_puts(out, "NIL");
	else
		imap_quote_string(out, s, n);
}
