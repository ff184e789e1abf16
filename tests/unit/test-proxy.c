/* test-proxy: the PROXY protocol parser (v1 lines, v2 headers), its
 * "MORE means every byte is header" promise, and proxy.trusted matching. */
#include "unit.h"
#include "lib/alloc.h"
#include "lib/proxy-proto.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static const char *src_ip(const struct proxy_header *h, char *buf, size_t n)
{
	if (h->src.ss_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)&h->src)->sin_addr, buf,
				 (socklen_t)n);
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&h->src)->sin6_addr, buf,
			 (socklen_t)n);
}

static int src_port(const struct proxy_header *h)
{
	if (h->src.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&h->src)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&h->src)->sin6_port);
}

static enum proxy_parse_result parse_str(const char *s, struct proxy_header *h,
					 const char **err)
{
	return proxy_parse((const unsigned char *)s, strlen(s), h, err);
}

static const struct {
	const char *line;
	int result; /* 0 done, 1 more, 2 error */
	const char *ip;
	int port;
} v1_cases[] = {
	{"PROXY TCP4 192.0.2.7 10.0.0.1 56324 143\r\n", 0, "192.0.2.7", 56324},
	{"PROXY TCP6 2001:db8::5 2001:db8::1 4000 993\r\n", 0, "2001:db8::5", 4000},
	{"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535},
	{"PROXY TCP4 192.0.2.7 10.0.0.1 0 143\r\n", 0, "192.0.2.7", 0},
	{"PROXY UNKNOWN\r\n", 0, NULL, 0},
	{"PROXY UNKNOWN whatever follows 1 2 3\r\n", 0, NULL, 0},
	{"P", 1, NULL, 0},
	{"PROX", 1, NULL, 0},
	{"PROXY TCP4 192.0.2.7", 1, NULL, 0},
	{"PROXY TCP4 192.0.2.7 10.0.0.1 56324 143\r", 1, NULL, 0},
	{"PROXY TCP4 192.0.2.7 10.0.0.1 56324 143\n", 2, NULL, 0},  /* no CR */
	{"PROXY TCP4 192.0.2.7 10.0.0.1 56324 143 \r\n", 2, NULL, 0}, /* trailing space */
	{"PROXY TCP4  192.0.2.7 10.0.0.1 56324 143\r\n", 2, NULL, 0}, /* double space */
	{"PROXY TCP4 192.0.2.7 10.0.0.1 56324\r\n", 2, NULL, 0},
	{"PROXY TCP4 192.0.2.7 10.0.0.1 56324 143 9\r\n", 2, NULL, 0},
	{"PROXY TCP4 2001:db8::5 10.0.0.1 1 2\r\n", 2, NULL, 0}, /* family mismatch */
	{"PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n", 2, NULL, 0},
	{"PROXY TCP4 192.0.2.256 10.0.0.1 1 2\r\n", 2, NULL, 0},
	{"PROXY TCP4 192.0.2.7 10.0.0.1 65536 2\r\n", 2, NULL, 0},
	{"PROXY TCP4 192.0.2.7 10.0.0.1 01 2\r\n", 2, NULL, 0},
	{"PROXY TCP4 192.0.2.7 10.0.0.1 -1 2\r\n", 2, NULL, 0},
	{"PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n", 2, NULL, 0},
	{"PROXY \r\n", 2, NULL, 0},
	{"PROXY TCP4 192.0.2.7\r10.0.0.1 1 2\r\n", 2, NULL, 0},
	{"proxy TCP4 192.0.2.7 10.0.0.1 1 2\r\n", 2, NULL, 0},
	{"a1 LOGIN x y\r\n", 2, NULL, 0},
	{"PROXYTCP4\r\n", 2, NULL, 0},
};

TEST(proxy_v1_lines)
{
	for (size_t i = 0; i < sizeof(v1_cases) / sizeof(v1_cases[0]); i++) {
		struct proxy_header h;
		const char *err;
		enum proxy_parse_result r = parse_str(v1_cases[i].line, &h, &err);
		if ((int)r != v1_cases[i].result)
			unit_fail(__FILE__, __LINE__, "case %zu '%s': %d, expected %d", i,
				  v1_cases[i].line, (int)r, v1_cases[i].result);
		if (r == PROXY_PARSE_ERROR)
			CHECK(err != NULL);
		if (r != PROXY_PARSE_DONE)
			continue;
		CHECK_INT(h.version, 1);
		CHECK_INT(h.len, strlen(v1_cases[i].line));
		if (v1_cases[i].ip == NULL) {
			CHECK(h.local);
			continue;
		}
		char ip[INET6_ADDRSTRLEN];
		CHECK(!h.local);
		CHECK_STR(src_ip(&h, ip, sizeof(ip)), v1_cases[i].ip);
		CHECK_INT(src_port(&h), v1_cases[i].port);
	}
}

/* The client's bytes after the line are not part of the header. */
TEST(proxy_v1_stops_at_crlf)
{
	const char *s = "PROXY TCP4 198.51.100.9 10.0.0.1 1234 110\r\nUSER bob\r\n";
	struct proxy_header h;
	const char *err;
	CHECK_INT(parse_str(s, &h, &err), PROXY_PARSE_DONE);
	CHECK_INT(h.len, strlen("PROXY TCP4 198.51.100.9 10.0.0.1 1234 110\r\n"));
}

TEST(proxy_v1_length_limit)
{
	char line[200];
	memcpy(line, "PROXY UNKNOWN ", 14);
	memset(line + 14, 'x', sizeof(line) - 14);
	struct proxy_header h;
	const char *err;
	/* 106 bytes with no LF: still a possible line. */
	CHECK_INT(proxy_parse((unsigned char *)line, 106, &h, &err), PROXY_PARSE_MORE);
	CHECK_INT(proxy_parse((unsigned char *)line, 107, &h, &err), PROXY_PARSE_ERROR);
	CHECK_INT(proxy_parse((unsigned char *)line, sizeof(line), &h, &err), PROXY_PARSE_ERROR);
	/* Exactly 107 bytes with CRLF at the end is the longest valid line. */
	line[105] = '\r';
	line[106] = '\n';
	CHECK_INT(proxy_parse((unsigned char *)line, 107, &h, &err), PROXY_PARSE_DONE);
	CHECK_INT(h.len, 107);
	/* An LF at byte 108 is too late. */
	line[105] = 'x';
	line[106] = 'x';
	line[107] = '\n';
	CHECK_INT(proxy_parse((unsigned char *)line, 108, &h, &err), PROXY_PARSE_ERROR);
}

static size_t v2_build(unsigned char *buf, unsigned char ver_cmd, unsigned char fam,
		       const unsigned char *block, size_t block_len, size_t declared)
{
	memcpy(buf, sig, 12);
	buf[12] = ver_cmd;
	buf[13] = fam;
	buf[14] = (unsigned char)(declared >> 8);
	buf[15] = (unsigned char)declared;
	memcpy(buf + 16, block, block_len);
	return 16 + block_len;
}

TEST(proxy_v2_tcp4_tcp6)
{
	unsigned char buf[600], block[64] = {0};
	struct proxy_header h;
	const char *err;
	char ip[INET6_ADDRSTRLEN];
	/* 203.0.113.5:40000 -> 10.0.0.1:143 */
	unsigned char b4[12] = {203, 0, 113, 5, 10, 0, 0, 1, 0x9C, 0x40, 0, 143};
	size_t n = v2_build(buf, 0x21, 0x11, b4, sizeof(b4), sizeof(b4));
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_DONE);
	CHECK_INT(h.version, 2);
	CHECK_INT(h.len, 28);
	CHECK(!h.local);
	CHECK_STR(src_ip(&h, ip, sizeof(ip)), "203.0.113.5");
	CHECK_INT(src_port(&h), 40000);
	/* Every shorter prefix is MORE: all of it is header. */
	for (size_t k = 0; k < n; k++)
		CHECK_INT(proxy_parse(buf, k, &h, &err), PROXY_PARSE_MORE);

	/* TCP6 with a TLV after the addresses: skipped, counted in len. */
	inet_pton(AF_INET6, "2001:db8::42", block);
	inet_pton(AF_INET6, "2001:db8::1", block + 16);
	block[32] = 0x04;
	block[33] = 0xD2; /* port 1234 */
	block[35] = 143;
	unsigned char tlv[7] = {0x02, 0x00, 0x04, 'h', 'o', 's', 't'}; /* PP2_TYPE_AUTHORITY */
	memcpy(block + 36, tlv, sizeof(tlv));
	n = v2_build(buf, 0x21, 0x21, block, 43, 43);
	memcpy(buf + n, "a1 CAPABILITY\r\n", 15);
	CHECK_INT(proxy_parse(buf, n + 15, &h, &err), PROXY_PARSE_DONE);
	CHECK_INT(h.len, 16 + 43);
	CHECK_STR(src_ip(&h, ip, sizeof(ip)), "2001:db8::42");
	CHECK_INT(src_port(&h), 1234);
}

