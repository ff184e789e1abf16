/* test-imap-return: SEARCH/SORT RETURN options and PARTIAL ranges
 * (imap/imap-return.c). */
#include "unit.h"
#include "imap/imap-parser.h"
#include "imap/imap-return.h"
#include "lib/buf.h"
#include <stdlib.h>

static int parse(const char *text, struct imap_return *r)
{
	struct imap_arg *args;
	size_t n;
	const char *error = NULL;
	if (imap_parse_args(text, strlen(text), &args, &n, &error) < 0 || n != 1)
		return -2;
	int rc = imap_return_parse(&args[0], r, &error);
	if (rc < 0)
		CHECK(error != NULL);
	imap_args_free(args, n);
	return rc;
}

static const struct {
	const char *text;
	int rc;
	unsigned opts;
	bool from_end;
	uint32_t lo, hi;
} cases[] = {
	{"()", 0, IMAP_RETURN_ALL, false, 0, 0},
	{"(min MAX count)", 0, IMAP_RETURN_MIN | IMAP_RETURN_MAX | IMAP_RETURN_COUNT, false, 0, 0},
	{"(SAVE)", 0, IMAP_RETURN_SAVE, false, 0, 0},
	{"(UPDATE CONTEXT)", 0, IMAP_RETURN_UPDATE | IMAP_RETURN_CONTEXT, false, 0, 0},
	{"(PARTIAL 1:100)", 0, IMAP_RETURN_PARTIAL, false, 1, 100},
	{"(PARTIAL 100:1)", 0, IMAP_RETURN_PARTIAL, false, 1, 100},
	{"(PARTIAL -1:-100)", 0, IMAP_RETURN_PARTIAL, true, 1, 100},
	{"(PARTIAL -100:-1)", 0, IMAP_RETURN_PARTIAL, true, 1, 100},
	{"(COUNT PARTIAL 1:4294967295)", 0, IMAP_RETURN_COUNT | IMAP_RETURN_PARTIAL, false, 1,
	 4294967295u},
	{"(PARTIAL 1:4294967296)", -1, 0, false, 0, 0},
	{"(PARTIAL 0:1)", -1, 0, false, 0, 0},
	{"(PARTIAL -1:2)", -1, 0, false, 0, 0},
	{"(PARTIAL 1:*)", -1, 0, false, 0, 0},
	{"(PARTIAL 1)", -1, 0, false, 0, 0},
	{"(PARTIAL)", -1, 0, false, 0, 0},
	{"(PARTIAL \"1:2\")", -1, 0, false, 0, 0},
	{"(PARTIAL 1:2 PARTIAL 1:2)", -1, 0, false, 0, 0},
	{"(PARTIAL 1:2 ALL)", -1, 0, false, 0, 0},
	{"(PARTIAL 01:2)", -1, 0, false, 0, 0},
	{"(PARTIAL --1:-2)", -1, 0, false, 0, 0},
	{"(FOO)", -1, 0, false, 0, 0},
	{"(ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL ALL)", -1, 0, false, 0, 0},
	{"ALL", -1, 0, false, 0, 0},
};

TEST(imap_return_parse_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_return r;
		int rc = parse(cases[i].text, &r);
		if (rc != cases[i].rc)
			fprintf(stderr, "case %s\n", cases[i].text);
		CHECK_INT(rc, cases[i].rc);
		if (rc != 0)
			continue;
		CHECK_INT(r.opts, cases[i].opts);
		CHECK_INT(r.from_end, cases[i].from_end);
		CHECK_INT(r.lo, cases[i].lo);
		CHECK_INT(r.hi, cases[i].hi);
	}
}

TEST(imap_return_partial_slice)
{
	struct imap_return r = {.opts = IMAP_RETURN_PARTIAL, .lo = 2, .hi = 4};
	size_t first, n;
	imap_return_partial_slice(&r, 10, &first, &n);
	CHECK_INT(first, 1);
	CHECK_INT(n, 3);
	imap_return_partial_slice(&r, 3, &first, &n);
	CHECK_INT(first, 1);
	CHECK_INT(n, 2);
	imap_return_partial_slice(&r, 1, &first, &n);
	CHECK_INT(n, 0);
	r.from_end = true;	/* -2:-4 of 10: positions 7..9, 0-based 6..8 */
	imap_return_partial_slice(&r, 10, &first, &n);
	CHECK_INT(first, 6);
	CHECK_INT(n, 3);
	imap_return_partial_slice(&r, 3, &first, &n);
	CHECK_INT(first, 0);
	CHECK_INT(n, 2);
	r.lo = 1;
	r.hi = UINT32_MAX;
	imap_return_partial_slice(&r, 5, &first, &n);
	CHECK_INT(first, 0);
	CHECK_INT(n, 5);
	r.lo = UINT32_MAX;
	imap_return_partial_slice(&r, 5, &first, &n);
	CHECK_INT(n, 0);
}

TEST(imap_return_put_partial)
{
	struct imap_return r = {.opts = IMAP_RETURN_PARTIAL, .from_end = true, .lo = 1, .hi = 3};
	uint32_t nums[] = {9, 3, 4};
	struct buf b;
	buf_init(&b, SIZE_MAX);
	imap_return_put_partial(&b, &r, nums, 3, true);
	CHECK_STR(b.data, " PARTIAL (-1:-3 9,3:4)");
	b.len = 0;
	imap_return_put_partial(&b, &r, nums, 0, false);
	b.data[b.len] = '\0';
	CHECK_STR(b.data, " PARTIAL (-1:-3 NIL)");
	buf_free(&b);
}
