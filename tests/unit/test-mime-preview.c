/*
 * test-mime-preview: the PREVIEW text (RFC 8970) mime_index_build()
 * computes: which part is chosen, QP/base64/charset decoding, HTML reduced
 * to text, white space collapsed, and the 256-character cut that never
 * splits a UTF-8 sequence.
 */
#include "unit.h"
#include "mail/mime-index.h"
#include "lib/alloc.h"
#include <glib.h>
#include <stdlib.h>
#include <string.h>

static char *preview_of(const char *m)
{
	struct mime_index ix;
	mime_index_global_init();
	mime_index_build(m, strlen(m), &ix);
	char *p = ix.preview ? xstrdup(ix.preview) : NULL;
	mime_index_clear(&ix);
	return p;
}

static const struct {
	const char *name, *msg, *want; /* want NULL: no text part */
} cases[] = {
	{"plain", "Subject: x\r\n\r\nHello   world\r\n\r\n  second line\r\n", "Hello world second line"},
	{"no body", "Subject: x\r\n\r\n", ""},
	{"qp", "Content-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	       "Caf=C3=A9 au l=\r\nait\r\n", "Caf\xc3\xa9 au lait"},
	{"base64 latin1", "Content-Type: text/plain; charset=\"iso-8859-1\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n"
			  "R3L832UgZnJvbSBN/G5jaGVu\r\n", "Gr\xc3\xbc\xc3\x9f" "e from M\xc3\xbc" "nchen"},
	{"html", "Content-Type: text/html\r\n\r\n"
		 "<html><head><title>T</title><style>p{color:red}</style></head>"
		 "<body><!-- hidden --><p>Hi &amp; welcome,</p><script>var x=1;</script>"
		 "<p>caf&#233; &lt;3 &#x263A;</p></body></html>\r\n",
	 "Hi & welcome, caf\xc3\xa9 <3 \xe2\x98\xba"},
	{"alternative prefers plain", "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/html\r\n\r\n<b>html part</b>\r\n"
		"--b\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--b--\r\n", "plain part"},
	{"mixed skips attachment", "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
		"--b\r\nContent-Type: text/plain\r\n\r\nthe text\r\n--b--\r\n", "the text"},
	{"only attachment", "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n", NULL},
	{"attached message is not the text", "Content-Type: message/rfc822\r\n\r\n"
		"Subject: inner\r\n\r\ninner text\r\n", NULL},
	{"unknown encoding", "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-foo\r\n\r\nabc\r\n",
	 NULL},
};

TEST(mime_preview_cases)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = preview_of(cases[i].msg);
		if (cases[i].want == NULL) {
			if (p != NULL)
				fprintf(stderr, "case %s: got \"%s\"\n", cases[i].name, p);
			CHECK(p == NULL);
		} else {
			if (p == NULL || strcmp(p, cases[i].want) != 0)
				fprintf(stderr, "case %s: got \"%s\"\n", cases[i].name, p ? p : "(null)");
			CHECK(p != NULL);
			if (p != NULL)
				CHECK_STR(p, cases[i].want);
		}
		free(p);
	}
}

/* 300 two-byte characters: the cut keeps 256 whole characters (512 bytes)
 * and leaves valid UTF-8; with an ASCII byte first, the cut still falls
 * between sequences. */
TEST(mime_preview_truncates_at_utf8_boundary)
{
	for (int shift = 0; shift < 2; shift++) {
		GString *m = g_string_new("Content-Type: text/plain; charset=utf-8\r\n\r\n");
		if (shift)
			g_string_append_c(m, 'a');
		for (int i = 0; i < 300; i++)
			g_string_append(m, "\xc3\xa9");
		g_string_append(m, "\r\n");
		char *p = preview_of(m->str);
		CHECK(p != NULL);
		if (p != NULL) {
			CHECK(g_utf8_validate(p, -1, NULL));
			CHECK_INT((long long)g_utf8_strlen(p, -1), MIME_PREVIEW_MAX);
			CHECK_INT((long long)strlen(p), shift ? 1 + 255 * 2 : 256 * 2);
		}
		free(p);
		g_string_free(m, TRUE);
	}
}

/* Invalid UTF-8 declared as UTF-8 and control characters still give a
 * valid one-line preview. */
TEST(mime_preview_is_valid_one_line)
{
	char *p = preview_of("Content-Type: text/plain; charset=utf-8\r\n\r\n"
			     "bad \xff\xfe bytes\ttab\x01" "ctl\r\nnext\r\n");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(g_utf8_validate(p, -1, NULL));
		CHECK(strchr(p, '\r') == NULL && strchr(p, '\n') == NULL && strchr(p, '\t') == NULL);
		CHECK(strstr(p, "bytes tab ctl next") != NULL);
	}
	free(p);
}
