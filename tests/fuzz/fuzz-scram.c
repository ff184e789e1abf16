/*
 * fuzz-scram: the SCRAM-SHA-256 client message parsers (mail/scram.h) as
 * smtp-cmd-auth.c calls them (after base64 decoding: the input is the
 * decoded message, any byte included), and the header-field reader
 * (mail/header-field.h) that the submission From: check and the Sent
 * deduplication run over client messages.
 *
 * Invariants: a parsed client-first has a non-empty user and nonce
 * without ',' and its bare part is a suffix of the input starting "n=";
 * the gs2 header plus the bare part is the input; a parsed client-final's
 * without-proof part is a prefix of the input and starts "c="; a header
 * field value holds no CR or LF; a Sent identity has a non-empty
 * Message-ID and a lower-case From address.
 */
#include "fuzz.h"
#include "mail/header-field.h"
#include "mail/scram.h"
#include <ctype.h>

static void check_first(const char *msg, size_t len)
{
	char *gs2, *authzid, *user, *nonce, *bare;
	const char *why;
	if (scram_parse_client_first(msg, len, &gs2, &authzid, &user, &nonce, &bare, &why) < 0)
		return;
	FUZZ_CHECK(len <= SCRAM_MAX_MESSAGE);
	FUZZ_CHECK(user[0] != '\0' && nonce[0] != '\0' && strchr(nonce, ',') == NULL);
	size_t gl = strlen(gs2), bl = strlen(bare);
	FUZZ_CHECK(gl + bl == len && memcmp(msg, gs2, gl) == 0 && memcmp(msg + gl, bare, bl) == 0);
	FUZZ_CHECK(bare[0] == 'n' && bare[1] == '=');
	free(gs2);
	free(authzid);
	free(user);
	free(nonce);
	free(bare);
}

static void check_final(const char *msg, size_t len)
{
	char *cbind, *nonce, *without;
	unsigned char proof[SCRAM_KEY_LEN];
	if (scram_parse_client_final(msg, len, &cbind, &nonce, proof, &without) < 0)
		return;
	size_t wl = strlen(without);
	FUZZ_CHECK(wl < len && memcmp(msg, without, wl) == 0);
	FUZZ_CHECK(without[0] == 'c' && without[1] == '=');
	free(cbind);
	free(nonce);
	free(without);
}

static void check_header(const char *data, size_t len)
{
	unsigned count = 0;
	char *v = header_field_get(data, len, "From", &count);
	FUZZ_CHECK((v == NULL) == (count == 0));
	if (v != NULL)
		FUZZ_CHECK(strchr(v, '\r') == NULL && strchr(v, '\n') == NULL);
	free(v);
	char *mid, *from;
	if (header_field_sent_identity(data, len, &mid, &from) == 0) {
		FUZZ_CHECK(mid[0] != '\0' && from[0] != '\0');
		for (const char *c = from; *c != '\0'; c++)
			FUZZ_CHECK(!isupper((unsigned char)*c));
		free(mid);
		free(from);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = fuzz_strndup(data, size);
	check_first(msg, size);
	check_final(msg, size);
	check_header(msg, size);
	free(msg);
	return 0;
}
