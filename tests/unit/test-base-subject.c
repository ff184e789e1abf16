/* test-base-subject: RFC 5256 2.1 base subjects and the ascii-casemap
 * comparator, table-driven. */
#include "unit.h"
#include "mail/base-subject.h"
#include <stdbool.h>
#include <stdlib.h>

static const struct {
	const char *in, *base;
	bool reply;
} cases[] = {
	{"hello", "hello", false},
	{"Re: hello", "hello", true},
	{"RE:hello", "hello", true},
	{"re:re: hello", "hello", true},
	{"Re : hello", "hello", true},
	{"Fw: hi", "hi", true},
	{"FWD: hi", "hi", true},
	{"Re[2]: hi", "hi", true},
	{"Re: [list] Re: hello (fwd)", "hello", true},
	{"[list] hello", "hello", false},
	{"[list] [tag] hello", "hello", false},
	{"[list]", "[list]", false},
	{"[list]   ", "[list]", false},
	{"Re: [foo] bar", "bar", true},
	{"[fwd: hello]", "hello", true},
	{"Fwd: [fwd: Re: x]", "x", true},
	{"[Fwd: [fwd: deep]]", "deep", true},
	{"hello (fwd)", "hello", true},
	{"hello (FWD) (fwd)  ", "hello", true},
	{"Rex: hello", "Rex: hello", false},
	{"Fwx: hello", "Fwx: hello", false},
	{"  hello \t  world  ", "hello world", false},
	{"Re:\thello\r\n world", "hello world", true},
	{"Re: Grüße aus Köln", "Grüße aus Köln", true},
	{"[ünï] Grüße", "[ünï] Grüße", false},	/* non-ASCII is no BLOBCHAR */
	{"Re: ", "", true},
	{"", "", false},
	{"re", "re", false},
	{"[a]Re: x", "x", true},
	{"Subject: Re: x", "Subject: Re: x", false},
};

TEST(base_subject_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool reply = !cases[i].reply;
		char *b = base_subject_extract(cases[i].in, &reply);
		if (strcmp(b, cases[i].base) != 0 || reply != cases[i].reply)
			unit_fail(__FILE__, __LINE__, "case %zu \"%s\": got \"%s\" reply=%d", i,
				  cases[i].in, b, reply);
		free(b);
	}
}

TEST(base_subject_null_and_long)
{
	bool reply = true;
	char *b = base_subject_extract(NULL, &reply);
	CHECK_STR(b, "");
	CHECK(!reply);
	free(b);
	char *big = malloc(BASE_SUBJECT_MAX_INPUT * 3);
	memset(big, 'x', BASE_SUBJECT_MAX_INPUT * 3 - 1);
	big[BASE_SUBJECT_MAX_INPUT * 3 - 1] = '\0';
	memcpy(big, "Re: ", 4);
	b = base_subject_extract(big, NULL);
	CHECK_INT(strlen(b), BASE_SUBJECT_MAX_INPUT - 4);
	free(b);
	free(big);
}

TEST(base_subject_casemap_cmp)
{
	CHECK(base_subject_cmp("abc", "ABC") == 0);
	CHECK(base_subject_cmp("abc", "abd") < 0);
	CHECK(base_subject_cmp("b", "A") > 0);
	CHECK(base_subject_cmp(NULL, "") == 0);
	CHECK(base_subject_cmp(NULL, "a") < 0);
	CHECK(base_subject_cmp("ab", "a") > 0);
	/* only ASCII letters fold: é (0xC3 0xA9) differs from É (0xC3 0x89) */
	CHECK(base_subject_cmp("\xc3\xa9", "\xc3\x89") != 0);
	/* '_' (0x5F) sorts after 'a', which is compared as 'A' (0x41) */
	CHECK(base_subject_cmp("_", "a") > 0);
}
