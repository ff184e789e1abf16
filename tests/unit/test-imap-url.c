/* test-imap-url: IMAP URL parsing (mail/imap-url.c, RFC 5092, RFC 4467). */
#include "unit.h"
#include "mail/imap-url.h"
#include <string.h>

static int parse(const char *s, struct imap_url *u)
{
	const char *error;
	return imap_url_parse(s, strlen(s), u, &error);
}

TEST(imap_url_examples)
{
	struct imap_url u;
	/* RFC 4469 5 */
	CHECK_INT(parse("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", &u), 0);
	CHECK(!u.absolute && u.user == NULL && u.host == NULL);
	CHECK_STR(u.mailbox, "Drafts");
	CHECK(u.uidvalidity == 385759045 && u.uid == 20 && !u.partial);
	CHECK_STR(u.section, "HEADER");
	imap_url_clear(&u);
	/* RFC 4467 8: a rump, then the full URL */
	const char *rump = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred";
	CHECK_INT(parse(rump, &u), 0);
	CHECK(u.absolute && u.rump_len == strlen(rump) && u.mechanism == NULL);
	CHECK_STR(u.user, "joe");
	CHECK_STR(u.host, "example.com");
	CHECK_STR(u.section, "1.2");
	CHECK_STR(u.access, "submit+fred");
	CHECK_STR(u.access_user, "fred");
	imap_url_clear(&u);
	CHECK_INT(parse("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"
			":internal:91354A473744909de610943775f92038", &u), 0);
	CHECK_STR(u.mechanism, "internal");
	CHECK_STR(u.token, "91354a473744909de610943775f92038");
	CHECK(u.rump_len == strlen(rump));
	imap_url_clear(&u);
	/* escapes, a hierarchy, PARTIAL, EXPIRE, a port and an IPv6 host */
	CHECK_INT(parse("imap://fred%40example.com;AUTH=*@[::1]:143/Sent%20Items/2024;UIDVALIDITY=3"
			"/;UID=1/;PARTIAL=10.20;EXPIRE=2026-12-31T23:59:59Z;URLAUTH=user+fred%40example.com",
			&u), 0);
	CHECK_STR(u.user, "fred@example.com");
	CHECK_STR(u.host, "[::1]");
	CHECK(u.port == 143 && u.partial && u.partial_start == 10 && u.partial_len == 20);
	CHECK_STR(u.mailbox, "Sent Items/2024");
	CHECK_STR(u.expire, "2026-12-31T23:59:59Z");
	CHECK_STR(u.access_user, "fred@example.com");
	imap_url_clear(&u);
	CHECK_INT(parse("/INBOX/;UID=7/;SECTION=HEADER.FIELDS%20(TO)/;PARTIAL=0", &u), 0);
	CHECK_STR(u.section, "HEADER.FIELDS (TO)");
	CHECK(u.partial && u.partial_start == 0 && u.partial_len == 0);
	imap_url_clear(&u);
}

TEST(imap_url_refused)
{
	static const char *const bad[] = {
		"", "INBOX/;UID=1", "/INBOX", "/INBOX/;UID=0", "/INBOX/;UID=01",
		"/INBOX/;UID=4294967296", "/;UID=1", "/INBOX;UIDVALIDITY=0/;UID=1",
		"/INBOX%00x/;UID=1", "/INBOX%zz/;UID=1", "/IN BOX/;UID=1", "/%ff/;UID=1",
		"/INBOX/;UID=1;URLAUTH=anonymous", /* URLAUTH needs an absolute URL */
		"imap://host/INBOX/;UID=1;URLAUTH=root", "imap://host/INBOX/;UID=1;URLAUTH=authuser:internal:abc",
		"imap://host/INBOX/;UID=1;URLAUTH=authuser:internal:0123456789abcdef0123456789abcdeg",
		"imap://host/INBOX/;UID=1;URLAUTH=authuser:internal", "imap://host:0/INBOX/;UID=1",
		"imap://host:70000/INBOX/;UID=1", "imap:///INBOX/;UID=1", "imap://[::1/INBOX/;UID=1",
		"/INBOX/;UID=1/;PARTIAL=x", "/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1 trailing",
		"/INBOX/;UID=1/;SECTION=", "imap://a@b@c/INBOX/;UID=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_url u;
		int r = parse(bad[i], &u);
		if (r == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(r, -1);
	}
}
