/*
 * fuzz-sasl: the SASL response decoders (mail/sasl.h) and the base64
 * codec under them (lib/base64.h). The input is one client response line
 * as IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH deliver it (CRLF removed;
 * the line may hold any byte, NUL included).
 *
 * Invariants: PLAIN yields authcid and password non-empty and without
 * NUL (RFC 4616 2) and re-encoding "authzid\0user\0pass" gives the input
 * back (the strict decoder accepts only canonical base64); LOGIN yields
 * non-empty text without NUL; base64_decode() accepts only what
 * base64_encode() would have written (decode then encode is the identity);
 * encode then decode is the identity for any bytes. Everything decoded is
 * freed, as the callers wipe and free passwords.
 */
#include "fuzz.h"
#include "lib/base64.h"
#include "mail/sasl.h"

static void check_plain(const char *line, size_t len)
{
	char *authz = NULL, *user = NULL, *pass = NULL;
	if (sasl_plain_decode(line, len, &authz, &user, &pass) < 0)
		return;
	FUZZ_CHECK(len <= SASL_MAX_RESPONSE);
	size_t za = strlen(authz), zu = strlen(user), zp = strlen(pass);
	FUZZ_CHECK(zu > 0 && zp > 0);
	size_t n = za + 1 + zu + 1 + zp;
	char *raw = malloc(n);
	FUZZ_CHECK(raw != NULL);
	memcpy(raw, authz, za + 1);
	memcpy(raw + za + 1, user, zu + 1);
	memcpy(raw + za + 1 + zu + 1, pass, zp);
	char *b64 = base64_encode(raw, n);
	FUZZ_CHECK(strlen(b64) == len && memcmp(b64, line, len) == 0);
	free(b64);
	free(raw);
	free(authz);
	free(user);
	free(pass);
}

static void check_login(const char *line, size_t len)
{
	char *text = NULL;
	if (sasl_login_decode(line, len, &text) < 0)
		return;
	FUZZ_CHECK(len <= SASL_MAX_RESPONSE);
	size_t n = strlen(text);
	FUZZ_CHECK(n > 0);
	char *b64 = base64_encode(text, n);
	FUZZ_CHECK(strlen(b64) == len && memcmp(b64, line, len) == 0);
	free(b64);
	free(text);
}

static void check_base64(const uint8_t *data, size_t size)
{
	size_t dlen = 0;
	char *dec = base64_decode((const char *)data, size, &dlen);
	if (dec != NULL) {
		FUZZ_CHECK(dec[dlen] == '\0');
		FUZZ_CHECK(dlen <= size / 4 * 3);
		char *enc = base64_encode(dec, dlen);
		FUZZ_CHECK(strlen(enc) == size && memcmp(enc, data, size) == 0);
		free(enc);
		free(dec);
	}
	char *enc = base64_encode(data, size);
	FUZZ_CHECK(strlen(enc) == (size + 2) / 3 * 4);
	dec = base64_decode(enc, strlen(enc), &dlen);
	FUZZ_CHECK(dec != NULL && dlen == size);
	FUZZ_CHECK(size == 0 || memcmp(dec, data, size) == 0);
	free(dec);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_strndup(data, size);
	check_plain(line, size);
	check_login(line, size);
	free(line);
	check_base64(data, size);
	return 0;
}
