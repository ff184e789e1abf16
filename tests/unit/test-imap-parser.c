/* Unit tests: IMAP command parser, literal markers and sequence sets. */
#include "unit.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>

/* Render an argument tree back as text: atoms bare, strings as "..." with
 * their length when it differs, lists as (...), for compact expectations. */
static void render(struct buf *b, const struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ' ');
		switch (args[i].type) {
		case IMAP_ARG_ATOM:
			buf_printf(b, "A:%s", args[i].str);
			break;
		case IMAP_ARG_QUOTED:
			buf_printf(b, "Q:%s", args[i].str);
			break;
		case IMAP_ARG_LITERAL:
			buf_printf(b, "%s:%zu:", args[i].literal8 ? "L8" : "L", args[i].len);
			buf_append(b, args[i].str, args[i].len);
			break;
		case IMAP_ARG_LIST:
			buf_putc(b, '(');
			render(b, args[i].list, args[i].count);
			buf_putc(b, ')');
			break;
		}
	}
}

static const struct {
	const char *in;
	const char *tag, *name;
	int uid;
	const char *args; /* NULL = must fail */
} cases[] = {
	{"a1 NOOP", "a1", "NOOP", 0, ""},
	{"a1 noop", "a1", "NOOP", 0, ""},
	{"x LOGIN alice \"se\\\"cret\"", "x", "LOGIN", 0, "A:alice Q:se\"cret"},
	{"x LOGIN {5}\r\nalice {3+}\r\nabc", "x", "LOGIN", 0, "L:5:alice L:3:abc"},
	{"x LOGIN {0}\r\n \"\"", "x", "LOGIN", 0, "L:0: Q:"},
	{"t UID FETCH 1:* (FLAGS UID)", "t", "FETCH", 1, "A:1:* (A:FLAGS A:UID)"},
	{"t FETCH 1 BODY.PEEK[HEADER.FIELDS (From To)]<0.100>", "t", "FETCH", 0,
	 "A:1 A:BODY.PEEK[HEADER.FIELDS (From To)]<0.100>"},
	{"t STORE 1 +FLAGS.SILENT (\\Seen $Junk)", "t", "STORE", 0,
	 "A:1 A:+FLAGS.SILENT (A:\\Seen A:$Junk)"},
	{"t LIST \"\" *", "t", "LIST", 0, "Q: A:*"},
	{"t SEARCH (OR (a) ((b)))", "t", "SEARCH", 0, "(A:OR (A:a) ((A:b)))"},
	{"t APPEND INBOX (\\Seen) \"1-Feb-2024 10:00:00 +0000\" ~{3}\r\na\0b", "t", "APPEND", 0,
	 "A:INBOX (A:\\Seen) Q:1-Feb-2024 10:00:00 +0000 L8:3:a\0b"},
	{"t  NOOP", NULL, NULL, 0, NULL},
	{"t NOOP  x  y ", "t", "NOOP", 0, "A:x A:y"},
	{"t UID", "t", "UID", 0, ""},
	/* '~' is an ATOM-CHAR; only "~{" opens a literal8 (RFC 3516) */
	{"t LIST \"\" ~foo", "t", "LIST", 0, "Q: A:~foo"},
	{"t SELECT ~foo", "t", "SELECT", 0, "A:~foo"},
	{"t SELECT ~", "t", "SELECT", 0, "A:~"},
	{"t SELECT (~a ~)", "t", "SELECT", 0, "(A:~a A:~)"},
	{"t SELECT a~b", "t", "SELECT", 0, "A:a~b"},
	/* failures */
	{"", NULL, NULL, 0, NULL},
	{"+x NOOP", NULL, NULL, 0, NULL},
	{"t NOOP \"abc", "t", "NOOP", 0, NULL},
	{"t NOOP \"a\0b\"", "t", "NOOP", 0, NULL},
	{"t NOOP \"a\\qb\"", "t", "NOOP", 0, NULL},
	{"t NOOP (a b", "t", "NOOP", 0, NULL},
	{"t NOOP a)", "t", "NOOP", 0, NULL},
	{"t NOOP {-1}", "t", "NOOP", 0, NULL},
	{"t NOOP {5}\r\nabc", "t", "NOOP", 0, NULL},
	{"t NOOP {5}abc", "t", "NOOP", 0, NULL},
	{"t NOOP {99999999999999999999999}\r\n", "t", "NOOP", 0, NULL},
	{"t NOOP a\"b\"", "t", "NOOP", 0, NULL},
	{"t FETCH 1 BODY[HEADER", "t", "FETCH", 0, NULL},
	{"t APPEND x ~{3", "t", "APPEND", 0, NULL},
	{"t APPEND x ~{x}\r\n", "t", "APPEND", 0, NULL},
};

