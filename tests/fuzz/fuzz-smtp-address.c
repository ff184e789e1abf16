/*
 * fuzz-smtp-address: recipient addresses as RCPT TO carries them. The
 * input is the path argument: "TO:" is put in front (as the client sends
 * it after "RCPT "), smtp_parse_path_args() extracts the path, and the
 * path goes to address_normalize() (mail/address.h) exactly as
 * smtp-cmd-rcpt.c does. The raw input is normalised directly as well,
 * since the CLI and LMTP reach address_normalize() with other framing.
 * A quoted local part goes through smtp_path_unquote() first, as in RCPT:
 * its plain form must then normalise, and never outgrow SMTP_MAX_PATH.
 *
 * Invariants of a normalised address: at most ADDRESS_MAX bytes, one '@'
 * with a local part of 1..ADDRESS_MAX_LOCAL bytes and a domain that
 * domain_valid() accepts and address_domain() returns, no ASCII upper
 * case, no controls or spaces, and normalising it again gives itself.
 */
#include "fuzz.h"
#include "mail/address.h"
#include "smtp/smtp-parse.h"

static void check_normalize(const char *addr)
{
	const char *error = NULL;
	char *norm = address_normalize(addr, &error);
	if (norm == NULL) {
		FUZZ_CHECK(error != NULL);
		return;
	}
	size_t len = strlen(norm);
	FUZZ_CHECK(len <= ADDRESS_MAX);
	const char *at = strrchr(norm, '@');
	FUZZ_CHECK(at != NULL && strchr(norm, '@') == at);
	FUZZ_CHECK(at > norm && (size_t)(at - norm) <= ADDRESS_MAX_LOCAL);
	FUZZ_CHECK(strlen(at + 1) <= ADDRESS_MAX_DOMAIN);
	FUZZ_CHECK(address_domain(norm) == at + 1);
	FUZZ_CHECK(domain_valid(at + 1));
	for (const char *p = norm; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		FUZZ_CHECK(c > ' ' && c != 0x7f && !(c >= 'A' && c <= 'Z'));
	}
	char *again = address_normalize(norm, &error);
	FUZZ_CHECK(again != NULL && strcmp(again, norm) == 0);
	free(again);
	free(norm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A command line cannot hold NUL (the session refuses it). */
	if (memchr(data, '\0', size) != NULL || size > SMTP_MAX_COMMAND_LINE)
		return 0;
	char *raw = fuzz_strndup(data, size);
	check_normalize(raw);

	char *args = malloc(size + 4);
	FUZZ_CHECK(args != NULL);
	memcpy(args, "TO:", 3);
	memcpy(args + 3, raw, size + 1);
	struct smtp_path_args pa;
	if (smtp_parse_path_args(args, "TO:", &pa) == SMTP_PATH_OK) {
		check_normalize(pa.path);
		char plain[SMTP_MAX_PATH + 1];
		enum smtp_local_form f = smtp_path_unquote(pa.path, plain);
		if (f == SMTP_LOCAL_UNQUOTED) {
			FUZZ_CHECK(strlen(plain) <= SMTP_MAX_PATH);
			FUZZ_CHECK(plain[0] != '"');
			/* a dot-string local part: the address is valid unless
			 * its domain is not */
			const char *at = strchr(plain, '@');
			if (at != NULL && domain_valid(at + 1))
				check_normalize(plain);
		}
		FUZZ_CHECK(f != SMTP_LOCAL_PLAIN || pa.path[0] != '"');
	}
	free(args);
	free(raw);
	return 0;
}
