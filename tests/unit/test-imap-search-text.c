/* Unit tests for mail/search-text.c and imap-search-text.c: the decoded,
 * folded text SEARCH and the full-text index compare with, and matching.
 * Table-driven. */
#include "unit.h"
#include "imap/imap-search-text.h"
#include "mail/mime-index.h"
#include "mail/search-text.h"
#include <stdlib.h>

static bool body_has(const char *msg, const char *needle)
{
	struct mime_index idx;
	mime_index_build(msg, strlen(msg), &idx);
	struct search_text t;
	search_text_build(&t, NULL, 0, msg, strlen(msg), idx.parts);
	struct imap_search_needle n;
	imap_search_needle_init(&n, needle, strlen(needle));
	bool found = search_text_find(t.body, t.body_len, n.folded, n.flen);
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "body text: [%s]\n", t.body);
	imap_search_needle_clear(&n);
	search_text_clear(&t);
	mime_index_clear(&idx);
	return found;
}

#define HTML_MSG                                                                     \
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"              \
	"--b1\r\nContent-Type: text/plain\r\n\r\nplain version\r\n"                   \
	"--b1\r\nContent-Type: text/html; charset=utf-8\r\n"                          \
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n"                         \
	"<style>.x{}</style><p>Hello <b>W=C3=B6rld</b> &amp; =\r\nfriends</p>"         \
	"<script>hidden()</script>&#233;t&#xE9;<!-- comment -->\r\n--b1--\r\n"

TEST(imap_search_body_text_table)
{
	static const struct {
		const char *msg, *needle;
		bool want;
	} cases[] = {
		{"Subject: x\r\n\r\nHello World\r\n", "hello world", true},
		{"Subject: x\r\n\r\nHello World\r\n", "subject", false},
		{"Content-Transfer-Encoding: base64\r\nContent-Type: text/plain; charset=iso-8859-1"
		 "\r\n\r\nR3L832UgYXVzIE38bmNoZW4=\r\n", "GRÜSSE", true}, /* ß folds to ss */
		{"Content-Transfer-Encoding: base64\r\nContent-Type: text/plain; charset=iso-8859-1"
		 "\r\n\r\nR3L832UgYXVzIE38bmNoZW4=\r\n", "grüße aus MÜNCHEN", true},
		{"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 cr=\r\nème\r\n",
		 "CAFÉ CRÈME", true},
		{HTML_MSG, "wörld & friends", true},
		{HTML_MSG, "HELLO WÖRLD", true},
		{HTML_MSG, "hidden", false},
		{HTML_MSG, "comment", false},
		{HTML_MSG, ".x", false},
		{HTML_MSG, "été", true},
		{HTML_MSG, "plain version", true},
		{"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n"
		 "Content-Type: application/octet-stream\r\n\r\nsecretbinary\r\n--m--\r\n",
		 "secretbinary", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = body_has(cases[i].msg, cases[i].needle);
		if (got != cases[i].want)
			unit_fail(__FILE__, __LINE__, "case %zu (%s): got %d", i, cases[i].needle, got);
	}
}

TEST(imap_search_header_helpers)
{
	const char *h = "Subject: =?UTF-8?Q?Caf=C3=A9?=\r\nX-Test: one\r\n two\r\n"
			"Date: Tue, 15 Jun 2021 23:30:00 -0500\r\nX-Test: three\r\n\r\nbody";
	char *v = imap_search_header_field(h, strlen(h), "x-test");
	CHECK_STR(v, "one two\nthree");
	free(v);
	CHECK(imap_search_header_field(h, strlen(h), "x-none") == NULL);
	CHECK_INT(imap_search_date_zone(h, strlen(h)), -5 * 3600);
	size_t len;
	char *t = search_text_header(h, strlen(h), &len);
	CHECK(strstr(t, "Subject: Café\n") != NULL);
	CHECK(strstr(t, "body") == NULL);
	free(t);
	t = search_text_header_folded(h, strlen(h), &len);
	CHECK(strstr(t, "subject: café\n") != NULL);
	CHECK(search_text_header_find(t, len, "x-test", "two", 3));
	CHECK(search_text_header_find(t, len, "x-test", "thr", 3));
	CHECK(search_text_header_find(t, len, "x-test", "", 0));
	CHECK(!search_text_header_find(t, len, "x-test", "café", strlen("café")));
	CHECK(!search_text_header_find(t, len, "x-tes", "one", 3));
	CHECK(!search_text_header_find(t, len, "x-none", "", 0));
	free(t);
	struct imap_search_needle n;
	imap_search_needle_init(&n, "CAFÉ", strlen("CAFÉ"));
	CHECK(imap_search_str_contains("un café", &n));
	CHECK(!imap_search_str_contains("cafe", &n));
	CHECK(!imap_search_str_contains(NULL, &n));
	imap_search_needle_clear(&n);
}

TEST(search_text_build_parts)
{
	const char *pre = "Return-Path: <a@b>\r\nDelivered-To: X@Example.COM\r\n";
	const char *msg = "Subject: =?UTF-8?Q?=C3=89T=C3=89?=\r\n\r\nStra\xc3\x9f" "e\r\n";
	struct mime_index idx;
	mime_index_build(msg, strlen(msg), &idx);
	struct search_text t;
	search_text_build(&t, pre, strlen(pre), msg, strlen(msg), idx.parts);
	CHECK(strstr(t.prefix, "delivered-to: x@example.com") != NULL);
	CHECK_STR(t.header, "subject: été\n");
	CHECK(strstr(t.body, "strasse") != NULL);
	CHECK(search_text_find(t.body, t.body_len, "", 0));
	CHECK(!search_text_find(NULL, 0, "a", 1));
	search_text_clear(&t);
	mime_index_clear(&idx);
}