static size_t case_len(const char *s)
{
	/* cases may embed NUL: the APPEND and quoted-NUL cases end at a known
	 * marker, so measure up to the terminating quote/byte explicitly */
	size_t n = strlen(s);
	if (strstr(s, "~{3}\r\na") != NULL)
		n += 2; /* "a\0b" */
	else if (strcmp(s, "t NOOP \"a") == 0)
		n += 3; /* "\0b\"" */
	return n;
}

TEST(imap_parser_commands)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_command_args cmd;
		const char *err = NULL;
		int r = imap_parse_command(cases[i].in, case_len(cases[i].in), &cmd, &err);
		if (cases[i].args == NULL) {
			if (r == 0) {
				unit_fail(__FILE__, __LINE__, "case %zu (%s) parsed", i, cases[i].in);
				imap_command_args_clear(&cmd);
			}
			CHECK(err != NULL);
			continue;
		}
		if (r != 0) {
			unit_fail(__FILE__, __LINE__, "case %zu (%s) failed: %s", i, cases[i].in, err);
			continue;
		}
		struct buf b;
		buf_init(&b, 65536);
		render(&b, cmd.args, cmd.count);
		CHECK_STR(cmd.tag, cases[i].tag);
		CHECK_STR(cmd.name, cases[i].name);
		CHECK_INT(cmd.uid, cases[i].uid);
		if (b.len != strlen(cases[i].args) + (strstr(cases[i].args, "L8:3") ? 2 : 0) ||
		    memcmp(b.data ? b.data : "", cases[i].args, b.len) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu: got [%s] want [%s]", i,
				  b.data ? b.data : "", cases[i].args);
		buf_free(&b);
		imap_command_args_clear(&cmd);
	}
}

TEST(imap_parser_depth_and_count_limits)
{
	/* 100,000 nested parentheses: refused, no crash */
	size_t n = 100000;
	char *s = xmalloc(2 * n + 16);
	memcpy(s, "t SEARCH ", 9);
	memset(s + 9, '(', n);
	memset(s + 9 + n, ')', n);
	struct imap_command_args cmd;
	const char *err = NULL;
	CHECK_INT(imap_parse_command(s, 9 + 2 * n, &cmd, &err), -1);
	CHECK(err != NULL && strstr(err, "deep") != NULL);
	free(s);
	/* exactly the depth limit is fine */
	int d = IMAP_MAX_LIST_DEPTH;
	s = xmalloc(2 * (size_t)d + 16);
	memcpy(s, "t SEARCH ", 9);
	memset(s + 9, '(', (size_t)d);
	memset(s + 9 + d, ')', (size_t)d);
	CHECK_INT(imap_parse_command(s, 9 + 2 * (size_t)d, &cmd, &err), 0);
	imap_command_args_clear(&cmd);
	free(s);
	/* too many arguments */
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "t SEARCH");
	for (int i = 0; i < IMAP_MAX_ARGS + 1; i++)
		buf_puts(&b, " X");
	CHECK_INT(imap_parse_command(b.data, b.len, &cmd, &err), -1);
	buf_free(&b);
}

