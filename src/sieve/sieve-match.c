/*
 * sieve-match: the match types and comparators of RFC 5228 2.7 and
 * RFC 4790 (i;octet, i;ascii-casemap, i;ascii-numeric) and the relational
 * operators of RFC 5231. :matches runs the classic two-pointer glob: on a
 * mismatch only the last '*' is extended, so a pattern like "*a*a*a*b"
 * costs at most len(value) * len(pattern) steps, never exponential time.
 * Each wildcard matches as little as possible (RFC 5229 3.2 leaves the
 * split open; shortest-first is what the common implementations do), which
 * gives the ${1}.. match variables.
 */
#include <ctype.h>
#include <string.h>
#include "lib/alloc.h"
#include "sieve/sieve-private.h"

void sv_captures_clear(struct sv_captures *c)
{
	for (size_t i = 0; i < 10; i++)
		xfree(&c->v[i]);
	c->n = 0;
}

static inline unsigned char fold(unsigned char c, bool casemap)
{
	return casemap && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

enum { P_STAR = -1, P_ONE = -2 };

/* '?' and each step of '*' take one character: a UTF-8 sequence when it
 * is well formed, else one octet. */
static size_t next_char(const char *s, size_t slen, size_t t)
{
	t++;
	while (t < slen && ((unsigned char)s[t] & 0xc0) == 0x80 && ((unsigned char)s[t - 1] & 0x80))
		t++;
	return t;
}

bool sv_glob(const char *pat, size_t plen, const char *s, size_t slen, bool casemap,
	     struct sv_captures *caps)
{
	/* patterns up to GLOB_STACK characters need no allocation */
	enum { GLOB_STACK = 64 };
	int pe_stack[GLOB_STACK + 1];
	size_t ws_stack[GLOB_STACK + 1], wl_stack[GLOB_STACK + 1];
	int *pe = plen <= GLOB_STACK ? pe_stack : xmalloc((plen + 1) * sizeof(int));
	size_t n = 0, nwild = 0;
	for (size_t i = 0; i < plen; i++) {
		unsigned char c = (unsigned char)pat[i];
		if (c == '\\' && i + 1 < plen)
			pe[n++] = (unsigned char)pat[++i];
		else if (c == '*')
			pe[n++] = P_STAR, nwild++;
		else if (c == '?')
			pe[n++] = P_ONE, nwild++;
		else
			pe[n++] = c;
	}
	/* wildcard spans, in pattern order */
	size_t *ws = ws_stack, *wl = wl_stack;
	memset(ws_stack, 0, (nwild < GLOB_STACK ? nwild + 1 : GLOB_STACK + 1) * sizeof(size_t));
	memset(wl_stack, 0, (nwild < GLOB_STACK ? nwild + 1 : GLOB_STACK + 1) * sizeof(size_t));
	if (nwild > GLOB_STACK) {
		ws = xcalloc(nwild + 1, sizeof(size_t));
		wl = xcalloc(nwild + 1, sizeof(size_t));
	}
	size_t p = 0, t = 0, k = 0;
	size_t star_p = (size_t)-1, star_t = 0, star_k = 0;
	bool ok;
	for (;;) {
		if (p < n && pe[p] == P_STAR) {
			star_p = p;
			star_t = t;
			star_k = k;
			ws[k] = t;
			wl[k] = 0;
			k++;
			p++;
			continue;
		}
		if (t == slen) {
			while (p < n && pe[p] == P_STAR) {
				ws[k] = t;
				wl[k] = 0;
				k++;
				p++;
			}
			if (p == n) {
				ok = true;
				break;
			}
		} else if (p < n && (pe[p] == P_ONE ||
				     fold((unsigned char)pe[p], casemap) == fold((unsigned char)s[t], casemap))) {
			size_t nt = pe[p] == P_ONE ? next_char(s, slen, t) : t + 1;
			if (pe[p] == P_ONE) {
				ws[k] = t;
				wl[k] = nt - t;
				k++;
			}
			p++;
			t = nt;
			continue;
		}
		/* mismatch (or pattern done before the text): grow the last star */
		if (star_p == (size_t)-1 || star_t >= slen) {
			ok = false;
			break;
		}
		star_t = next_char(s, slen, star_t);
		t = star_t;
		p = star_p + 1;
		k = star_k + 1;
		wl[star_k] = star_t - ws[star_k];
	}
	if (ok && caps != NULL) {
		sv_captures_clear(caps);
		caps->v[0] = xstrndup(s, slen);
		for (size_t i = 0; i < nwild && i < 9; i++)
			caps->v[i + 1] = xstrndup(s + ws[i], wl[i]);
		caps->n = nwild < 9 ? nwild + 1 : 10;
	}
	if (pe != pe_stack)
		free(pe);
	if (ws != ws_stack) {
		free(ws);
		free(wl);
	}
	return ok;
}

/* Octets folded on the stack up to this many; longer values are folded
 * into a heap copy, so :contains stays a linear memmem either way. */
#define FOLD_STACK 512

bool sv_contains(const char *s, size_t slen, const char *key, size_t klen, bool casemap)
{
	if (klen == 0)
		return true;
	if (!casemap)
		return memmem(s, slen, key, klen) != NULL;
	if (klen > slen)
		return false;
	char sbuf[FOLD_STACK], kbuf[FOLD_STACK];
	char *a = slen <= sizeof(sbuf) ? sbuf : xmalloc(slen);
	char *b = klen <= sizeof(kbuf) ? kbuf : xmalloc(klen);
	for (size_t i = 0; i < slen; i++)
		a[i] = (char)fold((unsigned char)s[i], true);
	for (size_t i = 0; i < klen; i++)
		b[i] = (char)fold((unsigned char)key[i], true);
	bool r = memmem(a, slen, b, klen) != NULL;
	if (a != sbuf)
		free(a);
	if (b != kbuf)
		free(b);
	return r;
}

/* RFC 4790 9.1 i;ascii-numeric: the leading digits as a number; a string
 * not starting with a digit is positive infinity. Compared without
 * converting, so any number of digits works. */
static int numeric_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t da = 0, db = 0;
	while (da < alen && isdigit((unsigned char)a[da]))
		da++;
	while (db < blen && isdigit((unsigned char)b[db]))
		db++;
	if (da == 0 || db == 0)
		return (da == 0) - (db == 0);
	size_t ia = 0, ib = 0;
	while (ia < da - 1 && a[ia] == '0')
		ia++;
	while (ib < db - 1 && b[ib] == '0')
		ib++;
	if (da - ia != db - ib)
		return da - ia < db - ib ? -1 : 1;
	int c = memcmp(a + ia, b + ib, da - ia);
	return c < 0 ? -1 : c > 0;
}

int sv_compare(const char *a, size_t alen, const char *b, size_t blen, int cmp)
{
	if (cmp == CMP_NUMERIC)
		return numeric_cmp(a, alen, b, blen);
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = fold((unsigned char)a[i], cmp == CMP_CASEMAP);
		unsigned char y = fold((unsigned char)b[i], cmp == CMP_CASEMAP);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

bool sv_relop_ok(int relop, int c)
{
	switch (relop) {
	case REL_GT: return c > 0;
	case REL_GE: return c >= 0;
	case REL_LT: return c < 0;
	case REL_LE: return c <= 0;
	case REL_EQ: return c == 0;
	case REL_NE: return c != 0;
	}
	return false;
}
