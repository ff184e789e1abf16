/* test-address-comments: address_strip_comments (RFC 5322 3.2.2 comments
 * out of address header fields), table-driven. */
#include "unit.h"
#include "mail/address.h"
#include <stdlib.h>

static const struct {
	const char *in, *out; /* out NULL: no comment, nothing returned */
} cases[] = {
	{"Bob <bob@example.org>", NULL},
	{"<user (c)@ (c) example.com>", "<user@example.com>"},
	{"user(c)@example.com (Name)", "user@example.com"},
	{"Name (comment) <a@b.example>", "Name <a@b.example>"},
	{"(lead) a@b", "a@b"},
	{"a@b (nested (deep) comment), c@d", "a@b, c@d"},
	{"\"Q (not a comment)\" <a@b>", "\"Q (not a comment)\" <a@b>"},
	{"a@b (escaped \\) paren) x", "a@b x"},
	{"<first (x) . last@example.com>", "<first.last@example.com>"},
	{"(unclosed comment a@b", ""},
	{"a@b ()", "a@b"},
};

TEST(address_strip_comments_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = address_strip_comments(cases[i].in);
		if (cases[i].out == NULL)
			CHECK(got == NULL);
		else
			CHECK_STR(got, cases[i].out);
		free(got);
	}
}