TEST(imap_parser_line_literal)
{
	static const struct {
		const char *line;
		int is;
		uint64_t size;
		int nonsync, lit8;
	} t[] = {
		{"a LOGIN {5}", 1, 5, 0, 0},
		{"a LOGIN {5+}", 1, 5, 1, 0},
		{"a LOGIN {5-}", 1, 5, 1, 0},
		{"a APPEND x ~{12}", 1, 12, 0, 1},
		{"a LOGIN \"{5}\"", 0, 0, 0, 0},
		{"a LOGIN \"x {5}", 0, 0, 0, 0},
		{"a LOGIN \"\\\"\" {5}", 1, 5, 0, 0},
		{"a LOGIN {}", 0, 0, 0, 0},
		{"a LOGIN {-1}", 0, 0, 0, 0},
		{"a LOGIN {+}", 0, 0, 0, 0},
		{"a LOGIN 5}", 0, 0, 0, 0},
		{"a APPEND x {4294967296}", 1, 4294967296ull, 0, 0},
		{"a APPEND x {999999999999999999999999}", 1, UINT64_MAX, 0, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct imap_literal_info li;
		bool is = imap_parser_line_literal(t[i].line, strlen(t[i].line), &li);
		if (is != (bool)t[i].is) {
			unit_fail(__FILE__, __LINE__, "case %zu (%s)", i, t[i].line);
			continue;
		}
		if (!is)
			continue;
		CHECK(li.size == t[i].size);
		CHECK_INT(li.nonsync, t[i].nonsync);
		CHECK_INT(li.literal8, t[i].lit8);
	}
}

TEST(imap_parser_peek)
{
	char *tag, *name;
	bool uid;
	CHECK_INT(imap_parser_peek("A1 uid move 1 x", 15, &tag, &name, &uid), 0);
	CHECK_STR(tag, "A1");
	CHECK_STR(name, "MOVE");
	CHECK(uid);
	free(tag);
	free(name);
	CHECK_INT(imap_parser_peek("* x", 3, &tag, &name, &uid), -1);
	CHECK_INT(imap_parser_peek("abc", 3, &tag, &name, &uid), 0);
	CHECK(name == NULL);
	free(tag);
}

TEST(imap_seqset)
{
	static const struct {
		const char *in;
		uint32_t star;
		const char *want; /* ranges as lo-hi;... or NULL for failure */
	} t[] = {
		{"1", 10, "1-1"},
		{"1:*", 10, "1-10"},
		{"*:3", 10, "3-10"},
		{"5,1:2,3", 10, "1-3;5-5"},
		{"2:4,3:8,20", 100, "2-8;20-20"},
		{"1:4294967295", 1, "1-4294967295"},
		{"559:*", 0, "0-559"},
		{"0", 10, NULL},
		{"1:0", 10, NULL},
		{"1:4294967296", 10, NULL},
		{"", 10, NULL},
		{"1,", 10, NULL},
		{"1::2", 10, NULL},
		{"a", 10, NULL},
		{"-1", 10, NULL},
		{"01", 10, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct imap_seqset set;
		int r = imap_seqset_parse(t[i].in, t[i].star, &set);
		if (t[i].want == NULL) {
			if (r == 0)
				unit_fail(__FILE__, __LINE__, "case %zu (%s) parsed", i, t[i].in);
			continue;
		}
		if (r != 0) {
			unit_fail(__FILE__, __LINE__, "case %zu (%s) failed", i, t[i].in);
			continue;
		}
		struct buf b;
		buf_init(&b, 4096);
		for (size_t j = 0; j < set.count; j++)
			buf_printf(&b, "%s%u-%u", j ? ";" : "", set.ranges[j].lo, set.ranges[j].hi);
		CHECK_STR(b.data, t[i].want);
		buf_free(&b);
		imap_seqset_clear(&set);
	}
	struct imap_seqset s;
	CHECK_INT(imap_seqset_parse("$", 5, &s), 0);
	CHECK(s.saved);
	imap_seqset_clear(&s);
	CHECK_INT(imap_seqset_parse("1:3,7,9:10", 10, &s), 0);
	CHECK(imap_seqset_contains(&s, 2));
	CHECK(!imap_seqset_contains(&s, 5));
	CHECK(imap_seqset_contains(&s, 10));
	CHECK_INT(imap_seqset_max(&s), 10);
	imap_seqset_clear(&s);
	uint32_t nums[] = {3, 4, 5, 9, 11, 12};
	char *f = imap_seqset_format_list(nums, 6);
	CHECK_STR(f, "3:5,9,11:12");
	free(f);
}
