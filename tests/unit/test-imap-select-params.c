/* test-imap-select-params: SELECT/EXAMINE parameters (RFC 7162 3.1.8,
 * 3.2.5), imap/imap-select-params.c. */
#include "unit.h"
#include "imap/imap-parser.h"
#include "imap/imap-select-params.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <time.h>

/* Parse `text` as SELECT's parameter list; -2 if it is not one argument. */
static int parse(const char *text, bool qresync, bool uidonly, struct imap_select_params *p,
		 const char **error_r)
{
	struct imap_arg *args;
	size_t n;
	const char *error = NULL;
	memset(p, 0, sizeof(*p));
	*error_r = NULL;
	if (imap_parse_args(text, strlen(text), &args, &n, &error) < 0 || n != 1)
		return -2;
	int r = imap_select_params_parse(&args[0], qresync, uidonly, p, error_r);
	imap_args_free(args, n);
	return r;
}

static const char *bad(const char *text, bool qresync, bool uidonly)
{
	struct imap_select_params p;
	const char *error;
	int r = parse(text, qresync, uidonly, &p, &error);
	imap_select_params_clear(&p);
	if (r != -1)
		unit_fail(__FILE__, __LINE__, "%s: %d, expected -1", text, r);
	return r == -1 ? error : "";
}

TEST(imap_select_params_condstore)
{
	struct imap_select_params p;
	const char *error;
	CHECK_INT(parse("(CONDSTORE)", false, false, &p, &error), 0);
	CHECK(p.condstore && !p.qresync && p.known.count == 0);
	imap_select_params_clear(&p);
	CHECK_INT(parse("()", false, false, &p, &error), 0);
	CHECK(!p.condstore && !p.qresync);
	imap_select_params_clear(&p);
}

/* RFC 7162 3.2.5.2 example: known-uids without seq-match-data. */
TEST(imap_select_params_rfc_known_uids)
{
	struct imap_select_params p;
	const char *error;
	CHECK_INT(parse("(QRESYNC (67890007 20050715194045000 41,43:211,214:541))", true, false,
			&p, &error), 0);
	CHECK(p.qresync && !p.condstore && !p.have_match);
	CHECK_INT(p.uidvalidity, 67890007);
	CHECK(p.modseq == 20050715194045000ULL);
	CHECK_INT(p.known.count, 3);
	CHECK(imap_seqset_contains(&p.known, 41) && !imap_seqset_contains(&p.known, 42));
	CHECK(imap_seqset_contains(&p.known, 541) && !imap_seqset_contains(&p.known, 542));
	imap_select_params_clear(&p);
}

/* Without known-uids every UID is known. */
TEST(imap_select_params_rfc_no_known_uids)
{
	struct imap_select_params p;
	const char *error;
	CHECK_INT(parse("(QRESYNC (67890007 90060115194045000))", true, false, &p, &error), 0);
	CHECK_INT(p.known.count, 1);
	CHECK_INT(p.known.ranges[0].lo, 1);
	CHECK(p.known.ranges[0].hi == UINT32_MAX);
	imap_select_params_clear(&p);
	/* modseq 0 means "everything" */
	CHECK_INT(parse("(QRESYNC (1 0) CONDSTORE)", true, false, &p, &error), 0);
	CHECK(p.condstore && p.qresync && p.modseq == 0);
	imap_select_params_clear(&p);
}

/* RFC 7162 3.2.5.2 example with seq-match-data: 13 numbers each. */
TEST(imap_select_params_rfc_seq_match_data)
{
	struct imap_select_params p;
	const char *error;
	CHECK_INT(parse("(QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
			"15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,"
			"29994,29997)))", true, false, &p, &error), 0);
	CHECK(p.have_match);
	CHECK_INT(p.match_count, 13);
	imap_select_params_clear(&p);
	/* UIDONLY refuses sequence numbers (RFC 9586 3) */
	CHECK_STR(bad("(QRESYNC (1 1 1:5 (1:2 3,4)))", true, true),
		  "[UIDREQUIRED] No seq-match-data with UIDONLY");
	CHECK_INT(parse("(QRESYNC (1 1 1:5))", true, true, &p, &error), 0);
	imap_select_params_clear(&p);
}

