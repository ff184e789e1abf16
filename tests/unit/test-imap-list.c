/* test-imap-list: LIST patterns and arguments (imap/imap-list.c). */
#include "unit.h"
#include "imap/imap-list.h"
#include "imap/imap-parser.h"
#include "imap/imap-session.h"
#include <stdlib.h>

TEST(imap_list_pattern_table)
{
	static const struct {
		const char *pattern, *name;
		bool match;
	} cases[] = {
		{"*", "", true},
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},		/* % stops at the delimiter */
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a/*", "a", false},
		{"a%", "a", true},		/* a wildcard may match nothing */
		{"%/%", "x/y", true},
		{"**%%*", "x/y", true},		/* runs of wildcards act as one */
		{"%%", "x/y", false},
		{"INBOX", "INBOX", true},
		{"INBOX", "inbox", false},	/* case matters (INBOX is normalised before) */
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"", "", true},
		{"", "a", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_list_pattern p;
		imap_list_pattern_compile(&p, cases[i].pattern);
		if (imap_list_pattern_match(&p, cases[i].name) != cases[i].match)
			unit_fail(__FILE__, __LINE__, "'%s' vs '%s': expected %d", cases[i].pattern,
				  cases[i].name, cases[i].match);
		imap_list_pattern_free(&p);
	}
}

static int parse(const char *line, bool lsub, struct imap_list_opts *o, size_t *i_r)
{
	struct imap_session s;
	memset(&s, 0, sizeof(s));
	struct imap_command_args cmd;
	const char *error;
	memset(&cmd, 0, sizeof(cmd));
	if (imap_parse_command(line, strlen(line), &cmd, &error) < 0)
		return -2;
	memset(o, 0, sizeof(*o));
	o->lsub = lsub;
	int r = imap_list_parse_options(&s, &cmd, o, i_r);
	imap_command_args_clear(&cmd);
	return r;
}

TEST(imap_list_options_table)
{
	static const struct {
		const char *line;
		bool lsub;
		int result;
	} cases[] = {
		{"a LIST \"\" *", false, 0},
		{"a LIST \"\" (INBOX \"a/*\")", false, 0},
		{"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *", false, 0},
		{"a LIST (RECURSIVEMATCH) \"\" *", false, -1},	/* RFC 5258 3.1 */
		{"a LIST (FOO) \"\" *", false, -1},
		{"a LIST \"\" * RETURN (CHILDREN SPECIAL-USE)", false, 0},
		{"a LIST \"\" * RETURN (STATUS (MESSAGES UNSEEN))", false, 0},
		{"a LIST \"\" * RETURN (STATUS)", false, -1},
		{"a LIST \"\" ()", false, -1},
		{"a LIST \"\"", false, -1},
		{"a LIST \"\" * extra", false, -1},
		{"a LSUB \"\" *", true, 0},
		{"a LSUB \"\" (a b)", true, -1},		/* no pattern lists for LSUB */
		{"a LSUB \"\" * RETURN (CHILDREN)", true, -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_list_opts o;
		size_t at = 9;
		int r = parse(cases[i].line, cases[i].lsub, &o, &at);
		if (r != cases[i].result)
			unit_fail(__FILE__, __LINE__, "%s: %d, expected %d", cases[i].line, r,
				  cases[i].result);
	}
	struct imap_list_opts o;
	size_t at = 9;
	CHECK_INT(parse("a LIST (SUBSCRIBED) \"\" %", false, &o, &at), 0);
	CHECK_INT(at, 1);
	CHECK(o.sel_subscribed && o.ret_subscribed && o.extended);
}
