/*
 * pop3-commands: the command table. Each row says in which states the
 * command is valid and how many arguments it takes; pop3_parse_command()
 * splits a line and checks both before pop3-session.c runs the handler, so
 * handlers only do their own job. The parser is pure (no conn, no session)
 * so that tests/fuzz/fuzz-pop3.c and the unit tests drive the same code.
 *
 * RFC 1939 section 4-6: USER, PASS, QUIT in AUTHORIZATION; STAT, LIST,
 * RETR, DELE, NOOP, RSET, TOP, UIDL, QUIT in TRANSACTION. RFC 2449: CAPA
 * in both. RFC 5034: AUTH. RFC 2595: STLS. RFC 6856: UTF8.
 */
#include "pop3/pop3-private.h"
#include <string.h>
#include <strings.h>

#define AUTH_ONLY POP3_STATE_AUTH
#define TRANS_ONLY POP3_STATE_TRANS
#define ANY_STATE (POP3_STATE_AUTH | POP3_STATE_TRANS)

static const struct pop3_command commands[] = {
	/* name    handler          states      min max flags */
	{ "USER", pop3_cmd_user, AUTH_ONLY, 1, 1, POP3_CMD_REST },
	{ "PASS", pop3_cmd_pass, AUTH_ONLY, 1, 1, POP3_CMD_REST | POP3_CMD_SECRET },
	{ "AUTH", pop3_cmd_auth, AUTH_ONLY, 0, 2, POP3_CMD_SECRET },
	{ "STLS", pop3_cmd_stls, AUTH_ONLY, 0, 0, 0 },
	{ "UTF8", pop3_cmd_utf8, AUTH_ONLY, 0, 0, 0 },
	{ "CAPA", pop3_cmd_capa, ANY_STATE, 0, 0, 0 },
	{ "QUIT", pop3_cmd_quit, ANY_STATE, 0, 0, 0 },
	{ "NOOP", pop3_cmd_noop, TRANS_ONLY, 0, 0, 0 },
	{ "STAT", pop3_cmd_stat, TRANS_ONLY, 0, 0, 0 },
	{ "LIST", pop3_cmd_list, TRANS_ONLY, 0, 1, 0 },
	{ "UIDL", pop3_cmd_uidl, TRANS_ONLY, 0, 1, 0 },
	{ "RETR", pop3_cmd_retr, TRANS_ONLY, 1, 1, 0 },
	{ "TOP", pop3_cmd_top, TRANS_ONLY, 2, 2, 0 },
	{ "DELE", pop3_cmd_dele, TRANS_ONLY, 1, 1, 0 },
	{ "RSET", pop3_cmd_rset, TRANS_ONLY, 0, 0, 0 },
};

const struct pop3_command *pop3_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

enum pop3_parse_result pop3_parse_command(char *line, size_t len, enum pop3_state state,
					  struct pop3_command_line *out)
{
	char *rest, *end = line + len;

	out->cmd = NULL;
	out->nargs = 0;
	if (len > POP3_MAX_LINE)
		return POP3_PARSE_TOO_LONG;
	if (memchr(line, '\0', len) != NULL)
		return POP3_PARSE_NUL;
	rest = memchr(line, ' ', len);
	if (rest != NULL)
		*rest++ = '\0';
	if (strlen(line) > POP3_MAX_KEYWORD || (out->cmd = pop3_command_find(line)) == NULL)
		return POP3_PARSE_UNKNOWN;
	if ((out->cmd->states & state) == 0)
		return POP3_PARSE_WRONG_STATE;
	if (rest != NULL && (out->cmd->flags & POP3_CMD_REST) != 0) {
		/* PASS: a password may hold spaces (RFC 1939 section 7) */
		out->args[out->nargs++] = rest;
	} else if (rest != NULL) {
		char *p = rest;
		for (;;) {
			while (p < end && *p == ' ')
				p++;
			if (p == end)
				break;
			if (out->nargs == out->cmd->max_args)
				return POP3_PARSE_TOO_MANY_ARGS;
			out->args[out->nargs++] = p;
			while (p < end && *p != ' ')
				p++;
			if (p < end)
				*p++ = '\0';
		}
	}
	if (out->nargs < out->cmd->min_args)
		return POP3_PARSE_MISSING_ARG;
	return POP3_PARSE_OK;
}

const char *pop3_parse_error_text(enum pop3_parse_result r)
{
	switch (r) {
	case POP3_PARSE_OK:
		break;
	case POP3_PARSE_TOO_LONG:
		return "Line too long";
	case POP3_PARSE_NUL:
		return "NUL byte in command";
	case POP3_PARSE_UNKNOWN:
		return "Unknown command";
	case POP3_PARSE_WRONG_STATE:
		return "Command not valid in this state";
	case POP3_PARSE_TOO_MANY_ARGS:
		return "Too many arguments";
	case POP3_PARSE_MISSING_ARG:
		return "Missing argument";
	}
	return "Bad command";
}
