/* test-pop3-format: RETR's CRLF/byte-stuffed form and LIST's size agree. */
#include "unit.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "pop3/pop3-private.h"
#include <stdlib.h>

/* Convert all of `in` (RETR, or TOP with `lines`) in steps of `step`. */
static char *convert(const char *in, size_t len, size_t step, bool top, uint64_t lines,
		     size_t *out_len)
{
	struct buf out;
	size_t pos = 0;
	bool in_body = false;
	int rounds = 0;

	buf_init(&out, 2 * len + 4);
	while (!pop3_format_chunk(in, len, &pos, step, &out, top, &in_body, &lines) &&
	       rounds++ < 100000)
		;
	*out_len = out.len;
	return buf_steal(&out);
}

/* What a client holds after undoing the stuffing (RFC 1939 section 3). */
static size_t unstuffed_len(const char *s, size_t len)
{
	size_t n = len;
	bool bol = true;
	for (size_t i = 0; i < len; i++) {
		if (bol && s[i] == '.')
			n--;
		bol = s[i] == '\n';
	}
	return n;
}

TEST(pop3_format_table)
{
	static const struct {
		const char *in, *out;
		int64_t size;
	} cases[] = {
		{ "", "", 0 },
		{ "a\r\nb\r\n", "a\r\nb\r\n", 6 },
		{ "a\nb\n", "a\r\nb\r\n", 6 },		/* bare LF -> CRLF */
		{ "a\r\nb", "a\r\nb\r\n", 6 },		/* last line gets CRLF */
		{ ".\n..x\n", "..\r\n...x\r\n", 8 },	/* byte-stuffing */
		{ "x.\n.", "x.\r\n..\r\n", 7 },
		{ "a\rb\n", "a\rb\r\n", 5 },		/* lone CR is data */
		{ "\n\n", "\r\n\r\n", 4 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in), olen;
		char *out = convert(cases[i].in, len, 1, false, 0, &olen);
		CHECK_STR(out, cases[i].out);
		CHECK_INT(pop3_format_size(cases[i].in, len), cases[i].size);
		xfree(&out);
	}
}

TEST(pop3_format_top)
{
	const char *msg = "Subject: x\nFrom: y\n\nl1\n.l2\nl3\n";
	size_t olen;
	char *out = convert(msg, strlen(msg), 4, true, 2, &olen);
	CHECK_STR(out, "Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\n");
	xfree(&out);
	out = convert(msg, strlen(msg), 4, true, 0, &olen);
	CHECK_STR(out, "Subject: x\r\nFrom: y\r\n\r\n");
	xfree(&out);
	out = convert(msg, strlen(msg), 4, true, 1000, &olen);
	CHECK_STR(out, "Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\nl3\r\n");
	xfree(&out);
	/* No blank line: the header is the whole message. */
	out = convert("A: b\nC: d", 9, 100, true, 0, &olen);
	CHECK_STR(out, "A: b\r\nC: d\r\n");
	xfree(&out);
}

/* Random messages: the size LIST reports equals what the client gets. */
TEST(pop3_format_size_matches_retr)
{
	static const char alphabet[] = "ab.\r\n\n..\r";
	unsigned seed = 12345;
	for (int round = 0; round < 300; round++) {
		size_t len = (size_t)(rand_r(&seed) % 200);
		char *in = xmalloc(len + 1);
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		in[len] = '\0';
		size_t olen;
		char *out = convert(in, len, (size_t)(rand_r(&seed) % 7) + 1, false, 0, &olen);
		CHECK_INT(unstuffed_len(out, olen), pop3_format_size(in, len));
		/* Every line of the output ends in CRLF. */
		for (size_t i = 0; i < olen; i++)
			if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
				unit_fail(__FILE__, __LINE__, "bare LF in output, round %d", round);
		xfree(&in);
		xfree(&out);
	}
}
