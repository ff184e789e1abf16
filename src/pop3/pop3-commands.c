/*
 * pop3-commands: the command table. Each row says in which states the
 * command is valid and how many arguments it takes; pop3-session.c checks
 * both before the handler runs, so handlers only do their own job.
 *
 * RFC 1939 section 4-6: USER, PASS, QUIT in AUTHORIZATION; STAT, LIST,
 * RETR, DELE, NOOP, RSET, TOP, UIDL, QUIT in TRANSACTION. RFC 2449: CAPA
 * in both. RFC 5034: AUTH. RFC 2595: STLS. RFC 6856: UTF8.
 */
#include "pop3/pop3-private.h"
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
