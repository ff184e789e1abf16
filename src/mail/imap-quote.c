/* imap-quote: IMAP quoted strings and literals; see imap-quote.h. */
#include "mail/imap-quote.h"
#include <stdbool.h>
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

void imap_quote_string(struct buf *out, const char *s, size_t n)
{
	if (quotable(s, n)) {
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
		return;
	}
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

void imap_quote_nstring(struct buf *out, const char *s, size_t n)
{
	if (s == NULL)
		buf_puts(out, "NIL");
	else
		imap_quote_string(out, s, n);
}
