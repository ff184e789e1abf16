/* test-pop3-parse: pop3_parse_command(), the split-and-check the POP3
 * session runs on every command line: each error class, and valid commands
 * in each state with their arguments. */
#include "unit.h"
#include "lib/alloc.h"
#include "pop3/pop3-private.h"
#include <stdlib.h>

#define A POP3_STATE_AUTH
#define T POP3_STATE_TRANS
#define U POP3_STATE_UPDATE

TEST(pop3_parse_table)
{
	static const struct {
		const char *line;
		enum pop3_state state;
		enum pop3_parse_result want;
		const char *cmd;	/* table name when known */
		int nargs;
		const char *arg0, *arg1;
	} cases[] = {
		/* AUTHORIZATION */
		{ "USER alice@example.com", A, POP3_PARSE_OK, "USER", 1, "alice@example.com", NULL },
		{ "user alice", A, POP3_PARSE_OK, "USER", 1, "alice", NULL },
		{ "PASS two words  here", A, POP3_PARSE_OK, "PASS", 1, "two words  here", NULL },
		{ "PASS ", A, POP3_PARSE_OK, "PASS", 1, "", NULL },	/* empty password: the handler decides */
		{ "AUTH", A, POP3_PARSE_OK, "AUTH", 0, NULL, NULL },
		{ "AUTH PLAIN dGVzdA==", A, POP3_PARSE_OK, "AUTH", 2, "PLAIN", "dGVzdA==" },
		{ "CaPa", A, POP3_PARSE_OK, "CAPA", 0, NULL, NULL },
		{ "STLS", A, POP3_PARSE_OK, "STLS", 0, NULL, NULL },
		{ "QUIT", A, POP3_PARSE_OK, "QUIT", 0, NULL, NULL },
		/* TRANSACTION */
		{ "STAT", T, POP3_PARSE_OK, "STAT", 0, NULL, NULL },
		{ "LIST", T, POP3_PARSE_OK, "LIST", 0, NULL, NULL },
		{ "LIST 3", T, POP3_PARSE_OK, "LIST", 1, "3", NULL },
		{ "LIST   3  ", T, POP3_PARSE_OK, "LIST", 1, "3", NULL },	/* empty arguments skipped */
		{ "LIST ", T, POP3_PARSE_OK, "LIST", 0, NULL, NULL },
		{ "TOP 1 10", T, POP3_PARSE_OK, "TOP", 2, "1", "10" },
		{ "retr 1", T, POP3_PARSE_OK, "RETR", 1, "1", NULL },
		{ "DELE x", T, POP3_PARSE_OK, "DELE", 1, "x", NULL },	/* numbers are the handler's */
		{ "CAPA", T, POP3_PARSE_OK, "CAPA", 0, NULL, NULL },
		{ "QUIT", T, POP3_PARSE_OK, "QUIT", 0, NULL, NULL },
		/* unknown */
		{ "", A, POP3_PARSE_UNKNOWN, NULL, 0, NULL, NULL },
		{ " USER alice", A, POP3_PARSE_UNKNOWN, NULL, 0, NULL, NULL },
		{ "APOP alice 0123", A, POP3_PARSE_UNKNOWN, NULL, 0, NULL, NULL },
		{ "USERX alice", A, POP3_PARSE_UNKNOWN, NULL, 0, NULL, NULL },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", A, POP3_PARSE_UNKNOWN, NULL, 0, NULL, NULL },
		{ "USER\tbob", A, POP3_PARSE_UNKNOWN, NULL, 0, NULL, NULL },	/* only SP separates */
		/* wrong state */
		{ "STAT", A, POP3_PARSE_WRONG_STATE, "STAT", 0, NULL, NULL },
		{ "RETR 1", A, POP3_PARSE_WRONG_STATE, "RETR", 0, NULL, NULL },
		{ "USER bob", T, POP3_PARSE_WRONG_STATE, "USER", 0, NULL, NULL },
		{ "PASS secret", T, POP3_PARSE_WRONG_STATE, "PASS", 0, NULL, NULL },
		{ "STLS", T, POP3_PARSE_WRONG_STATE, "STLS", 0, NULL, NULL },
		{ "QUIT", U, POP3_PARSE_WRONG_STATE, "QUIT", 0, NULL, NULL },
		/* argument count */
		{ "STAT 1", T, POP3_PARSE_TOO_MANY_ARGS, "STAT", 0, NULL, NULL },
		{ "LIST 1 2", T, POP3_PARSE_TOO_MANY_ARGS, "LIST", 1, "1", NULL },
		{ "TOP 1 2 3", T, POP3_PARSE_TOO_MANY_ARGS, "TOP", 2, "1", "2" },
		{ "CAPA x", A, POP3_PARSE_TOO_MANY_ARGS, "CAPA", 0, NULL, NULL },
		{ "AUTH PLAIN a b", A, POP3_PARSE_TOO_MANY_ARGS, "AUTH", 2, "PLAIN", "a" },
		{ "USER", A, POP3_PARSE_MISSING_ARG, "USER", 0, NULL, NULL },
		{ "USER ", A, POP3_PARSE_OK, "USER", 1, "", NULL },	/* REST: the rest, even empty */
		{ "RETR", T, POP3_PARSE_MISSING_ARG, "RETR", 0, NULL, NULL },
		{ "RETR   ", T, POP3_PARSE_MISSING_ARG, "RETR", 0, NULL, NULL },
		{ "TOP 1", T, POP3_PARSE_MISSING_ARG, "TOP", 1, "1", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line = xstrdup(cases[i].line);
		struct pop3_command_line cl;
		enum pop3_parse_result r =
			pop3_parse_command(line, strlen(line), cases[i].state, &cl);
		if (r != cases[i].want)
			unit_fail(__FILE__, __LINE__, "\"%s\": result %d, expected %d",
				  cases[i].line, (int)r, (int)cases[i].want);
		if (cases[i].cmd == NULL) {
			CHECK(cl.cmd == NULL);
		} else {
			CHECK(cl.cmd != NULL);
			if (cl.cmd != NULL)
				CHECK_STR(cl.cmd->name, cases[i].cmd);
		}
		CHECK_INT(cl.nargs, cases[i].nargs);
		if (cl.nargs > 0)
			CHECK_STR(cl.args[0], cases[i].arg0);
		if (cl.nargs > 1)
			CHECK_STR(cl.args[1], cases[i].arg1);
		if (r != POP3_PARSE_OK)
			CHECK(pop3_parse_error_text(r)[0] != '\0');
		xfree(&line);
	}
}

TEST(pop3_parse_nul_and_length)
{
	struct pop3_command_line cl;
	char nul[] = "USER al\0ice";
	CHECK_INT(pop3_parse_command(nul, sizeof(nul) - 1, A, &cl), POP3_PARSE_NUL);
	CHECK(cl.cmd == NULL);
	CHECK_STR(pop3_parse_error_text(POP3_PARSE_NUL), "NUL byte in command");

	/* a line at the limit is parsed; one byte more is too long */
	char *line = xmalloc(POP3_MAX_LINE + 2);
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'x', POP3_MAX_LINE - 5);
	line[POP3_MAX_LINE] = '\0';
	CHECK_INT(pop3_parse_command(line, POP3_MAX_LINE, A, &cl), POP3_PARSE_OK);
	CHECK_INT(strlen(cl.args[0]), POP3_MAX_LINE - 5);
	memset(line + 5, 'x', POP3_MAX_LINE - 4);
	line[POP3_MAX_LINE + 1] = '\0';
	CHECK_INT(pop3_parse_command(line, POP3_MAX_LINE + 1, A, &cl), POP3_PARSE_TOO_LONG);
	CHECK(cl.cmd == NULL);
	CHECK_STR(pop3_parse_error_text(POP3_PARSE_TOO_LONG), "Line too long");
	xfree(&line);

	/* the keyword limit: POP3_MAX_KEYWORD is unknown, not a crash or a match */
	char kw[POP3_MAX_KEYWORD + 8];
	memset(kw, 'Q', sizeof(kw) - 1);
	kw[sizeof(kw) - 1] = '\0';
	CHECK_INT(pop3_parse_command(kw, strlen(kw), A, &cl), POP3_PARSE_UNKNOWN);
}
