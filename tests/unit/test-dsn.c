/* test-dsn: status codes taken from replies; the report's fields. */
#include "unit.h"
#include "outbound/dsn.h"
#include <stdlib.h>

TEST(dsn_status_of_reply)
{
	char s[16];
	dsn_status_of_reply("550 5.1.1 No such user", s, sizeof(s));
	CHECK_STR(s, "5.1.1");
	dsn_status_of_reply("452-4.2.2 Mailbox full", s, sizeof(s));
	CHECK_STR(s, "4.2.2");
	dsn_status_of_reply("554 no enhanced code", s, sizeof(s));
	CHECK_STR(s, "5.0.0");
	dsn_status_of_reply("550 4.1.1 class mismatch", s, sizeof(s));
	CHECK_STR(s, "5.0.0");
	dsn_status_of_reply("550 5.1.1234 too long", s, sizeof(s));
	CHECK_STR(s, "5.0.0");
	dsn_status_of_reply("connection refused", s, sizeof(s));
	CHECK_STR(s, "4.0.0");
	dsn_status_of_reply(NULL, s, sizeof(s));
	CHECK_STR(s, "4.0.0");
}

TEST(dsn_build_fields)
{
	static const char orig[] = "Subject: x\nMessage-ID: <a@b>\n\nsecret body\n";
	struct dsn_rcpt r = {.address = "u@remote.test", .orcpt = "rfc822;U@remote.test",
			     .action = DSN_FAILED, .status = "5.1.1", .remote_mta = "mx.remote.test",
			     .diagnostic = "550 5.1.1 no\r\nsuch"};
	struct dsn d = {.reporting_mta = "mail.local", .to = "s@local", .envid = "E1",
			.arrival = 1, .now = 2, .rcpts = &r, .nrcpts = 1, .original = orig,
			.original_len = sizeof(orig) - 1};
	size_t len;
	char *m = dsn_build(&d, &len);
	CHECK(strstr(m, "report-type=delivery-status") != NULL);
	CHECK(strstr(m, "Original-Envelope-Id: E1\r\n") != NULL);
	CHECK(strstr(m, "Final-Recipient: rfc822; u@remote.test\r\n") != NULL);
	CHECK(strstr(m, "Original-Recipient: rfc822;U@remote.test\r\n") != NULL);
	CHECK(strstr(m, "Status: 5.1.1\r\n") != NULL);
	/* a reply's CR LF never breaks the field */
	CHECK(strstr(m, "Diagnostic-Code: smtp; 550 5.1.1 no  such\r\n") != NULL);
	CHECK(strstr(m, "text/rfc822-headers") != NULL);
	CHECK(strstr(m, "secret body") == NULL);
	free(m);
	d.ret_full = true;
	m = dsn_build(&d, &len);
	CHECK(strstr(m, "message/rfc822") != NULL);
	CHECK(strstr(m, "secret body\r\n") != NULL);
	free(m);
}
