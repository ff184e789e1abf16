/* Unit tests for the linear, capped header decoding (mail/mime-decode.h)
 * and case folding (mail/search-text.h): a hostile header costs time in
 * proportion to its size, and each field decodes at most its caps. Times
 * are compared as ratios (2x the input may cost at most ~3x the time)
 * with the best of three runs, which holds on a loaded machine; the
 * quadratic code this replaces took 4x per doubling. */
#include "unit.h"
#include "imap/imap-search-text.h"
#include "lib/buf.h"
#include "mail/base-subject.h"
#include "mail/mime-decode.h"
#include "mail/mime-index.h"
#include "mail/search-text.h"
#include <glib.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A header whose To: holds n encoded-word display names. */
static char *many_words_header(size_t n, size_t *len_r)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, "From: a@example.com\r\nTo: ");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s=?utf-8?q?N=C3=A4me_%zu?= <u%zu@example.com>", i ? ",\r\n " : "",
			   i, i);
	buf_puts(&b, "\r\nSubject: hi\r\n\r\n");
	*len_r = b.len;
	return buf_steal(&b);
}

/* A Subject: of n words, folded every ten words. */
static char *long_subject_header(size_t n, size_t *len_r)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, "From: a@example.com\r\nSubject:");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%sw\xc3\xb6rd%zu", i % 10 == 9 ? "\r\n " : " ", i);
	buf_puts(&b, "\r\n\r\n");
	*len_r = b.len;
	return buf_steal(&b);
}

typedef char *make_fn(size_t n, size_t *len_r);

/* Best of three: seconds to fold the header text made by make(n). */
static double fold_time(make_fn *make, size_t n)
{
	size_t len;
	char *h = make(n, &len);
	double best = 1e9;
	for (int r = 0; r < 3; r++) {
		double t0 = now_s();
		size_t fl;
		char *f = search_text_header_folded(h, len, &fl);
		double t = now_s() - t0;
		CHECK(fl > 0);
		free(f);
		if (t < best)
			best = t;
	}
	free(h);
	return best;
}

TEST(header_fold_linear_encoded_words)
{
	/* 100,000 names is the 3.8 MB To: of the hostile message; the old
	 * code took ~20 s on it, so 5 s is a generous bound */
	double t1 = fold_time(many_words_header, 50000);
	double t2 = fold_time(many_words_header, 100000);
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "encoded words: 50k %.3fs 100k %.3fs\n", t1, t2);
	CHECK(t2 < 5.0);
	CHECK(t2 <= 3.0 * t1 + 0.02);
}

TEST(header_fold_linear_long_subject)
{
	double t1 = fold_time(long_subject_header, 100000);
	double t2 = fold_time(long_subject_header, 200000);
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "subject words: 100k %.3fs 200k %.3fs\n", t1, t2);
	CHECK(t2 < 5.0);
	CHECK(t2 <= 3.0 * t1 + 0.02);
}

TEST(fold_linear_composed_text)
{
	/* "é" as e + U+0301: every character composes, GLib's worst case */
	double t[2];
	for (int k = 0; k < 2; k++) {
		size_t n = (size_t)200000 << k;
		struct buf b;
		buf_init(&b, SIZE_MAX);
		for (size_t i = 0; i < n; i++)
			buf_puts(&b, "e\xcc\x81");
		double best = 1e9;
		for (int r = 0; r < 3; r++) {
			double t0 = now_s();
			size_t fl;
			char *f = search_text_fold(b.data, b.len, &fl);
			double d = now_s() - t0;
			CHECK_INT(fl, 2 * n);	/* U+00E9 is 2 bytes */
			free(f);
			if (d < best)
				best = d;
		}
		t[k] = best;
		buf_free(&b);
	}
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "composed: 200k %.3fs 400k %.3fs\n", t[0], t[1]);
	CHECK(t[1] <= 3.0 * t[0] + 0.02);
}

TEST(fold_pieces_equal_whole)
{
	/* text longer than a piece, cut in many places: the result must be
	 * what one normalisation of the whole gives */
	static const char *const bits[] = {
		"e\xcc\x81", " ", "\xc3\x89T\xc3\x89 ", "STRASSE", "Stra\xc3\x9f" "e", "\xef\xac\x81",
		"\xe4\xb8\xad\xe6\x96\x87", "\xea\xb0\x80", "\xe1\x84\x80\xe1\x85\xa1", "\xc2\xa8",
		"A\xcc\x8a", "\xce\x86", "\xff", "x\xcc\xa3\xcc\x87",
	};
	struct buf b;
	buf_init(&b, SIZE_MAX);
	unsigned seed = 1;
	while (b.len < 6 * SEARCH_TEXT_FOLD_PIECE_MAX) {
		seed = seed * 1103515245u + 12345u;
		buf_puts(&b, bits[(seed >> 16) % (sizeof(bits) / sizeof(bits[0]))]);
	}
	size_t fl;
	char *f = search_text_fold(b.data, b.len, &fl);
	gchar *valid = g_utf8_make_valid(b.data, (gssize)b.len);
	gchar *norm = g_utf8_normalize(valid, -1, G_NORMALIZE_ALL_COMPOSE);
	gchar *whole = g_utf8_casefold(norm, -1);
	CHECK_INT(fl, strlen(whole));
	CHECK(strcmp(f, whole) == 0);
	g_free(whole);
	g_free(norm);
	g_free(valid);
	free(f);
	buf_free(&b);
}

