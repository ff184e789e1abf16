/* test-dkim-verify: DKIM verification (RFC 6376 6) against RFC 8463's
 * Appendix A example (one message signed with Ed25519 and with RSA), a
 * simple/simple vector made with dkimpy, and broken, forged and hostile
 * variants of them. */
#include "unit.h"
#include "fake-dns.h"
#include "dkim/dkim.h"
#include "lib/buf.h"
#include <stdlib.h>

/* RFC 8463 A.3, byte for byte (folded lines start with one space). */
static const char rfc8463_msg[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	" subject : date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
	" date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
	" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
	" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";

/* RFC 8463 A.2 key records. */
#define RFC8463_ED "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC8463_RSA                                                                     \
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3id" \
	"Y6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lx" \
	"j+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

static const struct fake_rr rfc_zone[] = {
	{"brisbane._domainkey.football.example.com", DNS_TYPE_TXT_RR, RFC8463_ED},
	{"test._domainkey.football.example.com", DNS_TYPE_TXT_RR, RFC8463_RSA},
	{NULL, 0, NULL},
};

/* dkimpy 1.1.4, c=simple/simple, a 1024-bit RSA key. */
static const char simple_msg[] =
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=simple.test;\r\n"
	" i=@simple.test; q=dns/txt; s=sel; t=1796276500; h=from : to : subject;\r\n"
	" bh=GFwGvOJH6sJ7ybdvUQOQPVIowql2Lr6WPoB/klEWoLI=;\r\n"
	" b=Bz2oqmwliE4ziz0W4cT0iNsHlUkNkycjQ47z8ZAH5lqfMWUaH3JfO0zx58w7gVgPINjSJ\r\n"
	" J5qEr/9qvFag+Mv808eP701GW44P/KY17UznlM9we933fVUUBmYsutdglDfPcHDlN4APy9F\r\n"
	" HmPCKFmQpyZVh6k5K+4xHAHAYJBS8wU=\r\n"
	"From: Alice <alice@simple.test>\r\n"
	"To: bob@example.test\r\n"
	"Subject:  Spaces   kept \r\n"
	"\r\n"
	"Body  with  spaces \r\n"
	"\r\n"
	"\r\n";

static const struct fake_rr simple_zone[] = {
	{"sel._domainkey.simple.test", DNS_TYPE_TXT_RR,
	 "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDQqeyrB+icXl3lW8uHZsSuh3drSGjamyg"
	 "abAZOAEc5QqlOSqHaWDjFlLdEmBgCCNlUK5erOYZM5pOyFZxFedzaI6+LuPxjVb/8VmIrQAb2g0wK9Fx47f4DoOc3O"
	 "ocnC+hCmKAy263jqo9N04XitLvD/BzYslDVgDBMgeknn41E0wIDAQAB"},
	{NULL, 0, NULL},
};

static void verify(const struct fake_rr *zone, const char *msg, size_t len,
		   struct dkim_verify_result *r)
{
	struct fake_dns f = {zone, 0};
	struct dns_resolver res = fake_resolver(&f);
	dkim_verify(&res, msg, len, 1700000000, r);
}

/* msg with the first `from` replaced by `to` (same length or not). */
static char *replace(const char *msg, const char *from, const char *to)
{
	const char *p = strstr(msg, from);
	if (p == NULL)
		return NULL;
	return xasprintf("%.*s%s%s", (int)(p - msg), msg, to, p + strlen(from));
}

TEST(dkim_verify_rfc8463_example)
{
	struct dkim_verify_result r;
	verify(rfc_zone, rfc8463_msg, strlen(rfc8463_msg), &r);
	CHECK_INT(r.n, 2);
	CHECK_INT(r.sigs[0].result, DKIM_PASS);
	CHECK_INT(r.sigs[1].result, DKIM_PASS);
	CHECK_STR(r.sigs[0].domain, "football.example.com");
	CHECK_STR(r.sigs[0].selector, "brisbane");
	CHECK_STR(r.sigs[0].b_prefix, "/gCrinpc");
	CHECK_STR(r.sigs[1].selector, "test");
	dkim_verify_result_clear(&r);
}

TEST(dkim_verify_simple_canonicalization)
{
	struct dkim_verify_result r;
	verify(simple_zone, simple_msg, strlen(simple_msg), &r);
	CHECK_INT(r.n, 1);
	CHECK_INT(r.sigs[0].result, DKIM_PASS);
	dkim_verify_result_clear(&r);
	/* simple keeps whitespace: one space less in the body breaks it... */
	char *m = replace(simple_msg, "Body  with", "Body with");
	verify(simple_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_FAIL);
	CHECK(strstr(r.sigs[0].why, "body hash") != NULL);
	dkim_verify_result_clear(&r);
	free(m);
	/* ...and in a signed header field too */
	m = replace(simple_msg, "Spaces   kept", "Spaces  kept");
	verify(simple_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_FAIL);
	dkim_verify_result_clear(&r);
	free(m);
	/* more empty lines at the end change nothing (3.4.3) */
	m = xasprintf("%s\r\n\r\n", simple_msg);
	verify(simple_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_PASS);
	dkim_verify_result_clear(&r);
	free(m);
}

TEST(dkim_verify_broken)
{
	struct dkim_verify_result r;
	/* a changed body: both body hashes fail */
	char *m = replace(rfc8463_msg, "We lost", "We won!");
	verify(rfc_zone, m, strlen(m), &r);
	CHECK_INT(r.n, 2);
	CHECK_INT(r.sigs[0].result, DKIM_FAIL);
	CHECK_INT(r.sigs[1].result, DKIM_FAIL);
	dkim_verify_result_clear(&r);
	free(m);
	/* relaxed: whitespace changes in the body are fine */
	m = replace(rfc8463_msg, "Hi.\r\n", "Hi.   \r\n");
	verify(rfc_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_PASS);
	dkim_verify_result_clear(&r);
	free(m);
	/* a changed signed header */
	m = replace(rfc8463_msg, "Is dinner ready?", "Is lunch ready?");
	verify(rfc_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_FAIL);
	CHECK_INT(r.sigs[1].result, DKIM_FAIL);
	CHECK(strstr(r.sigs[0].why, "did not verify") != NULL);
	dkim_verify_result_clear(&r);
	free(m);
	/* a second From added on top: h= names From twice, so the added one
	 * is signed-as-absent no more (5.4.2) and the signature fails */
	m = xasprintf("From: evil@attacker.test\r\n%s", rfc8463_msg);
	verify(rfc_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_FAIL);
	dkim_verify_result_clear(&r);
	free(m);
	/* an unsigned header added: still passes */
	m = xasprintf("X-Added: yes\r\n%s", rfc8463_msg);
	verify(rfc_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_PASS);
	CHECK_INT(r.sigs[1].result, DKIM_PASS);
	dkim_verify_result_clear(&r);
	free(m);
	/* l= covering less than the body is not honoured: fail */
	m = replace(rfc8463_msg, "c=relaxed/relaxed;\r\n d=football.example.com; i=@football.example.com;\r\n q=dns/txt; s=brisbane",
		    "c=relaxed/relaxed; l=5;\r\n d=football.example.com; i=@football.example.com;\r\n q=dns/txt; s=brisbane");
	CHECK(m != NULL);
	verify(rfc_zone, m, strlen(m), &r);
	CHECK_INT(r.sigs[0].result, DKIM_FAIL);
	dkim_verify_result_clear(&r);
	free(m);
}

TEST(dkim_verify_keys)
{
	struct dkim_verify_result r;
	static const struct fake_rr none[] = {{NULL, 0, NULL}};
	verify(none, rfc8463_msg, strlen(rfc8463_msg), &r);
	CHECK_INT(r.sigs[0].result, DKIM_PERMERROR);
	dkim_verify_result_clear(&r);
	static const struct fake_rr temp[] = {
		{"brisbane._domainkey.football.example.com", DNS_TYPE_TXT_RR, "TEMPFAIL"},
		{"test._domainkey.football.example.com", DNS_TYPE_TXT_RR, "v=DKIM1; k=rsa; p="},
		{NULL, 0, NULL}};
	verify(temp, rfc8463_msg, strlen(rfc8463_msg), &r);
	CHECK_INT(r.sigs[0].result, DKIM_TEMPERROR);
	CHECK_INT(r.sigs[1].result, DKIM_PERMERROR); /* revoked */
	CHECK(strstr(r.sigs[1].why, "revoked") != NULL);
	dkim_verify_result_clear(&r);
	/* the keys swapped: type mismatch */
	static const struct fake_rr swapped[] = {
		{"brisbane._domainkey.football.example.com", DNS_TYPE_TXT_RR, RFC8463_RSA},
		{"test._domainkey.football.example.com", DNS_TYPE_TXT_RR, RFC8463_ED},
		{NULL, 0, NULL}};
	verify(swapped, rfc8463_msg, strlen(rfc8463_msg), &r);
	CHECK_INT(r.sigs[0].result, DKIM_PERMERROR);
	CHECK_INT(r.sigs[1].result, DKIM_PERMERROR);
	dkim_verify_result_clear(&r);
	/* garbage key data */
	static const struct fake_rr garbage[] = {
		{"brisbane._domainkey.football.example.com", DNS_TYPE_TXT_RR, "v=DKIM1; k=ed25519; p=AAAA"},
		{"test._domainkey.football.example.com", DNS_TYPE_TXT_RR, "v=DKIM1; k=rsa; p=!!!"},
		{NULL, 0, NULL}};
	verify(garbage, rfc8463_msg, strlen(rfc8463_msg), &r);
	CHECK_INT(r.sigs[0].result, DKIM_PERMERROR);
	CHECK_INT(r.sigs[1].result, DKIM_PERMERROR);
	dkim_verify_result_clear(&r);
}

TEST(dkim_verify_none_and_limits)
{
	struct dkim_verify_result r;
	const char *plain = "From: a@b.test\r\n\r\nhello\r\n";
	verify(rfc_zone, plain, strlen(plain), &r);
	CHECK_INT(r.n, 0);
	/* 20 signatures: only the first DKIM_VERIFY_MAX_SIGS are looked at */
	struct buf b;
	buf_init(&b, SIZE_MAX);
	for (int i = 0; i < 20; i++)
		buf_puts(&b, "DKIM-Signature: v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AAAA; b=AAAA\r\n");
	buf_puts(&b, plain);
	struct fake_dns f = {rfc_zone, 0};
	struct dns_resolver res = fake_resolver(&f);
	dkim_verify(&res, b.data, b.len, 1700000000, &r);
	CHECK_INT(r.n, DKIM_VERIFY_MAX_SIGS);
	CHECK(f.queries <= DKIM_VERIFY_MAX_SIGS);
	dkim_verify_result_clear(&r);
	buf_free(&b);
	/* expired (x= in the past) */
	const char *exp = "DKIM-Signature: v=1; a=ed25519-sha256; d=football.example.com; s=brisbane; "
			  "h=from; x=1000; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AAAA\r\n"
			  "From: a@football.example.com\r\n\r\nhi\r\n";
	verify(rfc_zone, exp, strlen(exp), &r);
	CHECK_INT(r.sigs[0].result, DKIM_FAIL);
	CHECK_STR(r.sigs[0].why, "signature expired");
	dkim_verify_result_clear(&r);
}

TEST(dkim_sig_syntax)
{
	static const struct {
		const char *v;
		int ok;
	} cases[] = {
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==", 0},
		{"v=1; a=ed25519-sha256; c=relaxed; d=x.test; s=s; h=From:To; bh=AA==; b=AA==;", 0},
		{" v = 1 ; a=rsa-sha256; d=x.test; s=s; h=from; bh=A\r\n A==; b=AA==", 0},
		{"v=2; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==", -1},
		{"v=1; a=rsa-sha1; d=x.test; s=s; h=from; bh=AA==; b=AA==", -1},
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=to; bh=AA==; b=AA==", -1},
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==", -1},
		{"v=1; v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==", -1},
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==; i=a@other.test", -1},
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==; i=a@sub.x.test", 0},
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==; c=weird/simple", -1},
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==; t=5; x=4", -1},
		{"v=1; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==; l=-1", -1},
		{"v=1; a=rsa-sha256; d=x te st; s=s; h=from; bh=AA==; b=AA==", 0}, /* FWS removed */
		{"v=1; a=rsa-sha256; d=x/test; s=s; h=from; bh=AA==; b=AA==", -1},
		{"garbage", -1},
		{"", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL;
		int r = dkim_sig_check_syntax(cases[i].v, strlen(cases[i].v), &error);
		if (r != cases[i].ok)
			unit_fail(__FILE__, __LINE__, "\"%s\": %d (%s), expected %d", cases[i].v, r,
				  error ? error : "", cases[i].ok);
		free(error);
	}
}
