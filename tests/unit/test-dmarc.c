/* test-dmarc: policy records (RFC 7489 6.3), the organizational domain
 * rule, alignment, pct and the subdomain policy; and the
 * Authentication-Results header built and forged ones removed. */
#include "unit.h"
#include "fake-dns.h"
#include "dmarc/dmarc.h"
#include "mail/auth-results.h"
#include <stdlib.h>

TEST(dmarc_record_parse)
{
	struct dmarc_record r;
	CHECK_INT(dmarc_record_parse("v=DMARC1; p=reject", &r), 0);
	CHECK_INT(r.p, DMARC_P_REJECT);
	CHECK_INT(r.sp, DMARC_P_REJECT);
	CHECK_INT(r.pct, 100);
	CHECK(!r.adkim_strict && !r.aspf_strict);
	CHECK_INT(dmarc_record_parse("v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s;pct=20;rua=mailto:x@y", &r), 0);
	CHECK_INT(r.p, DMARC_P_QUARANTINE);
	CHECK_INT(r.sp, DMARC_P_NONE);
	CHECK(r.adkim_strict && r.aspf_strict);
	CHECK_INT(r.pct, 20);
	CHECK_INT(dmarc_record_parse("v=DMARC1; p=none; pct=500", &r), 0);
	CHECK_INT(r.pct, 100);
	CHECK_INT(dmarc_record_parse("p=reject; v=DMARC1", &r), -1);	/* v= first */
	CHECK_INT(dmarc_record_parse("v=DMARC1", &r), -1);		/* no p= */
	CHECK_INT(dmarc_record_parse("v=DMARC1; p=maybe", &r), -1);
	CHECK_INT(dmarc_record_parse("v=DMARC1; p=reject; pct=x", &r), -1);
	CHECK_INT(dmarc_record_parse("v=spf1 -all", &r), -1);
	CHECK_INT(dmarc_record_parse("", &r), -1);
}

TEST(dmarc_org_domain_rule)
{
	char o[256];
	dmarc_org_domain("mail.example.com", o, sizeof(o));
	CHECK_STR(o, "example.com");
	dmarc_org_domain("Example.COM", o, sizeof(o));
	CHECK_STR(o, "example.com");
	dmarc_org_domain("a.b.example.co.uk", o, sizeof(o));
	CHECK_STR(o, "example.co.uk");
	dmarc_org_domain("example.co.uk", o, sizeof(o));
	CHECK_STR(o, "example.co.uk");
	dmarc_org_domain("com", o, sizeof(o));
	CHECK_STR(o, "com");
	/* a U-label in capitals folds to the list's lower case */
	dmarc_org_domain("mail.B\xc3\x9c" "CHER.de", o, sizeof(o));
	CHECK_STR(o, "b\xc3\xbc" "cher.de");
	dmarc_org_domain("x.example.test.", o, sizeof(o));
	CHECK_STR(o, "example.test");
	/* what a table of common suffixes got wrong: a less common
	 * two-label suffix, a wildcard rule (*.kawasaki.jp) and its
	 * exception (!city.kawasaki.jp), the private section */
	dmarc_org_domain("mail.shop.example.edu.sg", o, sizeof(o));
	CHECK_STR(o, "example.edu.sg");
	dmarc_org_domain("mx.a.b.kawasaki.jp", o, sizeof(o));
	CHECK_STR(o, "a.b.kawasaki.jp");
	dmarc_org_domain("www.city.kawasaki.jp", o, sizeof(o));
	CHECK_STR(o, "city.kawasaki.jp");
	dmarc_org_domain("mail.alice.github.io", o, sizeof(o));
	CHECK_STR(o, "alice.github.io");
	dmarc_org_domain("co.uk", o, sizeof(o));
	CHECK_STR(o, "co.uk");
}

static const struct fake_rr zone[] = {
	{"_dmarc.reject.test", DNS_TYPE_TXT_RR, "v=DMARC1; p=reject; sp=quarantine"},
	{"_dmarc.strict.test", DNS_TYPE_TXT_RR, "v=DMARC1; p=reject; adkim=s; aspf=s"},
	{"_dmarc.half.test", DNS_TYPE_TXT_RR, "v=DMARC1; p=quarantine; pct=50"},
	{"_dmarc.two.test", DNS_TYPE_TXT_RR, "v=DMARC1; p=reject"},
	{"_dmarc.two.test", DNS_TYPE_TXT_RR, "v=DMARC1; p=none"},
	{"_dmarc.temp.test", DNS_TYPE_TXT_RR, "TEMPFAIL"},
	{NULL, 0, NULL},
};

