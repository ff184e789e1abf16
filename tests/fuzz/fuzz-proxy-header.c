/*
 * fuzz-proxy-header: proxy_parse() (lib/proxy-proto.h) on the first bytes
 * of a connection, as the reader peeks them off the socket.
 *
 * Invariants: a DONE header is within the input and PROXY_HEADER_MAX; a
 * v1 header is at most 107 bytes and ends in CRLF; a v2 header is at
 * least 16 bytes; an address, when there is one, is IPv4 or IPv6; every
 * shorter prefix of a DONE header is MORE (the reader may consume a MORE
 * input whole, so no byte after the header is ever taken), and the header
 * alone parses to the same result; MORE never comes from a whole
 * PROXY_HEADER_MAX input or a 107-byte v1 prefix; ERROR has a reason.
 */
#include "fuzz.h"
#include "lib/proxy-proto.h"
#include <netinet/in.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h, again;
	const char *err;
	enum proxy_parse_result r = proxy_parse(data, size, &h, &err);
	if (r == PROXY_PARSE_ERROR) {
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		return 0;
	}
	if (r == PROXY_PARSE_MORE) {
		FUZZ_CHECK(size < PROXY_HEADER_MAX);
		FUZZ_CHECK(size == 0 || data[0] != 'P' || size < PROXY_V1_MAX);
		return 0;
	}
	FUZZ_CHECK(h.len > 0 && h.len <= size && h.len <= PROXY_HEADER_MAX);
	FUZZ_CHECK(h.version == 1 || h.version == 2);
	if (h.version == 1) {
		FUZZ_CHECK(h.len <= PROXY_V1_MAX);
		FUZZ_CHECK(data[h.len - 2] == '\r' && data[h.len - 1] == '\n');
		FUZZ_CHECK(memchr(data, '\n', h.len - 1) == NULL);
	} else {
		FUZZ_CHECK(h.len >= PROXY_V2_FIXED);
	}
	if (!h.local) {
		FUZZ_CHECK(h.src.ss_family == AF_INET || h.src.ss_family == AF_INET6);
		FUZZ_CHECK(h.src.ss_family == h.dst.ss_family);
		FUZZ_CHECK(h.src_len == (h.src.ss_family == AF_INET ? sizeof(struct sockaddr_in)
								    : sizeof(struct sockaddr_in6)));
	}
	for (size_t k = 0; k < h.len; k++)
		FUZZ_CHECK(proxy_parse(data, k, &again, &err) == PROXY_PARSE_MORE);
	FUZZ_CHECK(proxy_parse(data, h.len, &again, &err) == PROXY_PARSE_DONE);
	FUZZ_CHECK(again.len == h.len && again.local == h.local && again.version == h.version);
	FUZZ_CHECK(memcmp(&again.src, &h.src, sizeof(h.src)) == 0);
	return 0;
}
