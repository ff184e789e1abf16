/*
 * test-mime-index: ENVELOPE, BODY, BODYSTRUCTURE, the parts map and the
 * SEARCH fields from mime_index_build(), table-driven against RFC 3501
 * 7.4.2 forms; exact part offsets (CRLF and bare LF); the hostile corpus
 * (tests/data/make-hostile.py) yields well-formed output in linear time;
 * concurrent builds agree.
 */
#include "unit.h"
#include "mail/mime-index.h"
#include "mail/imap-quote.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* ---- helpers ---------------------------------------------------------- */

static void build(const char *m, struct mime_index *ix)
{
	mime_index_global_init();
	mime_index_build(m, strlen(m), ix);
}

/* "\n" -> "\r\n" (caller frees). */
static char *crlf(const char *m)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	for (const char *p = m; *p; p++) {
		if (*p == '\n')
			buf_putc(&b, '\r');
		buf_putc(&b, *p);
	}
	return buf_steal(&b);
}

/* Is s one well-formed IMAP parenthesized value? Quoted strings closed and
 * 7-bit without CR/LF, literals {n}CRLF followed by n bytes, parentheses
 * balanced outside strings, no NUL anywhere. */
static bool well_formed(const char *s, size_t len)
{
	long depth = 0;
	size_t i = 0;
	if (len == 0 || s[0] != '(')
		return false;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (--depth < 0)
				return false;
			i++;
			if (depth == 0 && i != len)
				return false;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				unsigned char q = (unsigned char)s[i];
				if (q == '\\') {
					i++;
					if (i >= len || (s[i] != '\\' && s[i] != '"'))
						return false;
				} else if (q == '\r' || q == '\n' || q >= 0x80 || q == 0) {
					return false;
				}
			}
			if (i >= len)
				return false;
			i++;
		} else if (c == '{') {
			char *end;
			unsigned long long n = strtoull(s + i + 1, &end, 10);
			if (*end != '}' || end[1] != '\r' || end[2] != '\n')
				return false;
			i = (size_t)(end - s) + 3;
			if (n > len - i || memchr(s + i, '\0', n) != NULL)
				return false;
			i += n;
		} else if (c == ' ' || (c >= '0' && c <= '9') || c == 'N' || c == 'I' || c == 'L') {
			i++;	/* numbers and NIL */
		} else {
			return false;
		}
	}
	return depth == 0;
}

/* The parts map line for section, as offsets; false when absent. */
static bool part(const char *parts, const char *section, size_t *h, size_t *b, size_t *e,
		 char *type, size_t type_size)
{
	size_t sl = strlen(section);
	for (const char *l = parts; *l; ) {
		const char *nl = strchr(l, '\n');
		if (strncmp(l, section, sl) == 0 && l[sl] == ' ') {
			char cte[64], t[128];
			if (sscanf(l + sl, " %zu %zu %zu %63s %127s", h, b, e, cte, t) != 5)
				return false;
			if (type != NULL)
				snprintf(type, type_size, "%s %s", cte, t);
			return true;
		}
		if (nl == NULL)
			break;
		l = nl + 1;
	}
	return false;
}

/* Every map line: six fields, hdr <= body <= end <= len; returns lines. */
static long parts_valid(const char *parts, size_t len)
{
	long n = 0;
	for (const char *l = parts; *l; n++) {
		char sec[1024], cte[200], type[300];
		size_t h, b, e;
		if (sscanf(l, "%1023s %zu %zu %zu %199s %299s", sec, &h, &b, &e, cte, type) != 6)
			return -1;
		if (!(h <= b && b <= e && e <= len) || strchr(type, '/') == NULL)
			return -1;
		const char *nl = strchr(l, '\n');
		if (nl == NULL)
			return -1;
		l = nl + 1;
	}
	return n;
}

static size_t nth(const char *m, const char *needle, int n)
{
	const char *p = m - 1;
	for (int i = 0; i < n; i++) {
		p = strstr(p + 1, needle);
		if (p == NULL)
			return (size_t)-1;
	}
	return (size_t)(p - m);
}

