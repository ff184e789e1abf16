/* test-mta-sts: the TXT record, the policy file and MX patterns (RFC 8461). */
#include "unit.h"
#include "outbound/mta-sts.h"
#include <stdlib.h>
#include <string.h>

TEST(mta_sts_txt)
{
	char id[MTA_STS_ID_MAX + 1];
	CHECK_INT(mta_sts_parse_txt("v=STSv1; id=20160831085700Z;", id), 0);
	CHECK_STR(id, "20160831085700Z");
	CHECK_INT(mta_sts_parse_txt("v=STSv1;id=abc", id), 0);
	CHECK_STR(id, "abc");
	CHECK_INT(mta_sts_parse_txt("v = STSv1 ; ext=1 ; id = x9 ;", id), 0);
	CHECK_STR(id, "x9");
	static const char *const bad[] = {
		"", "v=STSv1;", "v=STSv1; id=;", "id=abc; v=STSv1;", "v=STSv2; id=a;",
		"v=STSv1; id=has-dash;", "v=STSv1; id=a; id=b;",
		"v=STSv1; id=123456789012345678901234567890123;", "v=STSv1 id=a",
		"x; v=STSv1; id=a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(mta_sts_parse_txt(bad[i], id), -1);
}

static int parse(const char *text, struct mta_sts_policy *p)
{
	const char *err = NULL;
	memset(p, 0, sizeof(*p));
	return mta_sts_parse_policy(text, strlen(text), p, &err);
}

TEST(mta_sts_policy)
{
	struct mta_sts_policy p;
	CHECK_INT(parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
			"mx: *.Example.NET\r\nmax_age: 604800\r\n", &p), 0);
	CHECK_INT(p.mode, MTA_STS_ENFORCE);
	CHECK_INT(p.max_age, 604800);
	CHECK_INT(p.nmx, 2);
	CHECK_STR(p.mx[1], "*.example.net");
	CHECK(mta_sts_mx_match(&p, "mail.example.com"));
	CHECK(mta_sts_mx_match(&p, "MAIL.example.com."));
	CHECK(mta_sts_mx_match(&p, "mx1.example.net"));
	CHECK(!mta_sts_mx_match(&p, "example.net"));
	CHECK(!mta_sts_mx_match(&p, "a.b.example.net"));
	CHECK(!mta_sts_mx_match(&p, "xmail.example.com"));
	CHECK(!mta_sts_mx_match(&p, "mail.example.com.evil"));
	mta_sts_policy_clear(&p);
	/* LF only, unknown keys, huge max_age capped */
	CHECK_INT(parse("version: STSv1\nmode: testing\nfoo: bar\nmx: a.test\nmax_age: 9999999999\n",
			&p), 0);
	CHECK_INT(p.mode, MTA_STS_TESTING);
	CHECK_INT(p.max_age, MTA_STS_MAX_AGE_MAX);
	mta_sts_policy_clear(&p);
	/* none needs no mx */
	CHECK_INT(parse("version: STSv1\nmode: none\nmax_age: 1\n", &p), 0);
	static const char *const bad[] = {
		"", "mode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test/x\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\n<html>\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(parse(bad[i], &p), -1);
		CHECK_INT(p.nmx, 0);
	}
	/* more patterns than MTA_STS_MAX_MX: the rest ignored, no overflow */
	char big[8192] = "version: STSv1\nmode: enforce\nmax_age: 5\n";
	for (int i = 0; i < 100; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "mx: m%d.test\n", i);
	CHECK_INT(parse(big, &p), 0);
	CHECK_INT(p.nmx, MTA_STS_MAX_MX);
	struct mta_sts_policy *d = mta_sts_policy_dup(&p);
	CHECK_STR(d->mx[5], "m5.test");
	mta_sts_policy_free(&d);
	CHECK(d == NULL);
	mta_sts_policy_clear(&p);
}
