/* test-sasl: PLAIN (RFC 4616) and LOGIN response decoding. */
#include "unit.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "mail/sasl.h"

/* Encode `len` bytes (which may contain NULs) for a test case. */
static char *enc(const char *raw, size_t len)
{
	return base64_encode(raw, len);
}

TEST(sasl_plain_ok)
{
	static const struct {
		const char *raw;
		size_t len;
		const char *authz, *user, *pass;
	} ok[] = {
		{ "\0alice@example.com\0secret", 25, "", "alice@example.com", "secret" },
		{ "admin\0bob\0p w\xc3\xa9", 15, "admin", "bob", "p w\xc3\xa9" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *b = enc(ok[i].raw, ok[i].len);
		char *az = NULL, *u = NULL, *p = NULL;
		CHECK_INT(sasl_plain_decode(b, strlen(b), &az, &u, &p), 0);
		CHECK_STR(az, ok[i].authz);
		CHECK_STR(u, ok[i].user);
		CHECK_STR(p, ok[i].pass);
		xfree(&b);
		xfree(&az);
		xfree(&u);
		xfree(&p);
	}
}

TEST(sasl_plain_rejects)
{
	static const struct {
		const char *raw;
		size_t len;
	} bad[] = {
		{ "alice", 5 },			/* no NUL */
		{ "\0alice", 6 },		/* one NUL */
		{ "\0\0secret", 8 },		/* empty authcid */
		{ "\0alice\0", 7 },		/* empty password */
		{ "\0alice\0sec\0ret", 14 },	/* three NULs */
		{ "", 0 },			/* empty */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *b = enc(bad[i].raw, bad[i].len);
		char *az = NULL, *u = NULL, *p = NULL;
		if (sasl_plain_decode(b, strlen(b), &az, &u, &p) != -1)
			unit_fail(__FILE__, __LINE__, "case %zu accepted", i);
		CHECK(az == NULL && u == NULL && p == NULL);
		xfree(&b);
	}
	/* Not base64 at all. */
	char *az = NULL, *u = NULL, *p = NULL;
	CHECK_INT(sasl_plain_decode("%%%%", 4, &az, &u, &p), -1);
	CHECK_INT(sasl_plain_decode("AGFsaWNlAHNlY3JldA", 18, &az, &u, &p), -1);
}

TEST(sasl_plain_limit)
{
	size_t n = SASL_MAX_RESPONSE + 4;
	char *big = xmalloc(n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	char *az = NULL, *u = NULL, *p = NULL;
	CHECK_INT(sasl_plain_decode(big, n, &az, &u, &p), -1);
	char *t = NULL;
	CHECK_INT(sasl_login_decode(big, n, &t), -1);
	xfree(&big);
}

TEST(sasl_login)
{
	char *t = NULL;
	CHECK_INT(sasl_login_decode("YWxpY2VAZXhhbXBsZS5jb20=", 24, &t), 0);
	CHECK_STR(t, "alice@example.com");
	xfree(&t);
	CHECK_INT(sasl_login_decode("", 0, &t), -1);	      /* empty */
	CHECK_INT(sasl_login_decode("YQBi", 4, &t), -1);      /* "a\0b" */
	CHECK_INT(sasl_login_decode("YWxp Y2U=", 9, &t), -1); /* space */
	CHECK(t == NULL);
}
