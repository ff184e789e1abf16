/*
 * base-subject: RFC 5256 section 2.1 base subject extraction and the
 * i18n;ascii-casemap comparator. The ABNF the steps refer to (RFC 5256
 * section 5):
 *   subj-trailer = "(fwd)" / WSP
 *   subj-leader  = (*subj-blob subj-refwd) / WSP
 *   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
 *   subj-blob    = "[" *BLOBCHAR "]" *WSP      BLOBCHAR: CHAR except [ ]
 *   subj-fwd-hdr = "[fwd:"   subj-fwd-trl = "]"
 * ABNF strings are case-insensitive; WSP after step 1 is just SP.
 */
#include "mail/base-subject.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct subj {
	const char *s;
	size_t p, end;		/* the remaining text is s[p, end) */
	bool reply;
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Step 1 (second half): tabs and line breaks become spaces, runs of
 * spaces become one space. */
static char *collapse(const char *in, size_t len, size_t *len_r)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && n > 0 && out[n - 1] == ' ')
			continue;
		out[n++] = c;
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

/* subj-blob at q: its end (after trailing spaces), or 0 when none. */
static size_t blob_at(const struct subj *t, size_t q)
{
	if (q >= t->end || t->s[q] != '[')
		return 0;
	for (q++; q < t->end; q++) {
		unsigned char c = (unsigned char)t->s[q];
		if (c == ']')
			break;
		if (c == '[' || c == 0 || c >= 0x80)
			return 0;
	}
	if (q >= t->end)
		return 0;
	for (q++; q < t->end && t->s[q] == ' '; q++)
		;
	return q;
}

/* subj-refwd at q: its end, or 0. */
static size_t refwd_at(const struct subj *t, size_t q)
{
	const char *s = t->s;
	if (q + 2 <= t->end && lower(s[q]) == 'r' && lower(s[q + 1]) == 'e')
		q += 2;
	else if (q + 2 <= t->end && lower(s[q]) == 'f' && lower(s[q + 1]) == 'w') {
		q += 2;
		if (q < t->end && lower(s[q]) == 'd')
			q++;
	} else
		return 0;
	while (q < t->end && s[q] == ' ')
		q++;
	size_t b = blob_at(t, q);
	if (b)
		q = b;
	return q < t->end && s[q] == ':' ? q + 1 : 0;
}

/* Step 2: trailing "(fwd)" and spaces. */
static void strip_trailers(struct subj *t)
{
	while (t->end > t->p) {
		if (t->s[t->end - 1] == ' ')
			t->end--;
		else if (t->end - t->p >= 5 && strncasecmp(t->s + t->end - 5, "(fwd)", 5) == 0) {
			t->end -= 5;
			t->reply = true;
		} else
			break;
	}
}

/* Step 3: one subj-leader at the start; false when there is none. */
static bool strip_leader(struct subj *t)
{
	if (t->p < t->end && t->s[t->p] == ' ') {
		t->p++;
		return true;
	}
	size_t q = t->p, b;
	while ((b = blob_at(t, q)) != 0)
		q = b;
	size_t r = refwd_at(t, q);
	if (r == 0)
		return false;
	t->p = r;
	t->reply = true;
	return true;
}

/* Step 4: a leading subj-blob, if something non-blank remains after it. */
static bool strip_blob(struct subj *t)
{
	size_t b = blob_at(t, t->p);
	if (b == 0)
		return false;
	for (size_t q = b; q < t->end; q++)
		if (t->s[q] != ' ') {
			t->p = b;
			return true;
		}
	return false;
}

char *base_subject_extract(const char *subject, bool *is_reply_r)
{
	size_t len = subject ? strnlen(subject, BASE_SUBJECT_MAX_INPUT) : 0;
	char *text = collapse(subject ? subject : "", len, &len);
	struct subj t = {.s = text, .p = 0, .end = len, .reply = false};
	for (;;) {
		strip_trailers(&t);
		/* steps 3-5: leaders and blobs until neither matches */
		for (;;) {
			bool changed = false;
			while (strip_leader(&t))
				changed = true;
			if (strip_blob(&t))
				changed = true;
			if (!changed)
				break;
		}
		/* step 6: "[fwd: ...]" wraps a forwarded subject */
		if (t.end - t.p >= 6 && strncasecmp(t.s + t.p, "[fwd:", 5) == 0 &&
		    t.s[t.end - 1] == ']') {
			t.p += 5;
			t.end--;
			t.reply = true;
			continue;
		}
		break;
	}
	if (is_reply_r)
		*is_reply_r = t.reply;
	char *out = xmalloc(t.end - t.p + 1);
	memcpy(out, t.s + t.p, t.end - t.p);
	out[t.end - t.p] = '\0';
	free(text);
	return out;
}

int base_subject_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)(a ? a : "");
	const unsigned char *y = (const unsigned char *)(b ? b : "");
	for (;; x++, y++) {
		int cx = *x >= 'a' && *x <= 'z' ? *x - 32 : *x;
		int cy = *y >= 'a' && *y <= 'z' ? *y - 32 : *y;
		if (cx != cy || cx == 0)
			return cx - cy;
	}
}