TEST(proxy_v2_local_unspec_unix)
{
	unsigned char buf[600], block[300] = {0};
	struct proxy_header h;
	const char *err;
	/* LOCAL with an address block: the block is skipped, no address. */
	size_t n = v2_build(buf, 0x20, 0x11, block, 12, 12);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_DONE);
	CHECK(h.local);
	CHECK_INT(h.len, 28);
	/* LOCAL ignores the family (spec 2.2), even one PROXY would refuse. */
	n = v2_build(buf, 0x20, 0x12, block, 3, 3);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_DONE);
	CHECK(h.local);
	CHECK_INT(h.len, 19);
	n = v2_build(buf, 0x20, 0x00, block, 0, 0);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_DONE);
	CHECK(h.local);
	CHECK_INT(h.len, 16);
	n = v2_build(buf, 0x21, 0x00, block, 0, 0); /* PROXY UNSPEC */
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_DONE);
	CHECK(h.local);
	n = v2_build(buf, 0x21, 0x31, block, 216, 216); /* UNIX stream */
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_DONE);
	CHECK(h.local);
	CHECK_INT(h.len, 232);
}

TEST(proxy_v2_refusals)
{
	unsigned char buf[600], block[600] = {0};
	struct proxy_header h;
	const char *err;
	size_t n;
	/* Wrong signature byte. */
	n = v2_build(buf, 0x21, 0x11, block, 12, 12);
	buf[7] = 'X';
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_ERROR);
	CHECK_INT(proxy_parse(buf, 8, &h, &err), PROXY_PARSE_ERROR);
	/* Version 1 in the binary form, and version 3. */
	n = v2_build(buf, 0x11, 0x11, block, 12, 12);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_ERROR);
	n = v2_build(buf, 0x31, 0x11, block, 12, 12);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_ERROR);
	/* Command 2..15. */
	n = v2_build(buf, 0x22, 0x11, block, 12, 12);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_ERROR);
	/* UDP, unknown family, INET with transport UNSPEC. */
	CHECK_INT(proxy_parse(buf, v2_build(buf, 0x21, 0x12, block, 12, 12), &h, &err),
		  PROXY_PARSE_ERROR);
	CHECK_INT(proxy_parse(buf, v2_build(buf, 0x21, 0x41, block, 12, 12), &h, &err),
		  PROXY_PARSE_ERROR);
	CHECK_INT(proxy_parse(buf, v2_build(buf, 0x21, 0x10, block, 12, 12), &h, &err),
		  PROXY_PARSE_ERROR);
	/* Address block too short for the family. */
	CHECK_INT(proxy_parse(buf, v2_build(buf, 0x21, 0x11, block, 11, 11), &h, &err),
		  PROXY_PARSE_ERROR);
	CHECK_INT(proxy_parse(buf, v2_build(buf, 0x21, 0x21, block, 35, 35), &h, &err),
		  PROXY_PARSE_ERROR);
	/* Oversized: refused from the fixed part alone, no waiting for it. */
	n = v2_build(buf, 0x21, 0x11, block, 0, PROXY_V2_BLOCK_MAX + 1);
	CHECK_INT(proxy_parse(buf, 16, &h, &err), PROXY_PARSE_ERROR);
	n = v2_build(buf, 0x21, 0x11, block, 0, 0xFFFF);
	CHECK_INT(proxy_parse(buf, 16, &h, &err), PROXY_PARSE_ERROR);
	/* The largest accepted block. */
	n = v2_build(buf, 0x21, 0x11, block, PROXY_V2_BLOCK_MAX, PROXY_V2_BLOCK_MAX);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_DONE);
	CHECK_INT(h.len, PROXY_HEADER_MAX);
	/* Declared longer than what arrived: MORE, never DONE early. */
	n = v2_build(buf, 0x21, 0x11, block, 12, 20);
	CHECK_INT(proxy_parse(buf, n, &h, &err), PROXY_PARSE_MORE);
}

