/* imap-quote: 7-bit quoting, UTF-8 quoting for UTF8=ACCEPT sessions
 * (RFC 6855 3), and the UTF-8 validity check behind it. */
#include "mail/imap-quote.h"
#include "unit.h"

static void quote(int utf8, const char *in, size_t n, const char *want)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	if (utf8)
		imap_quote_string_utf8(&b, in, n);
	else
		imap_quote_string(&b, in, n);
	CHECK_INT(b.len, strlen(want));
	CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
	buf_free(&b);
}

TEST(imap_quote_utf8_forms)
{
	static const struct {
		int utf8;
		const char *in, *want;
	} cases[] = {
		{0, "plain", "\"plain\""},
		{0, "a\"b\\c", "\"a\\\"b\\\\c\""},
		{0, "Gr\xc3\xbc\xc3\x9f" "e", "{7}\r\nGr\xc3\xbc\xc3\x9f" "e"},
		{1, "Gr\xc3\xbc\xc3\x9f" "e", "\"Gr\xc3\xbc\xc3\x9f" "e\""},
		{1, "\xe2\x82\xac \"x\"", "\"\xe2\x82\xac \\\"x\\\"\""},
		{1, "\xf0\x9f\x93\xa7", "\"\xf0\x9f\x93\xa7\""},
		/* not UTF-8 (Latin-1, overlong, surrogate, truncated): literal */
		{1, "caf\xe9", "{4}\r\ncaf\xe9"},
		{1, "\xc0\xaf", "{2}\r\n\xc0\xaf"},
		{1, "\xed\xa0\x80", "{3}\r\n\xed\xa0\x80"},
		{1, "ab\xe2\x82", "{4}\r\nab\xe2\x82"},
		/* CR/LF never go quoted */
		{1, "a\r\nb", "{4}\r\na\r\nb"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		quote(cases[i].utf8, cases[i].in, strlen(cases[i].in), cases[i].want);
}

TEST(imap_quote_utf8_limits)
{
	CHECK(imap_quote_utf8_valid("", 0));
	CHECK(imap_quote_utf8_valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	CHECK(!imap_quote_utf8_valid("\xf4\x90\x80\x80", 4));	/* above it */
	CHECK(!imap_quote_utf8_valid("\xe0\x9f\xbf", 3));	/* overlong */
	CHECK(!imap_quote_utf8_valid("\xf0\x8f\xbf\xbf", 4));	/* overlong */
	CHECK(!imap_quote_utf8_valid("\x80", 1));
	/* long UTF-8 text is a literal like long ASCII text */
	char big[IMAP_QUOTE_MAX_QUOTED + 2];
	for (size_t i = 0; i + 1 < sizeof(big); i += 2)
		big[i] = '\xc3', big[i + 1] = '\xa9';
	struct buf b;
	buf_init(&b, 1 << 16);
	imap_quote_string_utf8(&b, big, sizeof(big));
	CHECK(b.len > 0 && b.data[0] == '{');
	buf_free(&b);
}
