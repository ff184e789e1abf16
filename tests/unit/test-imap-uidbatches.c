/* test-imap-uidbatches: the UIDBATCHES arguments (imap/imap-uidbatches.c,
 * RFC 10022 3). Only syntax is checked here: a size under the server's
 * minimum is NO [TOOFEW] in cmd-uidbatches.c (tests/e2e/test_imap_uidbatches.py). */
#include "unit.h"
#include "imap/imap-parser.h"
#include "imap/imap-uidbatches.h"

/* -2 when the text is not even IMAP arguments. */
static int parse(const char *text, struct imap_uidbatches_args *r)
{
	struct imap_arg *args;
	size_t n;
	const char *error = NULL;
	if (imap_parse_args(text, strlen(text), &args, &n, &error) < 0)
		return -2;
	error = NULL;
	int rc = imap_uidbatches_parse(args, n, r, &error);
	if (rc < 0)
		CHECK(error != NULL && error[0] != '\0');
	imap_args_free(args, n);
	return rc;
}

#define ALL UINT32_MAX

static const struct {
	const char *text;
	int rc;
	uint32_t size;
	bool ranged;
	uint32_t first, last;
} cases[] = {
	{"500", 0, 500, false, 1, ALL},
	/* the grammar's whole nz-number range; the minimum size is policy */
	{"1", 0, 1, false, 1, ALL},
	{"4294967295", 0, 4294967295u, false, 1, ALL},
	{"0", -1, 0, false, 0, 0},
	{"00", -1, 0, false, 0, 0},
	{"4294967296", -1, 0, false, 0, 0},
	{"99999999999999999999999", -1, 0, false, 0, 0},
	/* leading zeros: accepted within IMAP_UIDBATCHES_MAX_DIGITS, as
	 * imap_parse_number does everywhere; an 11th character is refused */
	{"0500", 0, 500, false, 1, ALL},
	{"0000000500", 0, 500, false, 1, ALL},
	{"00000000500", -1, 0, false, 0, 0},
	{"-1", -1, 0, false, 0, 0},
	{"+500", -1, 0, false, 0, 0},
	{"500x", -1, 0, false, 0, 0},
	{"5e2", -1, 0, false, 0, 0},
	{"*", -1, 0, false, 0, 0},
	{"NIL", -1, 0, false, 0, 0},
	/* a number is an atom, not a string or a list */
	{"\"500\"", -1, 0, false, 0, 0},
	{"{3}\r\n500", -1, 0, false, 0, 0},
	{"(500)", -1, 0, false, 0, 0},
	/* the optional batch range */
	{"500 1:1", 0, 500, true, 1, 1},
	{"500 2:4", 0, 500, true, 2, 4},
	{"1000 1:4294967295", 0, 1000, true, 1, 4294967295u},
	{"500 4294967295:4294967295", 0, 500, true, 4294967295u, 4294967295u},
	{"500 02:04", 0, 500, true, 2, 4},
	/* reversed: first must not be above last */
	{"500 4:2", -1, 0, false, 0, 0},
	{"500 4294967295:1", -1, 0, false, 0, 0},
	{"500 0:2", -1, 0, false, 0, 0},
	{"500 1:0", -1, 0, false, 0, 0},
	{"500 1:4294967296", -1, 0, false, 0, 0},
	{"500 4294967296:4294967296", -1, 0, false, 0, 0},
	{"500 3", -1, 0, false, 0, 0},
	{"500 :3", -1, 0, false, 0, 0},
	{"500 3:", -1, 0, false, 0, 0},
	{"500 :", -1, 0, false, 0, 0},
	{"500 1:2:3", -1, 0, false, 0, 0},
	{"500 1:*", -1, 0, false, 0, 0},
	{"500 *:1", -1, 0, false, 0, 0},
	{"500 1,2", -1, 0, false, 0, 0},
	{"500 \"1:2\"", -1, 0, false, 0, 0},
	{"500 (1:2)", -1, 0, false, 0, 0},
	/* a bad size is reported even with a good range */
	{"0 1:2", -1, 0, false, 0, 0},
	{"1:2 500", -1, 0, false, 0, 0},
	/* missing and extra arguments */
	{"", -1, 0, false, 0, 0},
	{"500 1:2 3", -1, 0, false, 0, 0},
	{"500 1:2 1:2", -1, 0, false, 0, 0},
};

TEST(imap_uidbatches_parse_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_uidbatches_args r;
		int rc = parse(cases[i].text, &r);
		if (rc != cases[i].rc)
			unit_fail(__FILE__, __LINE__, "\"%s\": rc %d, expected %d", cases[i].text, rc,
				  cases[i].rc);
		if (rc != 0 || cases[i].rc != 0)
			continue;
		if (r.size != cases[i].size || r.ranged != cases[i].ranged ||
		    r.first != cases[i].first || r.last != cases[i].last)
			unit_fail(__FILE__, __LINE__, "\"%s\": size %u ranged %d %u:%u", cases[i].text,
				  r.size, r.ranged, r.first, r.last);
	}
}

/* The session hands over NULL arguments for a bare "UIDBATCHES". */
TEST(imap_uidbatches_parse_no_arguments)
{
	struct imap_uidbatches_args r;
	const char *error = NULL;
	CHECK_INT(imap_uidbatches_parse(NULL, 0, &r, &error), -1);
	CHECK(error != NULL);
}

/* Which of the two errors: the client is told what was wrong. */
TEST(imap_uidbatches_parse_errors_name_the_part)
{
	struct imap_arg *args;
	size_t n;
	const char *error = NULL;
	struct imap_uidbatches_args r;
	CHECK_INT(imap_parse_args("500 4:2", 7, &args, &n, &error), 0);
	CHECK_INT(imap_uidbatches_parse(args, n, &r, &error), -1);
	CHECK(error != NULL && strstr(error, "range") != NULL);
	imap_args_free(args, n);
	CHECK_INT(imap_parse_args("0", 1, &args, &n, &error), 0);
	CHECK_INT(imap_uidbatches_parse(args, n, &r, &error), -1);
	CHECK(error != NULL && strstr(error, "batch size") != NULL);
	imap_args_free(args, n);
}
