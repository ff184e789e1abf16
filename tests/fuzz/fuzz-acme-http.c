/*
 * fuzz-acme-http: the HTTP/1.1 answer parsing of the ACME client
 * (acme/acme-https.c) on what a hostile CA, or a machine in the middle
 * of a misrouted request, can answer: the head through
 * acme_https_parse_head(), the body through acme_https_dechunk(), and
 * the first line as a URL (a Location or directory entry) through
 * acme_https_parse_url().
 *
 * Invariants: a parsed head has a status 100..599, a Content-Length
 * within ACME_HTTPS_MAX_RESPONSE (or -1), a Retry-After within
 * 0..ACME_RETRY_AFTER_MAX (or -1), and header values without surrounding
 * blanks; a dechunked body is no longer than the input and is exactly
 * the chunks' bytes; a parsed URL has a host without '@', a port of 1..5
 * digits, a path starting with '/' and without blanks or control bytes.
 */
#include "fuzz.h"
#include <strings.h>
#include "acme/acme-private.h"

static void check_trimmed(const char *v)
{
	if (v == NULL)
		return;
	size_t n = strlen(v);
	FUZZ_CHECK(n == 0 || (v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t'));
}

/* The chunked coding decoded the plain way, for comparison: -1 or the
 * decoded length, the bytes in out. */
static long dechunk_reference(const char *in, size_t len, char *out)
{
	size_t pos = 0, n = 0;
	for (;;) {
		size_t size = 0, digits = 0;
		while (pos < len && strchr("0123456789abcdefABCDEF", in[pos]) != NULL &&
		       in[pos] != '\0') {
			char c = in[pos++];
			size = size * 16 + (size_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
			if (++digits > 8)
				return -1;
		}
		if (digits == 0)
			return -1;
		while (pos < len && in[pos] != '\n')
			pos++;
		if (pos == len)
			return -1;
		pos++;
		if (size == 0)
			return (long)n;
		if (len - pos < size)
			return -1;
		memcpy(out + n, in + pos, size);
		n += size;
		pos += size;
		if (pos < len && in[pos] == '\r')
			pos++;
		if (pos == len || in[pos] != '\n')
			return -1;
		pos++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *ref = malloc(size + 1);
	FUZZ_CHECK(text != NULL && ref != NULL);
	memcpy(text, data, size);
	text[size] = '\0';

	struct acme_response resp = {.retry_after = -1};
	long clen;
	bool chunked;
	if (acme_https_parse_head(text, size, &resp, &clen, &chunked) == 0) {
		FUZZ_CHECK(resp.status >= 100 && resp.status <= 599);
		FUZZ_CHECK(clen == -1 || (clen >= 0 && clen <= ACME_HTTPS_MAX_RESPONSE));
		FUZZ_CHECK(resp.retry_after >= -1 && resp.retry_after <= ACME_RETRY_AFTER_MAX);
		check_trimmed(resp.nonce);
		check_trimmed(resp.location);
		check_trimmed(resp.content_type);
	}
	acme_response_clear(&resp);

	long want = dechunk_reference(text, size, ref);
	long got = acme_https_dechunk(text, size);
	FUZZ_CHECK(got == want);
	FUZZ_CHECK(got <= (long)size);
	if (got > 0)
		FUZZ_CHECK(memcmp(text, ref, (size_t)got) == 0);

	memcpy(text, data, size);
	char *nl = memchr(text, '\n', size);
	if (nl != NULL)
		*nl = '\0';
	char *host = NULL, *port = NULL, *path = NULL;
	if (acme_https_parse_url(text, &host, &port, &path) == 0) {
		FUZZ_CHECK(strncasecmp(text, "https://", 8) == 0);
		FUZZ_CHECK(host[0] != '\0' && strchr(host, '@') == NULL);
		size_t np = strlen(port);
		FUZZ_CHECK(np >= 1 && np <= 5 && strspn(port, "0123456789") == np);
		FUZZ_CHECK(path[0] == '/');
		for (const char *p = path; *p != '\0'; p++)
			FUZZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
		free(host);
		free(port);
		free(path);
	}
	free(text);
	free(ref);
	return 0;
}
