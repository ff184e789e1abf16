/*
 * fuzz-mailbox-name: the mailbox-name codec (mail/mailbox-name.h), which
 * every IMAP command naming a mailbox goes through (modified UTF-7 for
 * IMAP4rev1 clients, RFC 3501 5.1.3; UTF-8 for IMAP4rev2, RFC 9051 5.1).
 * The input is a name as it arrives in an astring (no NUL).
 *
 * Invariants: a name that decodes gives valid UTF-8 without NUL (a NUL
 * would silently cut the name short: "Trash&AAA-x" must not become
 * "Trash") and encodes back to exactly the input, since the decoder
 * accepts only the canonical form; valid UTF-8 encodes to printable
 * ASCII that decodes back to it; normalising is idempotent, drops
 * trailing '/' and spells a leading INBOX in capitals.
 */
#include "fuzz.h"
#include "mail/mailbox-name.h"
#include <strings.h>

static void check_decode(const char *s)
{
	char *utf8 = NULL;
	if (mailbox_name_mutf7_decode(s, &utf8) < 0)
		return;
	size_t len = strlen(utf8);
	FUZZ_CHECK(mailbox_name_utf8_valid(utf8, len));
	char *back = NULL;
	FUZZ_CHECK(mailbox_name_mutf7_encode(utf8, &back) == 0);
	if (strcmp(back, s) != 0) {
		fprintf(stderr, "mutf7 round trip: \"%s\" -> \"%s\"\n", s, back);
		FUZZ_CHECK(!"decode then encode gives the input back");
	}
	free(back);
	free(utf8);
}

static void check_encode(const char *s)
{
	size_t len = strlen(s);
	char *mutf7 = NULL;
	if (!mailbox_name_utf8_valid(s, len)) {
		FUZZ_CHECK(mailbox_name_mutf7_encode(s, &mutf7) < 0);
		return;
	}
	FUZZ_CHECK(mailbox_name_mutf7_encode(s, &mutf7) == 0);
	for (const char *p = mutf7; *p != '\0'; p++)
		FUZZ_CHECK(*p >= 0x20 && *p <= 0x7e);
	if (strlen(mutf7) <= MAILBOX_NAME_MAX_WIRE) {
		char *back = NULL;
		FUZZ_CHECK(mailbox_name_mutf7_decode(mutf7, &back) == 0);
		FUZZ_CHECK(strcmp(back, s) == 0);
		free(back);
	}
	free(mutf7);
}

static void check_normalize(const char *s)
{
	char *n = mailbox_name_normalize(s);
	size_t len = strlen(n);
	FUZZ_CHECK(len <= strlen(s));
	FUZZ_CHECK(len <= 1 || n[len - 1] != '/');
	if (strncasecmp(n, "INBOX", 5) == 0 && (n[5] == '\0' || n[5] == '/'))
		FUZZ_CHECK(memcmp(n, "INBOX", 5) == 0);
	char *again = mailbox_name_normalize(n);
	FUZZ_CHECK(strcmp(again, n) == 0);
	free(again);
	free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * MAILBOX_NAME_MAX_WIRE || memchr(data, '\0', size) != NULL)
		return 0;
	char *s = fuzz_strndup(data, size);
	check_decode(s);
	check_encode(s);
	check_normalize(s);
	free(s);
	return 0;
}
