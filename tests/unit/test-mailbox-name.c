/* Unit tests: modified UTF-7 mailbox names (RFC 3501 section 5.1.3). */
#include "unit.h"
#include "mail/mailbox-name.h"
#include <stdlib.h>

TEST(mailbox_name_mutf7)
{
	static const struct {
		const char *utf8, *mutf7;
	} t[] = {
		{"INBOX", "INBOX"},
		{"A&B", "A&-B"},
		{"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
		{"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		 "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"\xf0\x9f\x93\xa7", "&2D3c5w-"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *out = NULL;
		CHECK_INT(mailbox_name_mutf7_encode(t[i].utf8, &out), 0);
		CHECK_STR(out, t[i].mutf7);
		free(out);
		CHECK_INT(mailbox_name_mutf7_decode(t[i].mutf7, &out), 0);
		CHECK_STR(out, t[i].utf8);
		free(out);
	}
	static const char *bad[] = {
		"&",		/* unterminated */
		"&-&AGE",	/* unterminated run */
		"&AEE-",	/* encodes printable "A" */
		"&Jjo!-",	/* bad base64 char */
		"&2D0-",	/* lone high surrogate */
		"&3AA-",	/* lone low surrogate */
		"&APw-&APw-",	/* two adjacent runs: not minimal */
		"a\x01",	/* control char */
		"\xc3\xbc",	/* raw 8-bit */
		"&APx-",	/* non-zero leftover bits */
		"a&AAA-b",	/* U+0000: would truncate the name (found by fuzz-mailbox-name) */
		"&AAAA6Q-",	/* U+0000 inside a longer run */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;
		if (mailbox_name_mutf7_decode(bad[i], &out) == 0) {
			unit_fail(__FILE__, __LINE__, "decoded bad %s as %s", bad[i], out);
			free(out);
		}
	}
	char *out;
	CHECK_INT(mailbox_name_mutf7_encode("\xff", &out), -1);
}

TEST(mailbox_name_normalize)
{
	char *n = mailbox_name_normalize("inbox");
	CHECK_STR(n, "INBOX");
	free(n);
	n = mailbox_name_normalize("Inbox/Sub/");
	CHECK_STR(n, "INBOX/Sub");
	free(n);
	n = mailbox_name_normalize("Inboxes");
	CHECK_STR(n, "Inboxes");
	free(n);
	CHECK(mailbox_name_utf8_valid("abc\xc3\xbc", 5));
	CHECK(!mailbox_name_utf8_valid("a\0b", 3));
	CHECK(!mailbox_name_utf8_valid("\xed\xa0\x80", 3));
}
