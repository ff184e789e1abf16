/* test-store-urlauth: URLAUTH EXPIRE parsing and the INTERNAL token
 * (store/store-urlauth.c, RFC 4467). */
#include "unit.h"
#include "store/store-urlauth.h"
#include <string.h>

/* EXPIRE= of URLAUTH URLs (store/store-urlauth.c, RFC 3339 5.6). */

TEST(urlauth_expire_parse)
{
	int64_t t;
	CHECK_INT(store_urlauth_expire_parse("2000-01-01T00:00:00Z", &t), 0);
	CHECK(t == 946684800);
	CHECK_INT(store_urlauth_expire_parse("2000-01-01T01:00:00+01:00", &t), 0);
	CHECK(t == 946684800);
	CHECK_INT(store_urlauth_expire_parse("1999-12-31T23:30:00.25-00:30", &t), 0);
	CHECK(t == 946684800);
	static const char *const bad[] = {
		"2000-01-01", "2000-01-01T00:00:00", "2000-13-01T00:00:00Z",
		"2000-01-01T24:00:00Z", "2000-01-01T00:00:00+0100", "2000-01-01T00:00:00Zx",
		"2000-01-01 00:00:00Z", "2000-01-01T00:00:00.Z", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(store_urlauth_expire_parse(bad[i], &t), -1);
}

/* The INTERNAL token: HMAC-SHA256 (RFC 4231 test case 2's key and data),
 * the first 32 octets in lower-case hex. */
TEST(urlauth_token_is_hmac_sha256)
{
	unsigned char key[STORE_URLAUTH_KEY_LEN] = {0};
	memcpy(key, "Jefe", 4);
	char hex[STORE_URLAUTH_TOKEN_HEX + 1];
	const char *data = "what do ya want for nothing?";
	store_urlauth_token(key, data, strlen(data), hex);
	/* a 32-byte key padded with zeros is the same HMAC key as "Jefe" */
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
