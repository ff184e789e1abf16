/*
 * pop3-sasl: the pure part of POP3 AUTH (RFC 5034): which mechanism, the
 * initial response, the continuation lines, "*" to cancel, and the
 * decoding (mail/sasl.h). No session, no I/O: pop3-auth.c writes the
 * reply and starts the password check this returns; the fuzz target
 * drives whole exchanges through it.
 */
#ifndef ROOST_POP3_SASL_H
#define ROOST_POP3_SASL_H
#include "pop3/pop3-private.h"
#include <stddef.h>

/* The LOGIN challenges, base64 of "Username:" and "Password:". */
#define POP3_LOGIN_CHALLENGE_USER "VXNlcm5hbWU6"
#define POP3_LOGIN_CHALLENGE_PASS "UGFzc3dvcmQ6"

enum pop3_sasl_action {
	POP3_SASL_ACT_NOTHING,		/* no exchange was running */
	POP3_SASL_ACT_ERR,		/* "-ERR <text>"; the exchange is over */
	POP3_SASL_ACT_CHALLENGE,	/* "+ <text>"; another line follows */
	POP3_SASL_ACT_CHECK,		/* check user and pass; the exchange is over */
};

struct pop3_sasl_out {
	enum pop3_sasl_action action;
	const char *text;	/* ERR: the reply text; CHALLENGE: base64 ("" for PLAIN) */
	char *user, *pass;	/* CHECK: malloc'd, the caller's (wipe pass) */
};

/* "AUTH <mech> [<ir>]": `ir` NULL without one ("=" already made ""). May
 * replace *user (the LOGIN user name between the two lines; also what
 * USER set). *step is the session's exchange state. */
void pop3_sasl_start(const char *mech, const char *ir, enum pop3_sasl_step *step, char **user,
		     struct pop3_sasl_out *out);
/* One continuation line (without CRLF) while *step is not NONE. */
void pop3_sasl_continue(const char *line, size_t len, enum pop3_sasl_step *step, char **user,
			struct pop3_sasl_out *out);
#endif
