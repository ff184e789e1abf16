/*
 * sieve-encoded: the encoded-character extension (RFC 5228 2.4.2.4),
 * applied by the checker to every string of a script that requires it.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "lib/alloc.h"
#include "lib/buf.h"
#include "sieve/sieve-private.h"

/* RFC 5228 2.4.2.4 encoded-character: "${hex:...}" and "${unicode:...}"
 * inside strings are replaced at compile time. Malformed ones stay as
 * written; a code point outside Unicode is an error. */
int sv_decode_encoded(const struct sv_arg *a, struct sv_str *st, struct sieve_diag *diag)
{
	if (memmem(st->s, st->len, "${", 2) == NULL)
		return 0;
	struct buf b;
	buf_init(&b, st->len + 1);
	size_t i = 0;
	while (i < st->len) {
		bool hex = i + 6 <= st->len && strncasecmp(st->s + i, "${hex:", 6) == 0;
		bool uni = i + 10 <= st->len && strncasecmp(st->s + i, "${unicode:", 10) == 0;
		if (!hex && !uni) {
			buf_putc(&b, st->s[i++]);
			continue;
		}
		size_t j = i + (hex ? 6 : 10);
		const char *close = memchr(st->s + j, '}', st->len - j);
		if (close == NULL) {
			buf_putc(&b, st->s[i++]);
			continue;
		}
		size_t end = (size_t)(close - st->s);
		/* validate and decode into a scratch buffer */
		char out[1024];
		size_t on = 0;
		bool ok = true;
		size_t k = j;
		while (ok && k < end) {
			while (k < end && (st->s[k] == ' ' || st->s[k] == '\t'))
				k++;
			if (k >= end)
				break;
			uint32_t v = 0;
			size_t digits = 0;
			while (k < end && isxdigit((unsigned char)st->s[k])) {
				char ch = (char)tolower((unsigned char)st->s[k]);
				if (v < 0x1000000)
					v = v * 16 + (uint32_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
				digits++;
				k++;
			}
			if (digits == 0 || (k < end && st->s[k] != ' ' && st->s[k] != '\t')) {
				ok = false;
				break;
			}
			if (hex) {
				if (digits > 2 || on + 1 > sizeof(out)) {
					ok = false;
					break;
				}
				out[on++] = (char)v;
			} else {
				if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
					buf_free(&b);
					sv_diag(diag, a->line, a->column,
						"encoded-character: invalid Unicode code point");
					return -1;
				}
				if (on + 4 > sizeof(out)) {
					ok = false;
					break;
				}
				if (v < 0x80) {
					out[on++] = (char)v;
				} else if (v < 0x800) {
					out[on++] = (char)(0xc0 | (v >> 6));
					out[on++] = (char)(0x80 | (v & 0x3f));
				} else if (v < 0x10000) {
					out[on++] = (char)(0xe0 | (v >> 12));
					out[on++] = (char)(0x80 | ((v >> 6) & 0x3f));
					out[on++] = (char)(0x80 | (v & 0x3f));
				} else {
					out[on++] = (char)(0xf0 | (v >> 18));
					out[on++] = (char)(0x80 | ((v >> 12) & 0x3f));
					out[on++] = (char)(0x80 | ((v >> 6) & 0x3f));
					out[on++] = (char)(0x80 | (v & 0x3f));
				}
			}
		}
		if (!ok) {
			buf_putc(&b, st->s[i++]);
			continue;
		}
		buf_append(&b, out, on);
		i = end + 1;
	}
	free(st->s);
	st->len = b.len;
	st->s = b.data != NULL ? buf_steal(&b) : xstrdup("");
	st->var = memmem(st->s, st->len, "${", 2) != NULL;
	return 0;
}
