/* test-managesieve-parse: the ManageSieve command framing (RFC 5804 4,
 * src/managesieve/ms-parse.c): atoms, quoted strings with their two
 * escapes, {n+} and {n} literals, limits. */
#include "unit.h"
#include "lib/alloc.h"
#include "managesieve/ms-private.h"
#include <stdlib.h>

static enum ms_parse parse(struct ms_words *w, const char *line, size_t max, uint64_t *lit)
{
	return ms_parse_line(w, line, strlen(line), max, lit);
}

TEST(managesieve_parse_words)
{
	struct ms_words w = {0};
	uint64_t lit = 7;
	CHECK_INT(parse(&w, "RENAMESCRIPT \"a \\\"b\\\"\"  \"c\\\\d\"", 1000, &lit), MS_PARSE_DONE);
	CHECK_INT(lit, 0);
	CHECK_INT(w.nwords, 3);
	CHECK_STR(w.words[0].s, "RENAMESCRIPT");
	CHECK(w.words[0].atom);
	CHECK_STR(w.words[1].s, "a \"b\"");
	CHECK(!w.words[1].atom);
	CHECK_STR(w.words[2].s, "c\\d");
	ms_words_reset(&w);
	CHECK_INT(w.nwords, 0);
	/* an empty quoted string is a string */
	CHECK_INT(parse(&w, "SETACTIVE \"\"", 1000, &lit), MS_PARSE_DONE);
	CHECK_INT(w.nwords, 2);
	CHECK_INT(w.words[1].len, 0);
	ms_words_reset(&w);
}

TEST(managesieve_parse_literals)
{
	struct ms_words w = {0};
	uint64_t lit = 0;
	CHECK_INT(parse(&w, "PUTSCRIPT \"main\" {12+}", 1000, &lit), MS_PARSE_LITERAL);
	CHECK_INT(lit, 12);
	CHECK_INT(w.nwords, 2);
	ms_words_add(&w, xstrdup("keep;\r\nstop;"), 12, false);
	/* the command ends with the next (empty) line */
	CHECK_INT(parse(&w, "", 1000, &lit), MS_PARSE_DONE);
	CHECK_INT(w.nwords, 3);
	CHECK_INT(w.bytes, 4 + 12 + 9);
	ms_words_reset(&w);
	CHECK_INT(parse(&w, "GETSCRIPT {4}", 1000, &lit), MS_PARSE_LITERAL);
	CHECK_INT(lit, 4);
	ms_words_reset(&w);
	/* malformed: no digits, text after the brace, a '+' first, 2^32 */
	static const char *const bad[] = {"X {}", "X {+}", "X {5}x", "X {5+} ", "X {5", "X {5-}",
					  "X {4294967296+}", "X {99999999999999999999}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(parse(&w, bad[i], (size_t)1 << 40, &lit), MS_PARSE_BAD_LITERAL);
		ms_words_reset(&w);
	}
	/* the announced size counts against the limit before any byte */
	CHECK_INT(parse(&w, "PUTSCRIPT \"a\" {1000+}", 1000, &lit), MS_PARSE_TOO_LARGE);
	ms_words_reset(&w);
	char line[2000];
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	CHECK_INT(parse(&w, line, 1000, &lit), MS_PARSE_TOO_LARGE);
	ms_words_reset(&w);
}

TEST(managesieve_parse_hostile)
{
	struct ms_words w = {0};
	uint64_t lit;
	/* unterminated, a bad escape, CR inside a quoted string */
	CHECK_INT(parse(&w, "NOOP \"abc", 1000, &lit), MS_PARSE_BAD_QUOTED);
	ms_words_reset(&w);
	CHECK_INT(parse(&w, "NOOP \"a\\nb\"", 1000, &lit), MS_PARSE_BAD_QUOTED);
	ms_words_reset(&w);
	CHECK_INT(parse(&w, "NOOP \"a\rb\"", 1000, &lit), MS_PARSE_BAD_QUOTED);
	ms_words_reset(&w);
	/* too many strings: kept up to the maximum, flagged */
	CHECK_INT(parse(&w, "A b c d e f g h", 1000, &lit), MS_PARSE_DONE);
	CHECK_INT(w.nwords, MS_MAX_ARGS + 1);
	CHECK(w.overflow);
	ms_words_reset(&w);
	/* a NUL inside an atom is kept, with its length (the session refuses it) */
	CHECK_INT(ms_parse_line(&w, "NOOP\0x y", 8, 1000, &lit), MS_PARSE_DONE);
	CHECK_INT(w.nwords, 2);
	CHECK_INT(w.words[0].len, 6);
	CHECK(strlen(w.words[0].s) != w.words[0].len);
	ms_words_reset(&w);
}