static bool trusted_str(const char *ip)
{
	struct sockaddr_storage ss = {0};
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		return proxy_trusted((struct sockaddr *)&ss, sizeof(*s6));
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	s4->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &s4->sin_addr);
	return proxy_trusted((struct sockaddr *)&ss, sizeof(*s4));
}

TEST(proxy_trusted_networks)
{
	char *error = NULL;
	CHECK_INT(proxy_set_trusted("10.1.0.0/16, 192.0.2.7 2001:db8:80::/41,::1/128", &error), 0);
	CHECK(trusted_str("10.1.200.3"));
	CHECK(!trusted_str("10.2.0.1"));
	CHECK(trusted_str("192.0.2.7"));
	CHECK(!trusted_str("192.0.2.8"));
	CHECK(trusted_str("2001:db8:80::1"));
	CHECK(trusted_str("2001:db8:ff::1"));	   /* 0x80 bit set, /41 */
	CHECK(!trusted_str("2001:db8:7f::1"));
	CHECK(trusted_str("::1"));
	CHECK(trusted_str("::ffff:10.1.2.3")); /* mapped IPv4 */
	CHECK(!trusted_str("127.0.0.1"));
	CHECK(!proxy_trusted(NULL, 0));
	const char *bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "host.example", "10.0.0.0/8x",
			     "1.2.3.4/-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(proxy_set_trusted(bad[i], &error), -1);
		CHECK(error != NULL);
		xfree(&error);
	}
	/* A failed update leaves the table as it was. */
	CHECK(trusted_str("10.1.200.3"));
	CHECK_INT(proxy_set_trusted("0.0.0.0/0", &error), 0);
	CHECK(trusted_str("8.8.8.8"));
	CHECK(!trusted_str("::2"));
	CHECK_INT(proxy_set_trusted("127.0.0.1/32, ::1/128", &error), 0);
}