static void check(const char *from, bool spf_pass, const char *spf_domain, const char *dkim_d,
		  int roll, struct dmarc_outcome *out)
{
	struct fake_dns f = {zone, 0};
	struct dns_resolver r = fake_resolver(&f);
	struct dmarc_input in = {.from_domain = from, .spf_pass = spf_pass, .spf_domain = spf_domain};
	if (dkim_d != NULL)
		in.dkim_pass[in.ndkim++] = dkim_d;
	dmarc_check(&r, &in, roll, out);
}

TEST(dmarc_check_alignment)
{
	struct dmarc_outcome o;
	check("reject.test", true, "reject.test", NULL, 0, &o);
	CHECK_INT(o.result, DMARC_PASS);
	CHECK(!o.apply);
	check("reject.test", true, "bounces.reject.test", NULL, 0, &o); /* relaxed */
	CHECK_INT(o.result, DMARC_PASS);
	check("reject.test", false, "reject.test", "mail.reject.test", 0, &o);
	CHECK_INT(o.result, DMARC_PASS);
	check("reject.test", true, "other.test", "other.test", 0, &o);
	CHECK_INT(o.result, DMARC_FAIL);
	CHECK_INT(o.policy, DMARC_P_REJECT);
	CHECK(o.apply);
	check("strict.test", true, "bounces.strict.test", "mail.strict.test", 0, &o);
	CHECK_INT(o.result, DMARC_FAIL);
	check("strict.test", false, NULL, "strict.test", 0, &o);
	CHECK_INT(o.result, DMARC_PASS);
	/* a subdomain without its own record: the org domain's sp= */
	check("news.reject.test", false, NULL, NULL, 0, &o);
	CHECK_INT(o.result, DMARC_FAIL);
	CHECK_INT(o.policy, DMARC_P_QUARANTINE);
	/* pct=50: roll 10 applies, roll 70 does not */
	check("half.test", false, NULL, NULL, 10, &o);
	CHECK(o.apply);
	check("half.test", false, NULL, NULL, 70, &o);
	CHECK_INT(o.result, DMARC_FAIL);
	CHECK(!o.apply);
	check("two.test", false, NULL, NULL, 0, &o);
	CHECK_INT(o.result, DMARC_NONE);
	check("nothing.test", false, NULL, NULL, 0, &o);
	CHECK_INT(o.result, DMARC_NONE);
	check("temp.test", false, NULL, NULL, 0, &o);
	CHECK_INT(o.result, DMARC_TEMPERROR);
	check(NULL, false, NULL, NULL, 0, &o);
	CHECK_INT(o.result, DMARC_NONE);
}

TEST(auth_results_build)
{
	struct auth_results_entry e[2] = {
		{.method = "spf", .result = "pass", .reason = "ok (nested) \\ \x01",
		 .props = {{"smtp.mailfrom", "a@b.test"}}},
		{.method = "dkim", .result = "fail", .props = {{"header.d", "b.test"},
							      {"header.b", "ab/c+d=e"}}},
	};
	char *h = auth_results_header("mx.test", e, 2);
	CHECK_STR(h, "Authentication-Results: mx.test;\r\n\tspf=pass (ok nested  ) "
		     "smtp.mailfrom=a@b.test;\r\n\tdkim=fail header.d=b.test header.b=\"ab/c+d=e\"\r\n");
	free(h);
	h = auth_results_header("mx.test", NULL, 0);
	CHECK_STR(h, "Authentication-Results: mx.test; none\r\n");
	free(h);
}

TEST(auth_results_strip_ours)
{
	char msg[] = "Authentication-Results: mx.test; dkim=pass\r\n"
		     "Received: from x\r\n"
		     "authentication-results : (comment) MX.TEST 1;\r\n spf=pass\r\n"
		     "Authentication-Results: other.test; spf=fail\r\n"
		     "Authentication-Results: mx.test.evil; spf=pass\r\n"
		     "Subject: hi\r\n"
		     "\r\n"
		     "Authentication-Results: mx.test; in the body stays\r\n";
	size_t removed = 0;
	size_t n = auth_results_strip(msg, strlen(msg), "mx.test", &removed);
	msg[n] = '\0';
	CHECK_INT(removed, 2);
	CHECK_STR(msg, "Received: from x\r\n"
		       "Authentication-Results: other.test; spf=fail\r\n"
		       "Authentication-Results: mx.test.evil; spf=pass\r\n"
		       "Subject: hi\r\n"
		       "\r\n"
		       "Authentication-Results: mx.test; in the body stays\r\n");
}
