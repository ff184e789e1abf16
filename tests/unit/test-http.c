/* test-http: the escaping every autoconfiguration value goes through
 * (http/http-escape.c) and the metrics text (lib/metrics.c). */
#include "unit.h"
#include "http/http-private.h"
#include "lib/metrics.h"
#include <stdlib.h>
#include <string.h>

static const struct { const char *in, *xml, *json; } escapes[] = {
	{"plain@example.com", "plain@example.com", "\"plain@example.com\""},
	{"a<&\"b", "a&lt;&amp;&quot;b", "\"a\\u003c\\u0026\\\"b\""},
	{"'>", "&apos;&gt;", "\"'\\u003e\""},
	{"back\\slash", "back\\slash", "\"back\\\\slash\""},
	{"ctl\x01\n", "ctl?\n", "\"ctl\\u0001\\u000a\""},
	{"", "", "\"\""},
};

TEST(http_escape_xml_and_json)
{
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		struct buf b;
		buf_init(&b, 1024);
		http_xml_escape(&b, escapes[i].in);
		CHECK_STR(b.data ? b.data : "", escapes[i].xml);
		buf_reset(&b);
		http_json_string(&b, escapes[i].in);
		CHECK_STR(b.data, escapes[i].json);
		buf_free(&b);
	}
}

TEST(metrics_text_format)
{
	metrics_reset();
	metrics_inc("roost_logins_total", "imap", "ok");
	metrics_inc("roost_logins_total", "imap", "ok");
	metrics_inc("roost_logins_total", "pop3", "failed");
	metrics_observe("roost_store_commit_seconds", NULL, NULL, 0.003);
	metrics_observe("roost_store_commit_seconds", NULL, NULL, 20);
	metrics_add("roost_no_such_family", NULL, NULL, 1); /* ignored, logged once */
	struct buf b;
	buf_init(&b, 1 << 20);
	CHECK(metrics_format(&b) == 0);
	CHECK(strstr(b.data, "# HELP roost_logins_total ") != NULL);
	CHECK(strstr(b.data, "# TYPE roost_logins_total counter\n") != NULL);
	CHECK(strstr(b.data, "roost_logins_total{proto=\"imap\",result=\"ok\"} 2\n") != NULL);
	CHECK(strstr(b.data, "roost_logins_total{proto=\"pop3\",result=\"failed\"} 1\n") != NULL);
	CHECK(strstr(b.data, "# TYPE roost_store_commit_seconds histogram\n") != NULL);
	/* cumulative: 0.003 is in le=0.005 and above, 20 only in +Inf */
	CHECK(strstr(b.data, "roost_store_commit_seconds_bucket{le=\"0.0025\"} 0\n") != NULL);
	CHECK(strstr(b.data, "roost_store_commit_seconds_bucket{le=\"0.005\"} 1\n") != NULL);
	CHECK(strstr(b.data, "roost_store_commit_seconds_bucket{le=\"10\"} 1\n") != NULL);
	CHECK(strstr(b.data, "roost_store_commit_seconds_bucket{le=\"+Inf\"} 2\n") != NULL);
	CHECK(strstr(b.data, "roost_store_commit_seconds_count 2\n") != NULL);
	CHECK(strstr(b.data, "roost_store_commit_seconds_sum 20.003000\n") != NULL);
	CHECK(strstr(b.data, "roost_no_such_family") == NULL);
	buf_free(&b);
	metrics_reset();
}

TEST(metrics_series_capped)
{
	metrics_reset();
	char name[32];
	for (int i = 0; i < METRICS_MAX_SERIES + 50; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		metrics_inc("roost_connections_total", name, NULL);
	}
	struct buf b;
	buf_init(&b, 1 << 22);
	CHECK(metrics_format(&b) == 0);
	size_t n = 0;
	for (const char *p = b.data; (p = strstr(p, "roost_connections_total{")) != NULL; p++)
		n++;
	CHECK_INT((long long)n, METRICS_MAX_SERIES);
	buf_free(&b);
	metrics_reset();
}

static const struct { const char *body, *want; } ad_requests[] = {
	{"<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress></Request></Autodiscover>",
	 "a@example.com"},
	{"<x:EMailAddress>\n  b@example.com \n</x:EMailAddress>", "b@example.com"},
	{"<EMailAddress>a&amp;b@example.com</EMailAddress>", "a&b@example.com"},
	{"<EMailAddress>x&lt;y&quot;@e.com</EMailAddress>", "x<y\"@e.com"},
	{"<EMailAddress>a&#64;b</EMailAddress>", NULL},	/* numeric: not taken */
	{"<EMailAddress>unterminated", NULL},
	{"<EMailAddressX>a@b</EMailAddressX>", NULL},
	{"<Request><LegacyDN>x</LegacyDN></Request>", NULL},
	{"", NULL},
};

TEST(http_autodiscover_address)
{
	for (size_t i = 0; i < sizeof(ad_requests) / sizeof(ad_requests[0]); i++) {
		const char *body = ad_requests[i].body;
		char *got = http_autodiscover_address(body, strlen(body));
		if (ad_requests[i].want == NULL)
			CHECK(got == NULL);
		else
			CHECK_STR(got != NULL ? got : "(null)", ad_requests[i].want);
		free(got);
	}
	/* a NUL inside the body: nothing */
	const char nul[] = "<EMailAddress>a@b\0c</EMailAddress>";
	CHECK(http_autodiscover_address(nul, sizeof(nul) - 1) == NULL);
}
