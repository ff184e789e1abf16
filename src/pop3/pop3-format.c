/*
 * pop3-format: a stored message in the form POP3 sends it. RFC 1939
 * section 3: every line ends in CRLF and a line starting with "." gets one
 * more "." (byte-stuffing). Messages may be stored with bare LF, so both the
 * octet count of LIST/STAT (section 11: count as if CRLF) and RETR's output
 * come from the same line walk below, which keeps them equal by design.
 */
#include "pop3/pop3-private.h"
#include "lib/buf.h"
#include <string.h>

/* The line starting at `pos`: its text without the line ending, and where
 * the next line starts. A final line without LF is a line too; one trailing
 * CR is part of the line ending, a CR elsewhere is data. */
static void next_line(const char *data, size_t len, size_t pos, size_t *text_len_r,
		      size_t *next_r)
{
	const char *lf = memchr(data + pos, '\n', len - pos);
	size_t end = lf != NULL ? (size_t)(lf - data) : len;

	*next_r = lf != NULL ? end + 1 : len;
	if (end > pos && data[end - 1] == '\r')
		end--;
	*text_len_r = end - pos;
}

int64_t pop3_format_size(const char *data, size_t len)
{
	int64_t size = 0;
	size_t pos = 0, text, next;

	while (pos < len) {
		next_line(data, len, pos, &text, &next);
		size += (int64_t)text + 2;
		pos = next;
	}
	return size;
}

bool pop3_format_chunk(const char *data, size_t len, size_t *pos, size_t max_in,
		       struct buf *out, bool top, bool *in_body, uint64_t *lines_left)
{
	size_t start = *pos, text, next;

	while (*pos < len) {
		/* TOP (RFC 1939 section 7): the header, the blank line, then
		 * at most n lines of the body. */
		if (top && *in_body) {
			if (*lines_left == 0)
				return true;
			(*lines_left)--;
		}
		next_line(data, len, *pos, &text, &next);
		if (text > 0 && data[*pos] == '.')
			buf_putc(out, '.');
		buf_append(out, data + *pos, text);
		buf_append(out, "\r\n", 2);
		if (top && !*in_body && text == 0)
			*in_body = true;
		*pos = next;
		if (*pos - start >= max_in)
			break;
	}
	return *pos >= len;
}
