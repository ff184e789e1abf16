/*
 * base64: RFC 4648 section 4 encoding, and a strict decoder for what
 * clients send in SASL exchanges: only the standard alphabet, padding only
 * at the end and only as much as the final quantum needs, no whitespace.
 */
#include "lib/base64.h"
#include "lib/alloc.h"
#include <stdint.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1);
	size_t o = 0, i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

char *base64_decode(const char *s, size_t len, size_t *len_r)
{
	char *out;
	size_t o = 0;

	/* RFC 4648 section 3.5: encoded data is a whole number of quanta. */
	if (len % 4 != 0)
		return NULL;
	out = xmalloc(len / 4 * 3 + 1);
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		int last = i + 4 == len;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c == '=' && last && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* Data after padding, or padding too early: reject. */
			if (pad > 0 || (v[k] = base64_value(c)) < 0) {
				xfree(&out);
				return NULL;
			}
		}
		uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Section 3.5: bits after the last full octet must be zero. */
		if ((pad == 1 && (q & 0xff) != 0) || (pad == 2 && (q & 0xffff) != 0)) {
			xfree(&out);
			return NULL;
		}
		out[o++] = (char)(q >> 16);
		if (pad < 2)
			out[o++] = (char)(q >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (char)(q & 0xff);
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}
