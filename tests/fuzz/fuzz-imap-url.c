/*
 * fuzz-imap-url: the IMAP URL parser (mail/imap-url.h, RFC 5092 and RFC
 * 4467), which CATENATE (and URLAUTH, BURL) run on client text.
 *
 * Invariants: a parsed URL names a message (UID not 0) in a non-empty
 * UTF-8 mailbox without NUL; every decoded field is within
 * IMAP_URL_MAX_FIELD; only an absolute URL has a host or URLAUTH; a
 * verifier comes with a mechanism and 32+ lower-case hex digits; the rump
 * (the URL before ":mechanism:token") parses again as the same URL
 * without a verifier.
 */
#include "fuzz.h"
#include "mail/imap-url.h"
#include "mail/mailbox-name.h"

static void check_field(const char *f)
{
	if (f != NULL)
		FUZZ_CHECK(strlen(f) <= IMAP_URL_MAX_FIELD);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > IMAP_URL_MAX + 16)
		return 0;
	struct imap_url u;
	const char *error = NULL;
	if (imap_url_parse((const char *)data, size, &u, &error) < 0) {
		FUZZ_CHECK(error != NULL && *error != '\0');
		return 0;
	}
	FUZZ_CHECK(u.uid != 0);
	FUZZ_CHECK(u.mailbox != NULL && *u.mailbox != '\0');
	FUZZ_CHECK(mailbox_name_utf8_valid(u.mailbox, strlen(u.mailbox)));
	check_field(u.user);
	check_field(u.mailbox);
	check_field(u.section);
	check_field(u.access_user);
	FUZZ_CHECK(u.absolute == (u.host != NULL));
	if (!u.absolute)
		FUZZ_CHECK(u.user == NULL && u.access == NULL);
	FUZZ_CHECK((u.mechanism == NULL) == (u.token == NULL));
	if (u.token != NULL) {
		FUZZ_CHECK(u.access != NULL && strlen(u.token) >= 32);
		for (const char *p = u.token; *p != '\0'; p++)
			FUZZ_CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
	}
	if (u.access != NULL) {
		FUZZ_CHECK(u.rump_len > 0 && u.rump_len <= size);
		struct imap_url r;
		FUZZ_CHECK(imap_url_parse((const char *)data, u.rump_len, &r, &error) == 0);
		FUZZ_CHECK(r.mechanism == NULL && r.access != NULL && r.uid == u.uid);
		FUZZ_CHECK(strcmp(r.mailbox, u.mailbox) == 0 && strcmp(r.access, u.access) == 0);
		FUZZ_CHECK(r.rump_len == u.rump_len);
		imap_url_clear(&r);
	} else {
		FUZZ_CHECK(u.rump_len == 0);
	}
	imap_url_clear(&u);
	return 0;
}