/* ---- table: whole-message expectations -------------------------------- */

#define BLANK ((size_t)-1)	/* header_len: up to the first blank line */

struct expect {
	const char *name, *msg, *envelope, *body, *bodystructure;
	const char *subject, *from;	/* decoded SEARCH fields */
	int64_t date;
	size_t header_len;
};

static const struct expect cases[] = {
	{ "simple",
	  "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Hi\r\n"
	  "Date: Tue, 1 Aug 2023 10:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n\r\nHello\r\n",
	  "(\"Tue, 1 Aug 2023 10:00:00 +0000\" \"Hi\" ((\"Alice\" NIL \"alice\" \"example.org\")) "
	  "((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) "
	  "((NIL NIL \"bob\" \"example.net\")) NIL NIL NIL \"<m1@example.org>\")",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 7 1)",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 7 1 NIL NIL NIL NIL)",
	  "Hi", "Alice <alice@example.org>", 1690884000, BLANK },
	{ "alternative",
	  "Content-Type: multipart/alternative; boundary=xx\r\n\r\n"
	  "--xx\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "Content-Transfer-Encoding: Quoted-Printable\r\n\r\ncaf=C3=A9\r\n"
	  "--xx\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n--xx--\r\n",
	  "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 9 1)"
	  "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 9 1) \"ALTERNATIVE\")",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 9 1 NIL NIL NIL NIL)"
	  "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 9 1 NIL NIL NIL NIL) "
	  "\"ALTERNATIVE\" (\"BOUNDARY\" \"xx\") NIL NIL NIL)",
	  NULL, NULL, 0, BLANK },
	{ "groups",
	  "From: root\r\nTo: undisclosed-recipients:;\r\n"
	  "Cc: Team: a@x.org, \"B, C\" <bc@x.org>;, d@y.org (Dee)\r\n"
	  "Reply-To: <@r1,@r2:rt@x.org>\r\nSender:\r\n\r\n",
	  "(NIL NIL ((NIL NIL \"root\" \"\")) ((NIL NIL \"root\" \"\")) "
	  "((NIL \"@r1,@r2\" \"rt\" \"x.org\")) "
	  "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	  "((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x.org\")(\"B, C\" NIL \"bc\" \"x.org\")"
	  "(NIL NIL NIL NIL)(\"Dee\" NIL \"d\" \"y.org\")) NIL NIL NIL)",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)",
	  NULL, NULL, "root", 0, BLANK },
	{ "encoded_words",
	  "Subject: =?ISO-8859-1?Q?Andr=E9?= Pirard =?utf-8?b?w6k=?= =?utf-8?b?w6k=?=\r\n"
	  "From: =?utf-8?q?J=C3=B6rg?= <j@x.de>\r\n\r\nx",
	  "(NIL \"=?ISO-8859-1?Q?Andr=E9?= Pirard =?utf-8?b?w6k=?= =?utf-8?b?w6k=?=\" "
	  "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.de\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.de\")) "
	  "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.de\")) NIL NIL NIL NIL NIL)",
	  NULL, NULL, "Andr\xc3\xa9 Pirard \xc3\xa9\xc3\xa9", "J\xc3\xb6rg <j@x.de>", 0, BLANK },
	{ "no_headers",
	  "\r\nbody",
	  "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4 1)",
	  NULL, NULL, NULL, 0, 2 },
	{ "no_blank_line",
	  "Subject: only a header\r\nDate: garbage",
	  "(\"garbage\" \"only a header\" NIL NIL NIL NIL NIL NIL NIL NIL)",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)",
	  NULL, "only a header", NULL, 0, 37 },
	{ "quoting",
	  "Subject: he said \"hi\" \\ back\r\n"
	  "  folded\r\nFrom: \"Ren\xc3\xa9\" <r@x>\r\n\r\n",
	  "(NIL \"he said \\\"hi\\\" \\\\ back  folded\" (({5}\r\nRen\xc3\xa9 NIL \"r\" \"x\")) "
	  "(({5}\r\nRen\xc3\xa9 NIL \"r\" \"x\")) (({5}\r\nRen\xc3\xa9 NIL \"r\" \"x\")) NIL NIL NIL NIL NIL)",
	  NULL, NULL, "he said \"hi\" \\ back  folded", "\"Ren\xc3\xa9\" <r@x>", 0, BLANK },
	{ "fallbacks",
	  "Content-Type: multipart/mixed\r\nContent-Transfer-Encoding: 8BIT\r\n\r\nno boundary\r\n",
	  NULL,
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"8BIT\" 13 1)",
	  NULL, NULL, NULL, 0, BLANK },
	{ "no_parts",
	  "Content-Type: multipart/mixed; boundary=q\r\n\r\nno delimiter\r\n--q--\r\n",
	  NULL,
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 21 2)",
	  NULL, NULL, NULL, 0, BLANK },
	{ "bad_content_type",
	  "Content-Type: text\r\nContent-Type: image/png\r\nContent-ID: <c@x>\r\n"
	  "Content-Disposition: inline\r\nContent-Location: http://x/y\r\nContent-MD5: abc=\r\n\r\nzz",
	  NULL, NULL,
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") \"<c@x>\" NIL \"7BIT\" 2 1 \"abc=\" "
	  "(\"INLINE\" NIL) NIL \"http://x/y\")",
	  NULL, NULL, 0, BLANK },
	{ "digest",
	  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: m\r\n\r\nhi\r\n--d--\r\n",
	  NULL,
	  "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 16 "
	  "(NIL \"m\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 2 1) 3) \"DIGEST\")",
	  NULL, NULL, NULL, 0, BLANK },
};

