/* test-spf: check_host() (RFC 7208) against a fake DNS table: every
 * mechanism, the qualifiers, macros, and the lookup limits that keep a
 * hostile record from costing more than 10 lookups. */
#include "unit.h"
#include "fake-dns.h"
#include "spf/spf.h"

#define TXT DNS_TYPE_TXT_RR
#define A DNS_TYPE_A
#define AAAA DNS_TYPE_AAAA
#define MX DNS_TYPE_MX

static const struct fake_rr zone[] = {
	{"pass.test", TXT, "v=spf1 ip4:192.0.2.0/24 -all"},
	{"pass.test", TXT, "some other text"},
	{"soft.test", TXT, "v=spf1 ~all"},
	{"neutral.test", TXT, "v=spf1 ?all"},
	{"nomatch.test", TXT, "v=spf1 ip4:10.0.0.1"},
	{"two.test", TXT, "v=spf1 -all"},
	{"two.test", TXT, "v=spf1 +all"},
	{"temp.test", TXT, "TEMPFAIL"},
	{"bad.test", TXT, "v=spf1 foo:bar -all"},
	{"a.test", TXT, "v=spf1 a -all"},
	{"a.test", A, "192.0.2.7"},
	{"acidr.test", TXT, "v=spf1 a:host.acidr.test/28 -all"},
	{"host.acidr.test", A, "198.51.100.1"},
	{"mx.test", TXT, "v=spf1 mx -all"},
	{"mx.test", MX, "10 mail.mx.test"},
	{"mail.mx.test", A, "203.0.113.5"},
	{"mail.mx.test", AAAA, "2001:db8::25"},
	{"inc.test", TXT, "v=spf1 include:pass.test -all"},
	{"incnone.test", TXT, "v=spf1 include:nothing.test -all"},
	{"redir.test", TXT, "v=spf1 redirect=pass.test"},
	{"redirnone.test", TXT, "v=spf1 redirect=nothing.test"},
	{"exists.test", TXT, "v=spf1 exists:%{i}.rbl.test -all"},
	{"192.0.2.9.rbl.test", A, "127.0.0.2"},
	{"macro.test", TXT, "v=spf1 exists:%{l}.%{d2}.%{ir}.m.test -all"},
	{"alice.macro.test.9.2.0.192.m.test", A, "127.0.0.2"},
	{"loop1.test", TXT, "v=spf1 include:loop2.test -all"},
	{"loop2.test", TXT, "v=spf1 include:loop1.test -all"},
	{"chain0.test", TXT, "v=spf1 include:chain1.test -all"},
	{"chain1.test", TXT, "v=spf1 a:x1.test a:x2.test a:x3.test a:x4.test a:x5.test "
			     "a:x6.test a:x7.test a:x8.test a:x9.test a:x10.test ip4:192.0.2.1 -all"},
	{"x1.test", A, "10.0.0.1"}, {"x2.test", A, "10.0.0.1"}, {"x3.test", A, "10.0.0.1"},
	{"x4.test", A, "10.0.0.1"}, {"x5.test", A, "10.0.0.1"}, {"x6.test", A, "10.0.0.1"},
	{"x7.test", A, "10.0.0.1"}, {"x8.test", A, "10.0.0.1"}, {"x9.test", A, "10.0.0.1"},
	{"x10.test", A, "10.0.0.1"},
	{"void.test", TXT, "v=spf1 a:n1.test a:n2.test a:n3.test ip4:192.0.2.1 -all"},
	{"six.test", TXT, "v=spf1 ip6:2001:db8::/32 -all"},
	{"mxmany.test", TXT, "v=spf1 mx -all"},
	{"mxmany.test", MX, "1 m1.test"}, {"mxmany.test", MX, "2 m2.test"},
	{"mxmany.test", MX, "3 m3.test"}, {"mxmany.test", MX, "4 m4.test"},
	{"mxmany.test", MX, "5 m5.test"}, {"mxmany.test", MX, "6 m6.test"},
	{"mxmany.test", MX, "7 m7.test"}, {"mxmany.test", MX, "8 m8.test"},
	{"mxmany.test", MX, "9 m9.test"}, {"mxmany.test", MX, "10 m10.test"},
	{"mxmany.test", MX, "11 m11.test"},
	{"case.test", TXT, "V=SPF1 IP4:192.0.2.1 -ALL"},
	{"prefix.test", TXT, "v=spf10 -all"},
	{NULL, 0, NULL},
};

static enum spf_result run(const char *ip, const char *sender, const char *domain,
			   unsigned *queries)
{
	struct fake_dns f = {zone, 0};
	struct dns_resolver r = fake_resolver(&f);
	struct spf_request req = {.ip = ip, .sender = sender, .helo = "helo.test"};
	char *why = NULL;
	enum spf_result res = spf_check(&r, &req, domain, &why);
	CHECK(why != NULL);
	free(why);
	if (queries != NULL)
		*queries = f.queries;
	return res;
}

