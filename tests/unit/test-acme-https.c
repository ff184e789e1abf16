/* test-acme-https: URL splitting and the HTTP answer parsing of the ACME client. */
#include "unit.h"
#include "acme/acme-https.h"
#include <stdlib.h>

TEST(acme_https_url)
{
	char *h, *p, *path;
	CHECK_INT(acme_https_parse_url("https://acme.example/dir", &h, &p, &path), 0);
	CHECK_STR(h, "acme.example");
	CHECK_STR(p, "443");
	CHECK_STR(path, "/dir");
	free(h), free(p), free(path);
	CHECK_INT(acme_https_parse_url("HTTPS://127.0.0.1:14000", &h, &p, &path), 0);
	CHECK_STR(h, "127.0.0.1");
	CHECK_STR(p, "14000");
	CHECK_STR(path, "/");
	free(h), free(p), free(path);
	CHECK_INT(acme_https_parse_url("https://[::1]:8443/a?b", &h, &p, &path), 0);
	CHECK_STR(h, "::1");
	CHECK_STR(p, "8443");
	CHECK_STR(path, "/a?b");
	free(h), free(p), free(path);
	static const char *const bad[] = {
		"http://acme.example/dir", "https://", "https:///dir", "https://a:/x",
		"https://a:123456/x", "https://a:8x/", "https://user@a/x", "https://[::1/x",
		"https://[::1]x/", "https://a/b c", "https://a/\x7f", "ftp://a/", "https:/a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (acme_https_parse_url(bad[i], &h, &p, &path) == 0) {
			unit_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
			free(h), free(p), free(path);
		}
	char longurl[ACME_HTTPS_MAX_URL + 20] = "https://a/";
	memset(longurl + 10, 'x', ACME_HTTPS_MAX_URL);
	longurl[ACME_HTTPS_MAX_URL + 10] = '\0';
	CHECK(acme_https_parse_url(longurl, &h, &p, &path) < 0);
}

TEST(acme_https_head)
{
	static const char head[] = "HTTP/1.1 201 Created\r\n"
				   "Replay-Nonce: abc_DEF-123\r\n"
				   "location:  https://ca/acct/1 \r\n"
				   "Content-Type: application/json\r\n"
				   "Retry-After: 7\r\n"
				   "Content-Length: 42\r\n"
				   "X-Other: whatever\r\n\r\n";
	struct acme_response r = {.retry_after = -1};
	long cl;
	bool chunked;
	CHECK_INT(acme_https_parse_head(head, sizeof(head) - 1, &r, &cl, &chunked), 0);
	CHECK_INT(r.status, 201);
	CHECK_STR(r.nonce, "abc_DEF-123");
	CHECK_STR(r.location, "https://ca/acct/1");
	CHECK_STR(r.content_type, "application/json");
	CHECK_INT(r.retry_after, 7);
	CHECK_INT(cl, 42);
	CHECK(!chunked);
	acme_response_clear(&r);
	CHECK(r.nonce == NULL && r.retry_after == -1);

	static const char chunk_head[] = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n"
					 "Retry-After: 999999\nRetry-After2: 1\n\n";
	CHECK_INT(acme_https_parse_head(chunk_head, sizeof(chunk_head) - 1, &r, &cl, &chunked), 0);
	CHECK(chunked);
	CHECK_INT(cl, -1);
	CHECK_INT(r.retry_after, 3600); /* capped */
	acme_response_clear(&r);

	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 600 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"SMTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nReplay-Nonce: a\r\nReplay-Nonce: b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLocation: a\r\nLocation: b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLocation: https://a/\rx\r\n\r\n",	/* bare CR */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (acme_https_parse_head(bad[i], strlen(bad[i]), &r, &cl, &chunked) == 0)
			unit_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
		acme_response_clear(&r);
	}
	/* a NUL inside a value is refused, not a shorter value (found by
	 * fuzz-acme-http: "Location: https://a/ \0x" came back "https://a/ ") */
	static const char nul[] = "HTTP/1.1 200 OK\r\nLocation: https://a/ \0x\r\n\r\n";
	CHECK_INT(acme_https_parse_head(nul, sizeof(nul) - 1, &r, &cl, &chunked), -1);
	acme_response_clear(&r);
}

TEST(acme_https_dechunk)
{
	char ok[] = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
	long n = acme_https_dechunk(ok, strlen(ok));
	CHECK_INT(n, 12);
	CHECK(memcmp(ok, "hello, world", 12) == 0);
	char lf[] = "3\nabc\n0\n\n";
	CHECK_INT(acme_https_dechunk(lf, strlen(lf)), 3);
	static const char *const bad[] = {
		"",	       "x\r\n",	   "5\r\nhel",	     "5\r\nhelloX\r\n0\r\n\r\n",
		"ffffffff\r\nab", "123456789\r\n", "5",	"-1\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[64];
		size_t len = strlen(bad[i]);
		memcpy(buf, bad[i], len + 1);
		if (acme_https_dechunk(buf, len) >= 0)
			unit_fail(__FILE__, __LINE__, "accepted chunked %s", bad[i]);
	}
}