TEST(mime_index_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expect *c = &cases[i];
		struct mime_index ix;
		build(c->msg, &ix);
		if (c->envelope)
			CHECK_STR(ix.envelope, c->envelope);
		if (c->body)
			CHECK_STR(ix.body, c->body);
		if (c->bodystructure)
			CHECK_STR(ix.bodystructure, c->bodystructure);
		if (c->subject)
			CHECK_STR(ix.subject, c->subject);
		if (c->from)
			CHECK_STR(ix.from, c->from);
		CHECK_INT(ix.date, c->date);
		size_t hl = c->header_len;
		if (hl == BLANK)
			hl = (size_t)(strstr(c->msg, "\r\n\r\n") - c->msg) + 4;
		CHECK_INT(ix.header_len, hl);
		CHECK(well_formed(ix.envelope, strlen(ix.envelope)));
		CHECK(well_formed(ix.body, strlen(ix.body)));
		CHECK(well_formed(ix.bodystructure, strlen(ix.bodystructure)));
		CHECK(parts_valid(ix.parts, strlen(c->msg)) >= 2);
		mime_index_clear(&ix);
		CHECK(ix.envelope == NULL && ix.parts == NULL && ix.subject == NULL);
	}
}

/* ---- exact offsets of a nested message, CRLF and bare LF ---------------- */

static const char nested_lf[] =
	"From: a@b.c\nSubject: nested\nContent-Type: multipart/mixed; boundary=\"outer\"\n"
	"\n"
	"--outer\nContent-Type: multipart/alternative; boundary=\"inner\"\n\n"
	"--inner\nContent-Type: text/plain\n\nplain\n"
	"--inner\nContent-Type: text/html\n\n<b>x</b>\n"
	"--inner--\n\n"
	"--outer\nContent-Type: application/pdf; name=\"a.pdf\"\n"
	"Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"a.pdf\"\n"
	"Content-ID: <pdf1@x>\nContent-Description: A PDF\nContent-Language: en, fr\n\nQUJD\n"
	"--outer\nContent-Type: message/rfc822\n\n"
	"From: \"Inner Guy\" <ig@x.y>\nSubject: fwd\nContent-Type: text/plain; charset=iso-8859-1\n"
	"\ninner\n--outer--\n";

