/*
 * pop3-sasl: AUTH PLAIN/LOGIN without a session (pop3-sasl.h). Each
 * response is at most SASL_MAX_RESPONSE base64 bytes (mail/sasl.c) and
 * the line itself at most the connection's line limit; a failed decode
 * ends the exchange, so a client cannot keep one open by sending junk.
 */
#include "pop3/pop3-sasl.h"
#include "lib/alloc.h"
#include "mail/sasl.h"
#include <string.h>
#include <strings.h>

static void free_secret(char **p)
{
	if (*p != NULL) {
		wipe(*p, strlen(*p));
		xfree(p);
	}
}

static void set_err(struct pop3_sasl_out *out, const char *text)
{
	out->action = POP3_SASL_ACT_ERR;
	out->text = text;
}

static void set_challenge(struct pop3_sasl_out *out, const char *text)
{
	out->action = POP3_SASL_ACT_CHALLENGE;
	out->text = text;
}

/* A PLAIN response: acting as another user is not offered, so authzid
 * must be empty or the user itself. */
static void plain(const char *b64, size_t len, struct pop3_sasl_out *out)
{
	char *authzid, *user, *pass;
	if (sasl_plain_decode(b64, len, &authzid, &user, &pass) < 0) {
		set_err(out, "Invalid SASL PLAIN response");
		return;
	}
	if (authzid[0] != '\0' && strcmp(authzid, user) != 0) {
		/* no password is checked, so nothing to throttle (as IMAP) */
		free_secret(&pass);
		free_secret(&user);
		set_err(out, "[AUTH] Cannot act as another user");
	} else {
		out->action = POP3_SASL_ACT_CHECK;
		out->text = NULL;
		out->user = user;
		out->pass = pass;
	}
	xfree(&authzid);
}

void pop3_sasl_start(const char *mech, const char *ir, enum pop3_sasl_step *step, char **user,
		     struct pop3_sasl_out *out)
{
	memset(out, 0, sizeof(*out));
	if (strcasecmp(mech, "PLAIN") == 0) {
		if (ir != NULL && ir[0] != '\0') {
			plain(ir, strlen(ir), out);
		} else {
			*step = POP3_SASL_PLAIN;
			set_challenge(out, "");
		}
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		free_secret(user);
		if (ir != NULL && ir[0] != '\0') {
			if (sasl_login_decode(ir, strlen(ir), user) < 0) {
				set_err(out, "Invalid SASL LOGIN response");
				return;
			}
			*step = POP3_SASL_LOGIN_PASS;
			set_challenge(out, POP3_LOGIN_CHALLENGE_PASS);
		} else {
			*step = POP3_SASL_LOGIN_USER;
			set_challenge(out, POP3_LOGIN_CHALLENGE_USER);
		}
	} else {
		set_err(out, "Unsupported authentication mechanism");
	}
}

void pop3_sasl_continue(const char *line, size_t len, enum pop3_sasl_step *step, char **user,
			struct pop3_sasl_out *out)
{
	enum pop3_sasl_step was = *step;
	char *text;

	memset(out, 0, sizeof(*out));
	*step = POP3_SASL_NONE;
	/* RFC 5034 section 4: "*" cancels the exchange. */
	if (len == 1 && line[0] == '*') {
		free_secret(user);
		set_err(out, "Authentication cancelled");
		return;
	}
	switch (was) {
	case POP3_SASL_PLAIN:
		plain(line, len, out);
		break;
	case POP3_SASL_LOGIN_USER:
		if (sasl_login_decode(line, len, &text) < 0) {
			set_err(out, "Invalid SASL LOGIN response");
			return;
		}
		free_secret(user);
		*user = text;
		*step = POP3_SASL_LOGIN_PASS;
		set_challenge(out, POP3_LOGIN_CHALLENGE_PASS);
		break;
	case POP3_SASL_LOGIN_PASS:
		if (sasl_login_decode(line, len, &text) < 0) {
			free_secret(user);
			set_err(out, "Invalid SASL LOGIN response");
			return;
		}
		out->action = POP3_SASL_ACT_CHECK;
		out->user = *user;
		out->pass = text;
		*user = NULL;
		break;
	case POP3_SASL_NONE:
		break;
	}
}
