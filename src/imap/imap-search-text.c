/* imap-search-text: see imap-search-text.h. */
#include "imap/imap-search-text.h"
#include "lib/alloc.h"
#include "mail/search-text.h"
#include <stdlib.h>
#include <string.h>

void imap_search_needle_init(struct imap_search_needle *n, const char *s, size_t len)
{
	memset(n, 0, sizeof(*n));
	n->text = xmalloc(len + 1);
	memcpy(n->text, s, len);
	n->text[len] = '\0';
	n->len = len;
	n->ascii = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
			n->ascii = false;
	n->folded = search_text_fold(s, len, &n->flen);
}

void imap_search_needle_clear(struct imap_search_needle *n)
{
	free(n->text);
	free(n->folded);
	memset(n, 0, sizeof(*n));
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Case-insensitive (ASCII) substring: both sides lowercased, then
 * memmem(), which is linear (glibc's two-way search); a byte-by-byte
 * comparison loop costs haystack x needle, which a client picking a long
 * needle "aaa...b" against a long field could exploit. */
static bool ascii_ci_find(const char *h, size_t hl, const char *n, size_t nl)
{
	if (nl == 0)
		return true;
	if (nl > hl)
		return false;
	char *lh = xmalloc(hl + nl);
	char *ln = lh + hl;
	for (size_t i = 0; i < hl; i++)
		lh[i] = (char)ascii_lower((unsigned char)h[i]);
	for (size_t i = 0; i < nl; i++)
		ln[i] = (char)ascii_lower((unsigned char)n[i]);
	bool found = memmem(lh, hl, ln, nl) != NULL;
	free(lh);
	return found;
}

bool imap_search_str_contains(const char *s, const struct imap_search_needle *n)
{
	if (s == NULL)
		return false;
	if (n->ascii)
		return ascii_ci_find(s, strlen(s), n->text, n->len);
	size_t flen;
	char *f = search_text_fold(s, strlen(s), &flen);
	bool found = memmem(f, flen, n->folded, n->flen) != NULL;
	free(f);
	return found;
}

char *imap_search_header_field(const char *hdr, size_t len, const char *field)
{
	return search_text_header_field(hdr, len, field, true);
}

int64_t imap_search_date_zone(const char *hdr, size_t len)
{
	char *d = search_text_header_field(hdr, len, "date", false);
	int64_t off = 0;
	/* the zone is the last "+hhmm" / "-hhmm" after a space (RFC 5322 3.3) */
	for (const char *p = d; p != NULL && *p; p++) {
		if ((p[0] == '+' || p[0] == '-') && p > d && p[-1] == ' ' &&
		    strspn(p + 1, "0123456789") >= 4) {
			off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
			      ((p[3] - '0') * 10 + (p[4] - '0')) * 60;
			if (p[0] == '-')
				off = -off;
		}
	}
	free(d);
	return off;
}