TEST(imap_select_params_malformed)
{
	CHECK_STR(bad("(QRESYNC (1 1))", false, false),
		  "QRESYNC must be enabled first (ENABLE QRESYNC)");
	CHECK_STR(bad("CONDSTORE", true, false), "SELECT parameters must be a list");
	CHECK_STR(bad("(FOO)", true, false), "Unknown SELECT parameter");
	CHECK_STR(bad("(QRESYNC)", true, false), "Unknown SELECT parameter");
	CHECK_STR(bad("(QRESYNC (1 1) QRESYNC (1 1))", true, false), "Unknown SELECT parameter");
	const char *shape = "QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]])";
	CHECK_STR(bad("(QRESYNC (1))", true, false), shape);
	CHECK_STR(bad("(QRESYNC (0 1))", true, false), shape);
	CHECK_STR(bad("(QRESYNC (4294967296 1))", true, false), shape);
	CHECK_STR(bad("(QRESYNC (-1 1))", true, false), shape);
	CHECK_STR(bad("(QRESYNC (\"1\" 1))", true, false), shape);
	CHECK_STR(bad("(QRESYNC (1 1 1:5 (1 1) x))", true, false), shape);
	CHECK_STR(bad("(QRESYNC 1)", true, false), shape);
	CHECK_STR(bad("(QRESYNC (1 9223372036854775808))", true, false),
		  "QRESYNC needs a mod-sequence value below 2^63");
	CHECK_STR(bad("(QRESYNC (1 18446744073709551616))", true, false),
		  "QRESYNC needs a mod-sequence value below 2^63");
	CHECK_STR(bad("(QRESYNC (1 1 0:5))", true, false), "Invalid known-uids");
	CHECK_STR(bad("(QRESYNC (1 1 $))", true, false), "Invalid known-uids");
	CHECK_STR(bad("(QRESYNC (1 1 (1:5)))", true, false), "Invalid known-uids");
	CHECK_STR(bad("(QRESYNC (1 1 1:x))", true, false), "Invalid known-uids");
	CHECK_STR(bad("(QRESYNC (1 1 1:5 (1:2)))", true, false), "Invalid seq-match-data");
	CHECK_STR(bad("(QRESYNC (1 1 1:5 1:2))", true, false), "Invalid seq-match-data");
	CHECK_STR(bad("(QRESYNC (1 1 1:5 (1:2 x)))", true, false), "Invalid seq-match-data");
	CHECK_STR(bad("(QRESYNC (1 1 1:5 ($ $)))", true, false), "Invalid seq-match-data");
	/* RFC 7162 3.2.5.2: the Nth sequence number goes with the Nth UID */
	CHECK_STR(bad("(QRESYNC (1 1 1:5 (1:3 3,4)))", true, false), "Invalid seq-match-data");
	CHECK_STR(bad("(QRESYNC (1 1 1:5 (1 1:4294967295)))", true, false),
		  "Invalid seq-match-data");
}

/* The largest sets a command line can hold parse in well under a second
 * (sorted and merged once, counted by ranges, not by numbers). */
TEST(imap_select_params_long_sets_are_fast)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, "(QRESYNC (1 1 ");
	for (unsigned i = 30000; i > 0; i--)
		buf_printf(&b, "%u,", i * 2);
	b.data[b.len - 1] = ' ';
	buf_puts(&b, "(1:4294967294 2:4294967295)))");
	struct imap_select_params p;
	const char *error;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(parse(b.data, true, false, &p, &error), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(p.known.count, 30000);
	CHECK(p.match_count == 4294967294ULL);
	imap_select_params_clear(&p);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (s > 0.5)
		unit_fail(__FILE__, __LINE__, "QRESYNC parameters took %.3f s", s);
	buf_free(&b);
}