static void check_part(const char *parts, const char *sec, size_t h, size_t b, size_t e,
		       const char *type)
{
	size_t ph = 0, pb = 0, pe = 0;
	char t[200];
	if (!part(parts, sec, &ph, &pb, &pe, t, sizeof(t))) {
		unit_fail(__FILE__, __LINE__, "section %s missing", sec);
		return;
	}
	if (ph != h || pb != b || pe != e || strcmp(t, type) != 0)
		unit_fail(__FILE__, __LINE__, "section %s: %zu %zu %zu %s, expected %zu %zu %zu %s",
			  sec, ph, pb, pe, t, h, b, e, type);
}

static void check_nested(const char *m, const char *nl)
{
	size_t n = strlen(nl), len = strlen(m);
	struct mime_index ix;
	build(m, &ix);
	char blank[8], tmp[64];
	snprintf(blank, sizeof(blank), "%s%s", nl, nl);

	size_t hdr = nth(m, blank, 1) + 2 * n;
	CHECK_INT(ix.header_len, hdr);
	check_part(ix.parts, "0", 0, hdr, len, "7bit multipart/mixed");

	size_t p1 = nth(m, "--outer", 1) + 7 + n;
	size_t p1b = nth(m, blank, 2) + 2 * n;
	size_t p1e = nth(m, "--inner--", 1) + 9 + n;
	check_part(ix.parts, "1", p1, p1b, p1e, "7bit multipart/alternative");
	size_t p11 = nth(m, "--inner", 1) + 7 + n;
	snprintf(tmp, sizeof(tmp), "%splain%s", nl, nl);
	size_t p11b = nth(m, tmp, 1) + n;
	check_part(ix.parts, "1.1", p11, p11b, p11b + 5, "7bit text/plain");
	CHECK(memcmp(m + p11b, "plain", 5) == 0);
	size_t p12 = nth(m, "--inner", 2) + 7 + n;
	size_t p12b = nth(m, "<b>x</b>", 1);
	check_part(ix.parts, "1.2", p12, p12b, p12b + 8, "7bit text/html");

	size_t p2 = nth(m, "--outer", 2) + 7 + n;
	size_t p2b = nth(m, "QUJD", 1);
	check_part(ix.parts, "2", p2, p2b, p2b + 4, "base64 application/pdf");

	size_t p3 = nth(m, "--outer", 3) + 7 + n;
	size_t p3b = nth(m, "From: \"Inner", 1);
	snprintf(tmp, sizeof(tmp), "%sinner%s--outer--", nl, nl);
	size_t p3e = nth(m, tmp, 1) + n + 5;
	check_part(ix.parts, "3", p3, p3b, p3e, "7bit message/rfc822");
	size_t p3ib = p3e - 5;
	check_part(ix.parts, "3.0", p3b, p3ib, p3e, "7bit text/plain");
	check_part(ix.parts, "3.1", p3b, p3ib, p3e, "7bit text/plain");
	CHECK_INT(parts_valid(ix.parts, len), 8);

	char *bs = xasprintf(
		"(((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL)"
		"(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 8 1 NIL NIL NIL NIL) \"ALTERNATIVE\" "
		"(\"BOUNDARY\" \"inner\") NIL NIL NIL)"
		"(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") \"<pdf1@x>\" \"A PDF\" \"BASE64\" 4 "
		"NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.pdf\")) (\"en\" \"fr\") NIL)"
		"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" %zu "
		"(NIL \"fwd\" ((\"Inner Guy\" NIL \"ig\" \"x.y\")) ((\"Inner Guy\" NIL \"ig\" \"x.y\")) "
		"((\"Inner Guy\" NIL \"ig\" \"x.y\")) NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"iso-8859-1\") NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL) "
		"5 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)", p3e - p3b);
	CHECK_STR(ix.bodystructure, bs);
	free(bs);
	char *body = xasprintf(
		"(((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 1)"
		"(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 8 1) \"ALTERNATIVE\")"
		"(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") \"<pdf1@x>\" \"A PDF\" \"BASE64\" 4)"
		"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" %zu "
		"(NIL \"fwd\" ((\"Inner Guy\" NIL \"ig\" \"x.y\")) ((\"Inner Guy\" NIL \"ig\" \"x.y\")) "
		"((\"Inner Guy\" NIL \"ig\" \"x.y\")) NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"iso-8859-1\") NIL NIL \"7BIT\" 5 1) 5) \"MIXED\")",
		p3e - p3b);
	CHECK_STR(ix.body, body);
	free(body);
	CHECK_STR(ix.from, "a@b.c");
	CHECK_STR(ix.subject, "nested");
	mime_index_clear(&ix);
}

