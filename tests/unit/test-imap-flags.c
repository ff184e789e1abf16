/* test-imap-flags: flag-list parsing (imap/imap-flags.c). */
#include "unit.h"
#include "imap/imap-flags.h"
#include "imap/imap-parser.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <time.h>

static int parse_list(const char *text, uint32_t *flags_r, char **keywords_r)
{
	struct imap_arg *args;
	size_t n;
	const char *error = NULL;
	if (imap_parse_args(text, strlen(text), &args, &n, &error) < 0 || n != 1)
		return -2;
	int r = imap_flags_parse(&args[0], flags_r, keywords_r, &error);
	imap_args_free(args, n);
	return r;
}

TEST(imap_flags_duplicates_dropped)
{
	uint32_t flags;
	char *kw = NULL;
	CHECK_INT(parse_list("(\\Seen foo \\seen FOO bar \\Recent Bar)", &flags, &kw), 0);
	CHECK_STR(kw, "foo bar");
	free(kw);
}

/* One STORE line (64 KiB by default) of thousands of system flags and then
 * thousands of copies of one keyword: each keyword used to be compared
 * with every earlier argument, about 2 s of the event loop per command.
 * Duplicates are now looked up among the kept keywords (at most
 * STORE_MAX_KEYWORDS), so the line is linear. */
TEST(imap_flags_parse_is_linear)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_putc(&b, '(');
	for (int i = 0; i < 5400; i++)
		buf_puts(&b, "\\Seen ");
	for (int i = 0; i < 16000; i++)
		buf_puts(&b, "a ");
	b.data[b.len - 1] = ')';
	CHECK(b.len < 64 * 1024);
	uint32_t flags;
	char *kw = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(parse_list(b.data, &flags, &kw), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_STR(kw, "a");
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* linear: well under a millisecond; quadratic: seconds */
	if (s > 0.3)
		unit_fail(__FILE__, __LINE__, "flag list took %.3f s", s);
	free(kw);
	buf_free(&b);
}
