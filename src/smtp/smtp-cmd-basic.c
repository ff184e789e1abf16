/*
 * smtp-cmd-basic: the small commands: RSET, NOOP, QUIT, HELP, VRFY, EXPN
 * (RFC 5321 4.1.1.5-4.1.1.10).
 */
#include "smtp/smtp-session.h"
#include "lib/conn.h"

void smtp_cmd_rset(struct smtp_session *s, char *args)
{
	smtp_txn_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

void smtp_cmd_noop(struct smtp_session *s, char *args)
{
	smtp_reply(s, "250 2.0.0 Ok");
}

void smtp_cmd_quit(struct smtp_session *s, char *args)
{
	smtp_reply(s, "221 2.0.0 %s Bye", s->srv->hostname);
	s->quitting = true;
	conn_close(s->conn);
}

void smtp_cmd_help(struct smtp_session *s, char *args)
{
	smtp_reply(s, "214 2.0.0 Commands: %s MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY%s%s",
		   s->srv->lmtp ? "LHLO" : "EHLO HELO",
		   conn_tls_available(s->conn) ? " STARTTLS" : "",
		   s->srv->submission ? " AUTH" : "");
}

void smtp_cmd_vrfy(struct smtp_session *s, char *args)
{
	/* RFC 5321 7.3: 252 says neither yes nor no (no address harvesting). */
	smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message for delivery");
}

void smtp_cmd_expn(struct smtp_session *s, char *args)
{
	/* RFC 5321 7.3: EXPN may be disabled; aliases are not disclosed. */
	smtp_reply(s, "502 5.5.1 EXPN not available");
}
