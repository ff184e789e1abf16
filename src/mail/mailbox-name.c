/*
 * mailbox-name: the modified UTF-7 codec of RFC 3501 section 5.1.3 and
 * name normalization. Modified UTF-7: printable ASCII (0x20-0x7e) stands for
 * itself except '&', written "&-"; other characters are UTF-16 encoded in a
 * modified base64 (',' instead of '/', no padding) between '&' and '-'.
 */
#include "mail/mailbox-name.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;
	return p ? (int)(p - b64chars) : -1;
}

/* Decode one UTF-8 sequence at s (len left); -1 if malformed. */
static int utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	int n;
	uint32_t cp, min;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if ((size_t)n > len)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*cp_r = cp;
	return n;
}

bool mailbox_name_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		if (p[i] == 0)
			return false;
		int n = utf8_next(p + i, len - i, &cp);
		if (n < 0)
			return false;
		i += (size_t)n;
	}
	return true;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
	char o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		o[0] = (char)(0xf0 | (cp >> 18)), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	}
	buf_append(b, o, n);
}

int mailbox_name_mutf7_decode(const char *in, char **out_r)
{
	struct buf b;
	buf_init(&b, MAILBOX_NAME_MAX_WIRE * 2);
	const char *p = in;
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e)
			goto fail;
		if (c != '&') {
			buf_putc(&b, (char)c);
			p++;
			continue;
		}
		p++;
		if (*p == '-') {
			buf_putc(&b, '&');
			p++;
			continue;
		}
		/* base64 run of UTF-16 code units up to '-' */
		uint32_t bits = 0;
		int nbits = 0;
		uint32_t high = 0; /* pending high surrogate */
		size_t units = 0;
		while (*p != '-') {
			int v = b64val(*p);
			if (v < 0)
				goto fail;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			p++;
			if (nbits >= 16) {
				nbits -= 16;
				uint32_t u = (bits >> nbits) & 0xffff;
				units++;
				if (high) {
					if (u < 0xdc00 || u > 0xdfff)
						goto fail;
					put_utf8(&b, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
					high = 0;
				} else if (u >= 0xd800 && u <= 0xdbff) {
					high = u;
				} else if (u >= 0xdc00 && u <= 0xdfff) {
					goto fail;
				} else {
					/* printable ASCII must not be encoded; U+0000
					 * would cut the name short ("Trash&AAA-x"
					 * becoming "Trash"): no name holds NUL */
					if ((u >= 0x20 && u <= 0x7e) || u == 0)
						goto fail;
					put_utf8(&b, u);
				}
			}
		}
		p++; /* '-' */
		/* leftover bits must be zero and fewer than 6; no empty runs */
		if (units == 0 || high || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
			goto fail;
		/* "&AGE-&AGI-" must be written as one run */
		if (*p == '&' && p[1] != '-')
			goto fail;
	}
	if (b.len > MAILBOX_NAME_MAX_WIRE * 2 - 8)
		goto fail;
	*out_r = b.data ? buf_steal(&b) : xstrdup("");
	return 0;
fail:
	buf_free(&b);
	return -1;
}

static void flush_b64(struct buf *b, uint32_t *bits, int *nbits)
{
	if (*nbits > 0)
		buf_putc(b, b64chars[(*bits << (6 - *nbits)) & 0x3f]);
	*bits = 0;
	*nbits = 0;
}

static void put_unit(struct buf *b, uint32_t u, uint32_t *bits, int *nbits)
{
	*bits = (*bits << 16) | u;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		buf_putc(b, b64chars[(*bits >> *nbits) & 0x3f]);
	}
	*bits &= (1u << *nbits) - 1;
}

int mailbox_name_mutf7_encode(const char *in, char **out_r)
{
	size_t len = strlen(in);
	if (!mailbox_name_utf8_valid(in, len))
		return -1;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	const unsigned char *p = (const unsigned char *)in;
	bool shifted = false;
	uint32_t bits = 0;
	int nbits = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		int n = utf8_next(p + i, len - i, &cp);
		i += (size_t)n;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (shifted) {
				flush_b64(&b, &bits, &nbits);
				buf_putc(&b, '-');
				shifted = false;
			}
			buf_puts(&b, cp == '&' ? "&-" : (char[]){(char)cp, 0});
			continue;
		}
		if (!shifted) {
			buf_putc(&b, '&');
			shifted = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put_unit(&b, 0xd800 + (cp >> 10), &bits, &nbits);
			put_unit(&b, 0xdc00 + (cp & 0x3ff), &bits, &nbits);
		} else {
			put_unit(&b, cp, &bits, &nbits);
		}
	}
	if (shifted) {
		flush_b64(&b, &bits, &nbits);
		buf_putc(&b, '-');
	}
	*out_r = b.data ? buf_steal(&b) : xstrdup("");
	return 0;
}

char *mailbox_name_normalize(const char *name)
{
	size_t len = strlen(name);
	while (len > 1 && name[len - 1] == '/')
		len--;
	char *r = xstrndup(name, len);
	if (strncasecmp(r, "INBOX", 5) == 0 && (r[5] == '\0' || r[5] == '/'))
		memcpy(r, "INBOX", 5);
	return r;
}
