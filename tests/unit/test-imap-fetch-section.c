/* Unit tests: BINARY[part] decoding (RFC 3516) in imap-fetch-section.c,
 * table-driven over hand-written part maps. */
#include "unit.h"
#include "imap/imap-fetch-section.h"
#include <stdlib.h>
#include <string.h>

/* One single-part body at content offset 0..len with this CTE. */
static int binary_of(const char *cte, const char *body, char **out_r, size_t *len_r)
{
	char parts[256];
	size_t len = strlen(body);
	snprintf(parts, sizeof(parts), "0 0 0 %zu 7bit text/plain\n1 0 0 %zu %s text/plain\n", len,
		 len, cte);
	return imap_section_binary("1", body, len, 0, parts, out_r, len_r);
}

TEST(imap_binary_decodings)
{
	static const struct {
		const char *cte, *in, *want;
		size_t want_len;
	} cases[] = {
		{"base64", "AAEC\r\nAw==\r\n", "\0\1\2\3", 4},
		{"base64", "SGVs bG8=", "Hello", 5},	/* spaces ignored */
		{"base64", "SGVsbG8", "Hello", 5},	/* missing padding: the complete octets */
		{"base64", "SGVsbA", "Hell", 4},
		{"base64", "", "", 0},
		{"quoted-printable", "a=3Db", "a=b", 3},
		{"quoted-printable", "soft=\r\nbreak", "softbreak", 9},
		{"quoted-printable", "soft=\nbreak", "softbreak", 9},
		{"quoted-printable", "pad   \r\nx", "pad\r\nx", 6},
		{"quoted-printable", "bad=ZZ", "bad=ZZ", 6},
		{"quoted-printable", "end=", "end", 3},
		{"quoted-printable", "=00", "\0", 1},
		{"7bit", "as is=3D", "as is=3D", 8},
		{"binary", "raw", "raw", 3},
		{"8bit", "caf\xc3\xa9", "caf\xc3\xa9", 5},
		{"BASE64", "QQ==", "A", 1},		/* CTE names are case-insensitive */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out;
		size_t len;
		CHECK_INT(binary_of(cases[i].cte, cases[i].in, &out, &len), IMAP_BINARY_OK);
		CHECK_INT(len, cases[i].want_len);
		CHECK(memcmp(out, cases[i].want, len) == 0);
		free(out);
	}
}

TEST(imap_binary_unknown_cte_and_missing_part)
{
	char *out;
	size_t len;
	CHECK_INT(binary_of("x-uuencode", "begin", &out, &len), IMAP_BINARY_UNKNOWN_CTE);
	CHECK(out == NULL);
	const char *parts = "0 0 0 3 7bit text/plain\n1 0 0 3 7bit text/plain\n";
	CHECK_INT(imap_section_binary("2", "abc", 3, 0, parts, &out, &len), IMAP_BINARY_NOPART);
	/* offsets beyond the message are refused, not read */
	CHECK_INT(imap_section_binary("1", "abc", 3, 0, "1 0 0 99 7bit text/plain\n", &out, &len),
		  IMAP_BINARY_NOPART);
	/* the whole message: as stored, prefix included */
	CHECK_INT(imap_section_binary("", "Xabc", 4, 1, parts, &out, &len), IMAP_BINARY_OK);
	CHECK_INT(len, 4);
	free(out);
	/* composite parts are not decoded even with a (bogus) base64 CTE */
	CHECK_INT(imap_section_binary("1", "QQ==", 4, 0, "1 0 0 4 base64 message/rfc822\n", &out,
				      &len),
		  IMAP_BINARY_OK);
	CHECK_INT(len, 4);
	free(out);
}
