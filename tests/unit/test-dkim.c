/* test-dkim: relaxed canonicalization (RFC 6376 3.4.2, 3.4.4) against the
 * RFC's own example (3.4.5) and the edge cases around empty bodies. */
#include "unit.h"
#include "dkim/dkim.h"
#include "lib/buf.h"
#include <stdint.h>
#include <string.h>

static void check_header(const char *in, const char *want)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	dkim_canon_header_relaxed(in, strlen(in), &b);
	CHECK_STR(b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

static void check_body(const char *in, const char *want)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	dkim_canon_body_relaxed(in, strlen(in), &b);
	CHECK_STR(b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

TEST(dkim_rfc6376_example_relaxed)
{
	/* RFC 6376 3.4.5: the two header fields and the body of the example. */
	check_header("A: X\r\n", "a:X\r\n");
	check_header("B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n");
	check_body(" C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
}

TEST(dkim_relaxed_header_cases)
{
	check_header("Subject \t:   hello   world\t", "subject:hello world\r\n");
	check_header("To: a@x,\r\n b@x,\r\n\t c@x\r\n", "to:a@x, b@x, c@x\r\n");
	check_header("X-Empty:\r\n", "x-empty:\r\n");
	check_header("X-Spaces:   \r\n", "x-spaces:\r\n");
	check_header("MIME-Version: 1.0\r\n", "mime-version:1.0\r\n");
}

TEST(dkim_relaxed_body_cases)
{
	check_body("", "");
	check_body("\r\n", "");
	check_body("\r\n\r\n \t\r\n", "");
	check_body("abc", "abc\r\n");
	check_body("a  b\t\tc \r\n\r\nd\r\n\r\n", "a b c\r\n\r\nd\r\n");
	check_body("\r\n\r\nx\r\n", "\r\n\r\nx\r\n");
	/* Bytes above 127 pass unchanged (an 8-bit body). */
	check_body("Gr\xc3\xbc\xc3\x9f""e  \r\n", "Gr\xc3\xbc\xc3\x9f""e\r\n");
}

TEST(dkim_selector_names)
{
	CHECK(dkim_selector_valid("roost20261202"));
	CHECK(dkim_selector_valid("a-1"));
	CHECK(!dkim_selector_valid(""));
	CHECK(!dkim_selector_valid("-a"));
	CHECK(!dkim_selector_valid("a/../b"));
	CHECK(!dkim_selector_valid("A"));
	CHECK(!dkim_selector_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 49 */
}