TEST(spf_basic_results)
{
	CHECK_INT(run("192.0.2.9", "a@pass.test", "pass.test", NULL), SPF_PASS);
	CHECK_INT(run("198.51.100.1", "a@pass.test", "pass.test", NULL), SPF_FAIL);
	CHECK_INT(run("198.51.100.1", "a@soft.test", "soft.test", NULL), SPF_SOFTFAIL);
	CHECK_INT(run("198.51.100.1", "a@neutral.test", "neutral.test", NULL), SPF_NEUTRAL);
	CHECK_INT(run("198.51.100.1", "a@nomatch.test", "nomatch.test", NULL), SPF_NEUTRAL);
	CHECK_INT(run("198.51.100.1", "a@absent.test", "absent.test", NULL), SPF_NONE);
	CHECK_INT(run("198.51.100.1", "a@two.test", "two.test", NULL), SPF_PERMERROR);
	CHECK_INT(run("198.51.100.1", "a@temp.test", "temp.test", NULL), SPF_TEMPERROR);
	CHECK_INT(run("198.51.100.1", "a@bad.test", "bad.test", NULL), SPF_PERMERROR);
	CHECK_INT(run("192.0.2.1", "a@case.test", "case.test", NULL), SPF_PASS);
	CHECK_INT(run("192.0.2.1", "a@prefix.test", "prefix.test", NULL), SPF_NONE);
	/* not a domain at all (4.3) */
	CHECK_INT(run("192.0.2.1", "a@localhost", "localhost", NULL), SPF_NONE);
	CHECK_INT(run("not-an-ip", "a@pass.test", "pass.test", NULL), SPF_NONE);
}

TEST(spf_mechanisms)
{
	CHECK_INT(run("192.0.2.7", "a@a.test", "a.test", NULL), SPF_PASS);
	CHECK_INT(run("192.0.2.8", "a@a.test", "a.test", NULL), SPF_FAIL);
	CHECK_INT(run("198.51.100.14", "a@acidr.test", "acidr.test", NULL), SPF_PASS);
	CHECK_INT(run("198.51.100.17", "a@acidr.test", "acidr.test", NULL), SPF_FAIL);
	CHECK_INT(run("203.0.113.5", "a@mx.test", "mx.test", NULL), SPF_PASS);
	CHECK_INT(run("2001:db8::25", "a@mx.test", "mx.test", NULL), SPF_PASS);
	CHECK_INT(run("2001:db8::26", "a@mx.test", "mx.test", NULL), SPF_FAIL);
	CHECK_INT(run("192.0.2.9", "a@inc.test", "inc.test", NULL), SPF_PASS);
	CHECK_INT(run("198.51.100.1", "a@inc.test", "inc.test", NULL), SPF_FAIL);
	CHECK_INT(run("198.51.100.1", "a@incnone.test", "incnone.test", NULL), SPF_PERMERROR);
	CHECK_INT(run("192.0.2.9", "a@redir.test", "redir.test", NULL), SPF_PASS);
	CHECK_INT(run("198.51.100.1", "a@redirnone.test", "redirnone.test", NULL),
		  SPF_PERMERROR);
	CHECK_INT(run("192.0.2.9", "a@exists.test", "exists.test", NULL), SPF_PASS);
	CHECK_INT(run("192.0.2.10", "a@exists.test", "exists.test", NULL), SPF_FAIL);
	CHECK_INT(run("2001:db8:1::1", "a@six.test", "six.test", NULL), SPF_PASS);
	CHECK_INT(run("2001:db9::1", "a@six.test", "six.test", NULL), SPF_FAIL);
	/* an IPv4-mapped IPv6 client is checked as IPv4 */
	CHECK_INT(run("::ffff:192.0.2.9", "a@pass.test", "pass.test", NULL), SPF_PASS);
}

TEST(spf_macros)
{
	/* %{l}.%{d2}.%{ir}: local part, the last two labels of the domain,
	 * the IP reversed (RFC 7208 7.4) */
	CHECK_INT(run("192.0.2.9", "alice@macro.test", "macro.test", NULL), SPF_PASS);
	CHECK_INT(run("192.0.2.9", "bob@macro.test", "macro.test", NULL), SPF_FAIL);
}

TEST(spf_limits)
{
	unsigned q = 0;
	/* an include loop ends at the lookup limit, not in a hang */
	CHECK_INT(run("192.0.2.1", "a@loop1.test", "loop1.test", &q), SPF_PERMERROR);
	CHECK(q <= SPF_MAX_DNS_TERMS + 2);
	/* 11 lookups: the 11th is one too many (4.6.4) */
	CHECK_INT(run("192.0.2.1", "a@chain0.test", "chain0.test", &q), SPF_PERMERROR);
	/* three void lookups: the third is one too many */
	CHECK_INT(run("192.0.2.1", "a@void.test", "void.test", NULL), SPF_PERMERROR);
	/* 11 MX hosts */
	CHECK_INT(run("192.0.2.1", "a@mxmany.test", "mxmany.test", NULL), SPF_PERMERROR);
}

TEST(spf_record_syntax)
{
	static const struct {
		const char *rec;
		int ok;
	} cases[] = {
		{"v=spf1", 0},
		{"v=spf1 -all", 0},
		{"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24 a:x.test//64 ~all", 0},
		{"v=spf1 include:_spf.example.com redirect=x.test", 0},
		{"v=spf1 exists:%{ir}.%{v}._spf.%{d2} exp=explain.test", 0},
		{"v=spf1 unknown-mod=foo -all", 0},
		{"v=spf1 ip4:300.1.1.1", -1},
		{"v=spf1 ip4:192.0.2.0/33", -1},
		{"v=spf1 ip6:2001:db8::/129", -1},
		{"v=spf1 ip4", -1},
		{"v=spf1 include:", -1},
		{"v=spf1 all:x", -1},
		{"v=spf1 redirect=a.test redirect=b.test", -1},
		{"v=spf1 =foo", -1},
		{"v=spf1 a/0032", -1},
		{"spf1 -all", -1},
		{"v=spf1x", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL;
		int r = spf_record_parse(cases[i].rec, strlen(cases[i].rec), &error);
		if (r != cases[i].ok)
			unit_fail(__FILE__, __LINE__, "\"%s\": %d, expected %d", cases[i].rec, r,
				  cases[i].ok);
		free(error);
	}
}