TEST(proxy_listener_names)
{
	char *error = NULL;
	CHECK_INT(proxy_configure("imap, pop3s,lmtp", "127.0.0.1/32", &error), 0);
	CHECK(proxy_enabled("imap"));
	CHECK(proxy_enabled("pop3s"));
	CHECK(proxy_enabled("lmtp"));
	CHECK(!proxy_enabled("imaps"));
	CHECK(!proxy_enabled("smtp"));
	CHECK(!proxy_enabled("nonsense"));
	CHECK_INT(proxy_configure("all", "127.0.0.1/32", &error), 0);
	CHECK(proxy_enabled("smtp"));
	CHECK(proxy_enabled("submissions"));
	CHECK(proxy_enabled("https"));
	const char *bad[] = {"imap, gopher", "htp", "imap httpss", "IMAP"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(proxy_configure(bad[i], "127.0.0.1/32", &error), -1);
		CHECK(error != NULL);
		xfree(&error);
	}
	CHECK_INT(proxy_configure("imap", "10.0.0.0/40", &error), -1);
	xfree(&error);
	CHECK(proxy_enabled("smtp")); /* unchanged on error */
	CHECK_INT(proxy_configure("", "127.0.0.1/32, ::1/128", &error), 0);
	CHECK(!proxy_enabled("imap"));
	CHECK_INT(proxy_configure("off", "127.0.0.1/32, ::1/128", &error), 0);
	CHECK(!proxy_enabled("imap"));
}
