/*
 * smtp-cmd: the SMTP/LMTP command table. The rules about when a command
 * may be given are data here (flags, checked once in
 * smtp_session_command()); each handler lives in an smtp-cmd-*.c file.
 */
#include "smtp/smtp-session.h"
#include <string.h>

static const struct smtp_cmd smtp_cmds[] = {
	/* RFC 5321 4.1.1.1: "ehlo" SP ( Domain / address-literal ) CRLF */
	{"EHLO", smtp_cmd_ehlo, SMTP_CMD_SMTP_ONLY | SMTP_CMD_HELLO},
	{"HELO", smtp_cmd_helo, SMTP_CMD_SMTP_ONLY | SMTP_CMD_HELLO},
	/* RFC 2033 4.1: "The LHLO command ... is identical to EHLO"; LMTP
	 * servers MUST NOT accept HELO or EHLO. */
	{"LHLO", smtp_cmd_lhlo, SMTP_CMD_LMTP_ONLY | SMTP_CMD_HELLO},
	/* RFC 5321 4.1.4: "A session that will contain mail transactions
	 * MUST first be initialized by the use of the EHLO command." */
	{"MAIL", smtp_cmd_mail, SMTP_CMD_NEEDS_HELO | SMTP_CMD_UTF8_ARGS},
	/* RFC 5321 4.1.1.3: RCPT comes only after MAIL. */
	{"RCPT", smtp_cmd_rcpt, SMTP_CMD_NEEDS_HELO | SMTP_CMD_NEEDS_MAIL | SMTP_CMD_UTF8_ARGS},
	/* RFC 5321 4.1.1.4: "data" CRLF, after at least one good RCPT. */
	{"DATA", smtp_cmd_data,
	 SMTP_CMD_NEEDS_HELO | SMTP_CMD_NEEDS_MAIL | SMTP_CMD_NEEDS_RCPT | SMTP_CMD_NO_ARGS},
	/* RFC 3030 2: BDAT chunks must be read even when the transaction
	 * failed, so the handler checks the state itself. */
	{"BDAT", smtp_cmd_bdat, SMTP_CMD_NEEDS_HELO},
	/* RFC 5321 4.1.1.5: "rset" CRLF */
	{"RSET", smtp_cmd_rset, SMTP_CMD_NO_ARGS | SMTP_CMD_BLIND_OK},
	/* RFC 5321 4.1.1.9: "noop" [ SP String ] CRLF */
	{"NOOP", smtp_cmd_noop, SMTP_CMD_BLIND_OK},
	/* RFC 5321 4.1.1.10: "quit" CRLF. Sent right behind EHLO by
	 * Thunderbird's account-setup probe. */
	{"QUIT", smtp_cmd_quit, SMTP_CMD_NO_ARGS | SMTP_CMD_BLIND_OK},
	/* RFC 5321 4.1.1.8: "help" [ SP String ] CRLF */
	{"HELP", smtp_cmd_help, 0},
	/* RFC 5321 4.1.1.6 and 7.3: VRFY may answer 252 and reveal nothing. */
	{"VRFY", smtp_cmd_vrfy, 0},
	{"EXPN", smtp_cmd_expn, 0},
	/* RFC 3207 4: "STARTTLS" CRLF, no parameters. */
	{"STARTTLS", smtp_cmd_starttls, SMTP_CMD_NO_ARGS},
	/* RFC 4954 4: "AUTH" SP sasl-mech [SP initial-response], after EHLO;
	 * offered on submission only (RFC 6409 4.3), never on the MX. */
	{"AUTH", smtp_cmd_auth, SMTP_CMD_NEEDS_HELO | SMTP_CMD_SUBMISSION_ONLY},
	/* RFC 4468 3.2: "BURL" SP absolute-URI [SP end-marker], on
	 * submission only, after AUTH (checked by the handler: 530). */
	{"BURL", smtp_cmd_burl, SMTP_CMD_NEEDS_HELO | SMTP_CMD_SUBMISSION_ONLY},
};

const struct smtp_cmd *smtp_cmd_find(const char *verb)
{
	for (size_t i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++)
		if (strcmp(smtp_cmds[i].name, verb) == 0)
			return &smtp_cmds[i];
	return NULL;
}
