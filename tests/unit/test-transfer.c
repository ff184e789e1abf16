/* test-transfer: tolerant Content-Transfer-Encoding decoding. */
#include "unit.h"
#include "mail/transfer.h"
#include <stdlib.h>

static void check_decode(const char *cte, const char *in, const char *want, size_t want_len)
{
	size_t len = 0;
	char *out = transfer_decode(cte, in, strlen(in), &len);
	CHECK(out != NULL);
	if (out == NULL)
		return;
	CHECK_INT(len, want_len);
	CHECK(memcmp(out, want, want_len) == 0);
	free(out);
}

TEST(transfer_decode_table)
{
	check_decode("base64", "aGVsbG8=", "hello", 5);
	check_decode("BASE64", "aGVs\r\nbG8=\r\n", "hello", 5);       /* line breaks ignored */
	check_decode("base64", "aG!V*sbG8", "hello", 5);              /* junk skipped */
	check_decode("base64", "AA==", "\0", 1);                      /* NUL survives */
	check_decode("quoted-printable", "caf=C3=A9", "caf\xc3\xa9", 5);
	check_decode("quoted-printable", "soft=\r\nbreak", "softbreak", 9);
	check_decode("quoted-printable", "soft= \nbreak", "softbreak", 9);
	check_decode("quoted-printable", "pad  \r\nx", "pad\r\nx", 6);  /* trailing space dropped */
	check_decode("quoted-printable", "bad=ZZ=", "bad=ZZ", 6);      /* kept as is; final = is soft */
	check_decode("7bit", "plain\n", "plain\n", 6);
	check_decode("", "as is", "as is", 5);
	size_t len;
	CHECK(transfer_decode("x-unknown", "abc", 3, &len) == NULL);
}