TEST(mime_index_offsets_crlf)
{
	char *m = crlf(nested_lf);
	check_nested(m, "\r\n");
	free(m);
}

TEST(mime_index_offsets_bare_lf)
{
	check_nested(nested_lf, "\n");
}

/* A single-part message has part 1 = its body; an encapsulated message's
 * part numbers nest under the message/rfc822 part (RFC 3501 6.4.5). */
TEST(mime_index_single_part_sections)
{
	const char *m = "Subject: s\r\nContent-Type: message/rfc822\r\n\r\n"
			"Subject: in\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
			"--z\r\n\r\nA\r\n--z\r\n\r\nB\r\n--z--\r\n";
	struct mime_index ix;
	build(m, &ix);
	size_t hb = nth(m, "\r\n\r\n", 1) + 4, ib = nth(m, "\r\n\r\n", 2) + 4;
	check_part(ix.parts, "0", 0, hb, strlen(m), "7bit message/rfc822");
	check_part(ix.parts, "1", 0, hb, strlen(m), "7bit message/rfc822");
	check_part(ix.parts, "1.0", hb, ib, strlen(m), "7bit multipart/mixed");
	size_t a = nth(m, "A", 1), b = nth(m, "B", 1);
	check_part(ix.parts, "1.1", a - 2, a, a + 1, "7bit text/plain");
	check_part(ix.parts, "1.2", b - 2, b, b + 1, "7bit text/plain");
	CHECK_INT(parts_valid(ix.parts, strlen(m)), 5);
	mime_index_clear(&ix);
}

/* Missing close delimiters end at the enclosing boundary; a part with no
 * line break before EOF keeps its last byte. */
TEST(mime_index_broken_boundaries)
{
	const char *m = "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
			"--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n"
			"--i\r\n\r\nI1\r\n"
			"--o\r\n\r\nO2";
	struct mime_index ix;
	build(m, &ix);
	size_t i1 = nth(m, "I1", 1), o2 = nth(m, "O2", 1);
	check_part(ix.parts, "1.1", i1 - 2, i1, i1 + 2, "7bit text/plain");
	check_part(ix.parts, "2", o2 - 2, o2, o2 + 2, "7bit text/plain");
	CHECK_INT(parts_valid(ix.parts, strlen(m)), 4);
	CHECK(well_formed(ix.bodystructure, strlen(ix.bodystructure)));
	mime_index_clear(&ix);
}

static size_t max_depth(const char *s)
{
	size_t d = 0, max = 0;
	for (; *s; s++) {
		if (*s == '(' && ++d > max)
			max = d;
		else if (*s == ')')
			d--;
	}
	return max;
}

