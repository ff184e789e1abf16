/* test-imap-metadata: entry-name syntax (imap/imap-metadata.c, RFC 5464 3.2). */
#include "unit.h"
#include "imap/imap-metadata.h"
#include "store/store-metadata.h"
#include <stdlib.h>
#include <string.h>

static const char *parse(const char *in, bool root_ok)
{
	static char out[STORE_METADATA_MAX_NAME + 1];
	char *name;
	const char *error;
	if (imap_metadata_entry_parse(in, strlen(in), root_ok, &name, &error) < 0)
		return NULL;
	size_t n = strlen(name);
	memcpy(out, name, n + 1);
	free(name);
	return out;
}

TEST(imap_metadata_entry_names)
{
	static const struct {
		const char *in, *out;	/* out NULL: refused */
		bool root_ok;
	} cases[] = {
		{"/private/comment", "/private/comment", false},
		{"/Shared/Vendor/Roost/X", "/shared/vendor/roost/x", false},
		{"/shared/a.b-c_d", "/shared/a.b-c_d", false},
		{"/private", NULL, false},
		{"/private", "/private", true},
		{"/shared", "/shared", true},
		{"/shared/", NULL, true},
		{"/privatex/y", NULL, false},
		{"/comment", NULL, false},
		{"private/comment", NULL, false},
		{"/private//x", NULL, false},
		{"/private/x/", NULL, false},
		{"/private/a*b", NULL, false},
		{"/private/a%b", NULL, false},
		{"/private/a b", NULL, false},
		{"/private/a\x7f", NULL, false},
		{"/private/\xc3\xa9", NULL, false},
		{"", NULL, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = parse(cases[i].in, cases[i].root_ok);
		if (cases[i].out == NULL)
			CHECK(got == NULL);
		else
			CHECK_STR(got, cases[i].out);
	}
}

TEST(imap_metadata_entry_name_limit)
{
	char name[STORE_METADATA_MAX_NAME + 2];
	memcpy(name, "/private/", 9);
	memset(name + 9, 'a', sizeof(name) - 10);
	name[STORE_METADATA_MAX_NAME] = '\0';
	CHECK(parse(name, false) != NULL);
	name[STORE_METADATA_MAX_NAME] = 'a';
	name[STORE_METADATA_MAX_NAME + 1] = '\0';
	CHECK(parse(name, false) == NULL);
}
