/*
 * http-escape: every value a route inserts into XML or JSON goes through
 * here, whatever its source (an address from the query, a host name from
 * the config): XML 1.0 section 2.4 (markup characters) and RFC 8259
 * section 7 (strings).
 */
#include "http/http-private.h"

void http_xml_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '&': buf_puts(b, "&amp;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&apos;"); break;
		default:
			/* XML 1.0 allows no control characters but tab, LF, CR */
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				buf_putc(b, '?');
			else
				buf_putc(b, (char)c);
		}
	}
}

void http_json_string(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c < 0x20) {
			buf_printf(b, "\\u%04x", c);
		} else if (c == '<' || c == '>' || c == '&') {
			/* legal as is; escaped so the text is safe inside HTML too */
			buf_printf(b, "\\u%04x", c);
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}
