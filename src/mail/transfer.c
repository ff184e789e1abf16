/* transfer: see transfer.h. */
#include "mail/transfer.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Decoded output never exceeds the input, so one buffer of the input's
 * size (plus the terminator) always suffices. */
static void buf_for(struct buf *b, size_t len)
{
	buf_init(b, len + 1);
}

int transfer_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void transfer_base64_decode(const char *in, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	int nbits = 0;
	for (size_t i = 0; i < len && in[i] != '='; i++) {
		int v = base64_value((unsigned char)in[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			buf_putc(out, (char)((acc >> nbits) & 0xff));
		}
	}
}

static bool at_line_end(const char *in, size_t len, size_t j)
{
	return j == len || in[j] == '\n' || (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n');
}

void transfer_qp_decode(const char *in, size_t len, struct buf *out)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		if (c == ' ' || c == '\t') {
			/* whitespace before a line end is padding (6.7 rule 3) */
			size_t j = i;
			while (j < len && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (!at_line_end(in, len, j))
				buf_append(out, in + i, j - i);
			i = j;
			continue;
		}
		if (c != '=') {
			buf_putc(out, (char)c);
			i++;
			continue;
		}
		/* soft line break: "=" [spaces] CRLF / LF, or "=" at the end */
		size_t j = i + 1;
		while (j < len && (in[j] == ' ' || in[j] == '\t'))
			j++;
		if (at_line_end(in, len, j)) {
			i = j == len ? j : j + (in[j] == '\r' ? 2 : 1);
			continue;
		}
		int hi = i + 1 < len ? transfer_hex_value((unsigned char)in[i + 1]) : -1;
		int lo = i + 2 < len ? transfer_hex_value((unsigned char)in[i + 2]) : -1;
		if (hi >= 0 && lo >= 0) {
			buf_putc(out, (char)(hi * 16 + lo));
			i += 3;
		} else {
			buf_putc(out, '=');
			i++;
		}
	}
}

char *transfer_decode(const char *cte, const char *in, size_t len, size_t *len_r)
{
	struct buf out;
	buf_for(&out, len);
	if (strcasecmp(cte, "base64") == 0)
		transfer_base64_decode(in, len, &out);
	else if (strcasecmp(cte, "quoted-printable") == 0)
		transfer_qp_decode(in, len, &out);
	else if (*cte == '\0' || strcasecmp(cte, "7bit") == 0 || strcasecmp(cte, "8bit") == 0 ||
		 strcasecmp(cte, "binary") == 0)
		buf_append(&out, in, len);
	else
		return NULL;
	*len_r = out.len;
	return buf_steal(&out);
}