TEST(decode_caps_words)
{
	/* past MIME_DECODE_MAX_WORDS the rest of the field is kept raw */
	struct buf b;
	buf_init(&b, SIZE_MAX);
	for (size_t i = 0; i < MIME_DECODE_MAX_WORDS + 10; i++)
		buf_printf(&b, "=?utf-8?q?n%zu?= <u@x>, ", i);
	size_t words;
	char *d = mime_decode_header_text_n(b.data, b.len, &words);
	CHECK_INT(words, MIME_DECODE_MAX_WORDS);
	CHECK(strstr(d, "n0 <u@x>") != NULL);
	char last_decoded[32], first_raw[48];
	snprintf(last_decoded, sizeof(last_decoded), "n%d <u@x>", MIME_DECODE_MAX_WORDS - 1);
	snprintf(first_raw, sizeof(first_raw), "=?utf-8?q?n%d?=", MIME_DECODE_MAX_WORDS);
	CHECK(strstr(d, last_decoded) != NULL);
	CHECK(strstr(d, first_raw) != NULL);
	free(d);
	buf_free(&b);
}

TEST(decode_caps_output)
{
	/* a field decoding to more than MIME_DECODE_MAX_OUTPUT is cut there,
	 * on a character boundary */
	struct buf b;
	buf_init(&b, SIZE_MAX);
	while (b.len < 3 * MIME_DECODE_MAX_OUTPUT)
		buf_puts(&b, "\xc3\xa4\xc3\xa4\xc3\xa4 plain text ");
	size_t words;
	char *d = mime_decode_header_text_n(b.data, b.len, &words);
	CHECK_INT(words, 0);
	CHECK(strlen(d) <= MIME_DECODE_MAX_OUTPUT);
	CHECK(strlen(d) > MIME_DECODE_MAX_OUTPUT - 4);
	CHECK(g_utf8_validate(d, -1, NULL));
	free(d);
	/* and encoded: one long run of words in one charset */
	buf_reset(&b);
	while (b.len < 4 * MIME_DECODE_MAX_OUTPUT)
		buf_puts(&b, "=?iso-8859-1?q?=E4=E4=E4=E4=E4=E4=E4=E4=E4=E4?= ");
	d = mime_decode_header_text_n(b.data, b.len, &words);
	CHECK(strlen(d) <= MIME_DECODE_MAX_OUTPUT);
	CHECK(strlen(d) > MIME_DECODE_MAX_OUTPUT / 2);
	CHECK(g_utf8_validate(d, -1, NULL));
	free(d);
	buf_free(&b);
}

TEST(decode_adjacent_words_joined)
{
	/* RFC 2047 6.2: white space between adjacent words goes; a character
	 * split over two words survives; different charsets convert apart */
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "\xc3\xa9\xc3\xa9"},
		{"=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9"},
		{"=?iso-8859-1?q?=E9?= =?koi8-r?q?=C1?=", "\xc3\xa9\xd0\xb0"},
		{"a =?utf-8?q?b?= c", "a b c"},
		{"=?utf-8?q?x?= =?bogus", "x =?bogus"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = mime_decode_header_text_n(cases[i].in, strlen(cases[i].in), NULL);
		CHECK_STR(d, cases[i].out);
		free(d);
	}
}

TEST(index_fields_capped)
{
	/* the indexer keeps the hostile To: bounded and still finds the
	 * first names decoded */
	size_t len;
	char *h = many_words_header(100000, &len);
	double t0 = now_s();
	struct mime_index idx;
	mime_index_build(h, len, &idx);
	double t = now_s() - t0;
	CHECK(t < 5.0);
	CHECK(idx.to != NULL && strstr(idx.to, "N\xc3\xa4me 0 ") != NULL);
	CHECK(idx.to != NULL && strlen(idx.to) <= MIME_DECODE_MAX_OUTPUT);
	mime_index_clear(&idx);
	free(h);
	h = long_subject_header(200000, &len);
	mime_index_build(h, len, &idx);
	bool reply;
	t0 = now_s();
	char *base = base_subject_extract(idx.subject, &reply);
	CHECK(now_s() - t0 < 1.0);
	CHECK(strncmp(base, "W", 1) == 0 || strncmp(base, "w", 1) == 0);
	free(base);
	mime_index_clear(&idx);
	free(h);
}

TEST(str_contains_long_needle_linear)
{
	/* "aaa...b" against 1 MiB of "a": a naive scan compares ~64 KiB at
	 * each of a million places */
	size_t hl = (size_t)1 << 20, nl = (size_t)64 << 10;
	char *h = malloc(hl + 1), *n = malloc(nl + 1);
	memset(h, 'a', hl);
	h[hl] = '\0';
	memset(n, 'A', nl);
	n[nl - 1] = 'b';
	n[nl] = '\0';
	struct imap_search_needle nd;
	imap_search_needle_init(&nd, n, nl);
	double t0 = now_s();
	CHECK(!imap_search_str_contains(h, &nd));
	h[hl - 1] = 'B';
	CHECK(imap_search_str_contains(h, &nd));
	CHECK(now_s() - t0 < 1.0);
	imap_search_needle_clear(&nd);
	free(h);
	free(n);
}