TEST(mime_index_limits)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	/* 300 nested multiparts: deeper than MIME_MAX_DEPTH. */
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
	for (int i = 1; i < 300; i++)
		buf_printf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i - 1, i);
	struct mime_index ix;
	mime_index_global_init();
	mime_index_build(b.data, b.len, &ix);
	CHECK(well_formed(ix.bodystructure, strlen(ix.bodystructure)));
	CHECK(max_depth(ix.bodystructure) <= MIME_MAX_DEPTH + 4);
	CHECK(max_depth(ix.bodystructure) >= MIME_MAX_DEPTH);
	CHECK(parts_valid(ix.parts, b.len) > 0);
	mime_index_clear(&ix);

	/* 15,000 parts: only MIME_MAX_PARTS are indexed. */
	buf_reset(&b);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 0; i < 15000; i++)
		buf_printf(&b, "--p\r\n\r\n%d\r\n", i);
	buf_puts(&b, "--p--\r\n");
	mime_index_build(b.data, b.len, &ix);
	long lines = parts_valid(ix.parts, b.len);
	CHECK(lines > 9000 && lines <= MIME_MAX_PARTS + 1);
	CHECK(well_formed(ix.bodystructure, strlen(ix.bodystructure)));
	check_part(ix.parts, "0", 0, strlen("Content-Type: multipart/mixed; boundary=p\r\n\r\n"),
		   b.len, "7bit multipart/mixed");
	mime_index_clear(&ix);
	buf_free(&b);
}

/* SEARCH fields: RFC 2047 decoding to UTF-8, whatever the input. */
TEST(mime_index_search_decoding)
{
	static const struct {
		const char *subject, *decoded;
	} t[] = {
		{ "=?utf-8?b?w6k=?= =?UTF-8?B?w6k=?=", "\xc3\xa9\xc3\xa9" },
		{ "=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9" },	/* split character */
		{ "a =?iso-8859-1?q?=E9?= b", "a \xc3\xa9 b" },
		{ "=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\xc3\xa9\xc3\xa9" },
		{ "=?utf-8?q?a_b?=c", "a bc" },
		{ "=?utf-8*en?q?lang?=", "lang" },
		{ "=?x-unknown?q?abc?=", "abc" },
		{ "=?utf-8?q?bad=ZZ?=", "bad=ZZ" },
		{ "=?utf-8?b?!!!?= end", " end" },
		{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
		{ "caf\xe9 latin1", "caf\xc3\xa9 latin1" },
		{ "tab\there", "tab here" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *m = xasprintf("Subject: %s\r\n\r\n", t[i].subject);
		struct mime_index ix;
		build(m, &ix);
		CHECK_STR(ix.subject, t[i].decoded);
		mime_index_clear(&ix);
		free(m);
	}
}

/* ---- hostile corpus --------------------------------------------------- */

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, (size_t)-1);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len_r = b.len;
	return buf_steal(&b);
}

TEST(mime_index_hostile_corpus)
{
	const char *dir = unit_tmpdir();
	char *cmd = xasprintf("/usr/bin/python3 tests/data/make-hostile.py '%s'", dir);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	int files = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		size_t len = 0;
		char *m = read_file(path, &len);
		CHECK(m != NULL);
		struct mime_index ix;
		mime_index_build(m, len, &ix);
		bool ok = well_formed(ix.envelope, strlen(ix.envelope)) &&
			  well_formed(ix.body, strlen(ix.body)) &&
			  well_formed(ix.bodystructure, strlen(ix.bodystructure)) &&
			  parts_valid(ix.parts, len) >= 2 && ix.header_len <= len;
		if (!ok)
			unit_fail(__FILE__, __LINE__, "malformed index for %s", de->d_name);
		files++;
		mime_index_clear(&ix);
		free(m);
		free(path);
	}
	closedir(d);
	CHECK(files >= 15);
}

/* ---- linear time ------------------------------------------------------ */

/* A pathological message of about `size` bytes: long header lines, address
 * soup, nested boundaries, near-miss delimiter lines, empty parts. */
