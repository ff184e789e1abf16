/*
 * dkim-canon: the canonicalization algorithms (RFC 6376 3.4), shared by
 * signing and verification. Output goes to a hash or a buffer through a
 * staging sink; an optional byte limit serves the verifier's l= check.
 */
#include "dkim/dkim.h"
#include "dkim/dkim-private.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <string.h>

/* Canonicalized bytes go to a hash or, for the tests, a buffer. */

void dkim_sink_flush(struct dkim_sink *s)
{
	if (s->n == 0)
		return;
	if (s->md != NULL)
		EVP_DigestUpdate(s->md, s->stage, s->n);
	else
		buf_append(s->buf, s->stage, s->n);
	s->n = 0;
}

static void emit(struct dkim_sink *s, const char *p, size_t n)
{
	if (n > sizeof(s->stage) - s->n) {
		dkim_sink_flush(s);
		if (n >= sizeof(s->stage)) {
			if (s->md != NULL)
				EVP_DigestUpdate(s->md, p, n);
			else
				buf_append(s->buf, p, n);
			return;
		}
	}
	memcpy(s->stage + s->n, p, n);
	s->n += n;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 6376 3.4.2: lowercase the name, unfold, turn each run of WSP into
 * one SP, drop WSP at the end of the value and around the colon. */
void dkim_canon_header(struct dkim_sink *s, const char *p, size_t n, int crlf)
{
	const char *colon = memchr(p, ':', n);
	size_t nlen = colon != NULL ? (size_t)(colon - p) : n;
	while (nlen > 0 && is_wsp(p[nlen - 1]))
		nlen--;
	char lower[64];
	for (size_t i = 0; i < nlen;) {
		size_t k = 0;
		for (; k < sizeof(lower) && i < nlen; k++, i++) {
			char c = p[i];
			lower[k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		emit(s, lower, k);
	}
	emit(s, ":", 1);
	if (colon != NULL) {
		const char *end = p + n, *run = NULL;
		int pending = 0, started = 0;
		for (const char *q = colon + 1; q < end; q++) {
			char c = *q;
			if (c == '\r' || c == '\n' || is_wsp(c)) {
				if (run != NULL)
					emit(s, run, (size_t)(q - run)), run = NULL;
				if (is_wsp(c))
					pending = 1;
				continue;
			}
			if (run == NULL) {
				if (pending && started)
					emit(s, " ", 1);
				pending = 0;
				started = 1;
				run = q;
			}
		}
		if (run != NULL)
			emit(s, run, (size_t)(end - run));
	}
	if (crlf)
		emit(s, "\r\n", 2);
}

/* RFC 6376 3.4.4: each run of WSP inside a line becomes one SP, WSP at
 * line ends goes, empty lines at the end go, and a non-empty body ends
 * in CRLF. Empty lines are counted, not stored, so a body of a million
 * blank lines costs nothing but the scan. */
void dkim_canon_body(struct dkim_sink *s, const char *p, size_t len)
{
	size_t pending_empty = 0;
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;
		const char *content_end = line_end;
		if (nl != NULL && content_end > p && content_end[-1] == '\r')
			content_end--;
		/* Trailing WSP goes; so does a line of nothing else. */
		while (content_end > p && is_wsp(content_end[-1]))
			content_end--;
		if (content_end == p) {
			pending_empty++;
		} else {
			for (; pending_empty > 0; pending_empty--)
				emit(s, "\r\n", 2);
			const char *q = p, *run = NULL;
			int pending = 0;
			for (; q < content_end; q++) {
				if (is_wsp(*q)) {
					if (run != NULL)
						emit(s, run, (size_t)(q - run)), run = NULL;
					pending = 1;
				} else if (run == NULL) {
					if (pending)
						emit(s, " ", 1);
					pending = 0;
					run = q;
				}
			}
			if (run != NULL)
				emit(s, run, (size_t)(q - run));
			emit(s, "\r\n", 2);
		}
		p = nl != NULL ? nl + 1 : end;
	}
}

void dkim_canon_header_relaxed(const char *field, size_t len, struct buf *out)
{
	struct dkim_sink *s = xcalloc(1, sizeof(*s));
	s->buf = out;
	dkim_canon_header(s, field, len, 1);
	dkim_sink_flush(s);
	free(s);
}

void dkim_canon_body_relaxed(const char *body, size_t len, struct buf *out)
{
	struct dkim_sink *s = xcalloc(1, sizeof(*s));
	s->buf = out;
	dkim_canon_body(s, body, len);
	dkim_sink_flush(s);
	free(s);
}


void dkim_canon_body_simple(struct dkim_sink *s, const char *p, size_t len)
{
	/* Drop the CRLFs at the end, then put one back (3.4.3: "\r\n" for
	 * an empty body too). A last line without CRLF gets one. */
	size_t n = len;
	while (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n')
		n -= 2;
	emit(s, p, n);
	emit(s, "\r\n", 2);
}
