/*
 * fuzz-dkim: the DKIM signer's message reading (src/dkim/dkim-sign.c).
 *  - the whole input as a body through dkim_canon_body_relaxed().
 *    Invariants: the result is empty or ends in CRLF, never ends in an
 *    empty line, has no WSP before a CRLF and no run of two WSP, and is a
 *    fixed point (canonicalizing it again gives the same bytes).
 *  - the input up to its first empty line as one header field through
 *    dkim_canon_header_relaxed(). Invariants: one CRLF, at the end; no
 *    WSP run in the value; no upper-case letter before the first colon.
 *  - the whole input as a message through dkim_sign() with an Ed25519
 *    key made once. Invariants: success or an error text; on success one
 *    "DKIM-Signature:" field, CRLF line ends, no line over 78 columns.
 */
#include "fuzz.h"
#include "dkim/dkim.h"
#include "dkim/dkim-private.h"
#include "lib/buf.h"

static struct dkim_signer signer;

static void check_body(const char *in, size_t len)
{
	struct buf a, b;
	buf_init(&a, SIZE_MAX);
	buf_init(&b, SIZE_MAX);
	dkim_canon_body_relaxed(in, len, &a);
	if (a.len > 0) {
		FUZZ_CHECK(a.len >= 2 && memcmp(a.data + a.len - 2, "\r\n", 2) == 0);
		FUZZ_CHECK(a.len < 4 || memcmp(a.data + a.len - 4, "\r\n\r\n", 4) != 0);
		FUZZ_CHECK(a.len != 2);
	}
	for (size_t i = 1; i < a.len; i++) {
		int wsp = a.data[i] == ' ' || a.data[i] == '\t';
		FUZZ_CHECK(!(a.data[i] == '\r' && i + 1 < a.len && a.data[i + 1] == '\n' &&
			     a.data[i - 1] == ' '));
		FUZZ_CHECK(!(wsp && (a.data[i - 1] == ' ' || a.data[i - 1] == '\t')));
		FUZZ_CHECK(a.data[i] != '\t');
	}
	dkim_canon_body_relaxed(a.data != NULL ? a.data : "", a.len, &b);
	FUZZ_CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	buf_free(&a);
	buf_free(&b);
}

static void check_header(const char *in, size_t len)
{
	const char *end = NULL;
	for (size_t i = 0; i + 3 < len && end == NULL; i++)
		if (memcmp(in + i, "\r\n\r\n", 4) == 0)
			end = in + i + 2;
	size_t n = end != NULL ? (size_t)(end - in) : len;
	struct buf a;
	buf_init(&a, SIZE_MAX);
	dkim_canon_header_relaxed(in, n, &a);
	FUZZ_CHECK(a.len >= 3 && memcmp(a.data + a.len - 2, "\r\n", 2) == 0);
	/* The colon we emit is the first one: the name stops at the input's. */
	const char *colon = memchr(a.data, ':', a.len);
	FUZZ_CHECK(colon != NULL);
	for (const char *p = a.data; p < colon; p++)
		FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
	/* The value is unfolded: no CR or LF but the final CRLF. */
	for (size_t i = (size_t)(colon - a.data) + 1; i + 2 < a.len; i++) {
		FUZZ_CHECK(a.data[i] != '\r' && a.data[i] != '\n');
		FUZZ_CHECK(!(a.data[i] == ' ' && a.data[i + 1] == ' '));
	}
	buf_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (signer.key[DKIM_ALG_ED25519] == NULL) {
		signer.key[DKIM_ALG_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		FUZZ_CHECK(signer.key[DKIM_ALG_ED25519] != NULL);
		signer.domain = "example.com";
		signer.selector = "fuzz";
	}
	char *in = fuzz_strndup(data, size);
	check_body(in, size);
	check_header(in, size);
	char *fields = NULL, *error = NULL;
	if (dkim_sign(&signer, in, size, 1700000000, &fields, &error) == 0) {
		FUZZ_CHECK(strncmp(fields, "DKIM-Signature: ", 16) == 0);
		FUZZ_CHECK(strstr(fields + 1, "DKIM-Signature:") == NULL);
		size_t col = 0;
		for (const char *p = fields; *p != '\0'; p++) {
			if (*p == '\n') {
				FUZZ_CHECK(p > fields && p[-1] == '\r');
				col = 0;
			} else if (*p != '\r') {
				FUZZ_CHECK(++col <= 78);
			}
		}
		FUZZ_CHECK(strlen(fields) >= 2 && strcmp(fields + strlen(fields) - 2, "\r\n") == 0);
	} else {
		FUZZ_CHECK(error != NULL && error[0] != '\0');
	}
	free(fields);
	free(error);
	free(in);
	return 0;
}