static char *pathological(size_t size, size_t *len_r)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	buf_puts(&b, "Subject: ");
	while (b.len < size / 8)
		buf_puts(&b, "=?utf-8?q?=C3=A9?= x ");
	buf_puts(&b, "\r\nTo: ");
	while (b.len < size / 4)
		buf_puts(&b, "a@b, (c (d) e) \"f\\\" g\" <h@i>, grp: j@k;,\r\n ");
	buf_puts(&b, "\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n");
	for (int i = 1; i < 60; i++)
		buf_printf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i - 1, i);
	while (b.len < size / 2)
		buf_puts(&b, "--b1x\r\n--\r\n\r\n--b58 junk\r\n-\n\r");
	while (b.len < size)
		buf_puts(&b, "--b59\r\n\r\n");
	*len_r = b.len;
	return buf_steal(&b);
}

static double time_build(const char *m, size_t len)
{
	double best = 1e9;
	for (int run = 0; run < 3; run++) {
		struct timespec a, z;
		struct mime_index ix;
		clock_gettime(CLOCK_MONOTONIC, &a);
		mime_index_build(m, len, &ix);
		clock_gettime(CLOCK_MONOTONIC, &z);
		mime_index_clear(&ix);
		double t = (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

TEST(mime_index_linear_time)
{
	size_t l1, l4;
	char *m1 = pathological(1 << 20, &l1);
	char *m4 = pathological(4 << 20, &l4);
	mime_index_global_init();
	double t1 = time_build(m1, l1), t4 = time_build(m4, l4);
	printf("    1 MB: %.3f s, 4 MB: %.3f s\n", t1, t4);
	CHECK(t4 < 10 * t1 + 0.05);	/* linear, with room for noise */
	CHECK(t4 < 5.0);		/* and absolutely fast */
	free(m1);
	free(m4);
}

/* ---- threads ---------------------------------------------------------- */

struct thread_job {
	const char *msg;
	const char *bodystructure, *subject;
	int bad;
};

static void *thread_main(void *arg)
{
	struct thread_job *j = arg;
	for (int i = 0; i < 300; i++) {
		struct mime_index ix;
		mime_index_build(j->msg, strlen(j->msg), &ix);
		if (strcmp(ix.bodystructure, j->bodystructure) != 0 ||
		    strcmp(ix.subject, j->subject) != 0)
			j->bad++;
		mime_index_clear(&ix);
	}
	return NULL;
}

TEST(mime_index_threads)
{
	char *m = crlf(nested_lf);
	struct mime_index ref;
	build(m, &ref);
	const struct expect *ew = &cases[3];
	struct mime_index ref2;
	build(ew->msg, &ref2);
	struct thread_job jobs[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		jobs[i].msg = i % 2 ? m : ew->msg;
		jobs[i].bodystructure = i % 2 ? ref.bodystructure : ref2.bodystructure;
		jobs[i].subject = i % 2 ? ref.subject : ref2.subject;
		jobs[i].bad = 0;
		CHECK_INT(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(jobs[i].bad, 0);
	}
	mime_index_clear(&ref);
	mime_index_clear(&ref2);
	free(m);
}

/* ---- imap-quote ------------------------------------------------------- */

TEST(imap_quote_forms)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	imap_quote_string(&b, "a\"b\\c", 5);
	CHECK_STR(b.data, "\"a\\\"b\\\\c\"");
	buf_reset(&b);
	imap_quote_string(&b, "x\r\ny", 4);
	CHECK_STR(b.data, "{4}\r\nx\r\ny");
	buf_reset(&b);
	imap_quote_string(&b, "a\0\xc3\xa9", 4);
	CHECK_INT(b.len, 8);
	CHECK(memcmp(b.data, "{3}\r\na\xc3\xa9", 8) == 0);
	buf_reset(&b);
	imap_quote_nstring(&b, NULL, 0);
	CHECK_STR(b.data, "NIL");
	buf_reset(&b);
	imap_quote_nstring(&b, "", 0);
	CHECK_STR(b.data, "\"\"");
	buf_reset(&b);
	char big[IMAP_QUOTE_MAX_QUOTED + 1];
	memset(big, 'a', sizeof(big));
	imap_quote_string(&b, big, sizeof(big));
	CHECK(strncmp(b.data, "{4097}\r\n", 8) == 0);
	buf_free(&b);
}
