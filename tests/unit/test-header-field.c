/* test-header-field: single top-header fields and the Sent identity. */
#include "unit.h"
#include "mail/header-field.h"
#include <stdlib.h>
#include <string.h>

TEST(header_field_get_table)
{
	static const struct {
		const char *msg, *name, *value;
		unsigned count;
	} cases[] = {
		{"From: a@b\r\nTo: c@d\r\n\r\nFrom: body@x\r\n", "From", " a@b", 1},
		{"from: a@b\r\n\r\n", "From", " a@b", 1},		/* case-insensitive */
		{"From: A\r\n <a@b>\r\n\r\n", "From", " A   <a@b>", 1},	/* unfolded */
		{"From: a@b\nFrom: c@d\n\n", "From", " a@b", 2},		/* bare LF, two fields */
		{"To: c@d\r\n\r\nFrom: a@b\r\n", "From", NULL, 0},	/* only the body has it */
		{"Fromage: x\r\n\r\n", "From", NULL, 0},
		{"", "From", NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned count = 99;
		char *v = header_field_get(cases[i].msg, strlen(cases[i].msg), cases[i].name,
					   &count);
		if (cases[i].value == NULL)
			CHECK(v == NULL);
		else
			CHECK_STR(v, cases[i].value);
		CHECK_INT(count, cases[i].count);
		free(v);
	}
}

TEST(header_field_sent_identity_table)
{
	char *mid, *from;
	const char *m = "From: \"Alice A.\" <Alice@Example.COM>\r\nMessage-ID:  <x@y> \r\n\r\nb\r\n";
	CHECK_INT(header_field_sent_identity(m, strlen(m), &mid, &from), 0);
	CHECK_STR(mid, "<x@y>");
	CHECK_STR(from, "alice@example.com");
	free(mid);
	free(from);
	static const char *const none[] = {
		"From: a@b\r\n\r\n",			/* no Message-ID */
		"Message-ID: <x@y>\r\n\r\n",		/* no From */
		"Message-ID: <x@y>\r\nFrom: undisclosed:;\r\n\r\n", /* a group */
		"Message-ID:   \r\nFrom: a@b\r\n\r\n",	/* empty Message-ID */
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		CHECK_INT(header_field_sent_identity(none[i], strlen(none[i]), &mid, &from), -1);
}
