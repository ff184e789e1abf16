/*
 * ms-auth: AUTHENTICATE "PLAIN" [initial-response] (RFC 5804 2.1; RFC
 * 4616) through auth/auth.h, the same throttle, delay and log lines as
 * IMAP and POP3, and UNAUTHENTICATE (RFC 5804 2.14.1). Without an
 * initial response the server sends an empty challenge ("") and the
 * client answers with one string; "*" cancels.
 */
#include "managesieve/ms-private.h"
#include "auth/auth.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "mail/sasl.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ms_auth_cancel(struct ms_session *s)
{
	auth_request_cancel(&s->auth_req);
}

static void checked(void *ctx, enum auth_result result, int64_t account_id)
{
	struct ms_session *s = ctx;
	s->auth_req = NULL;
	conn_resume(s->conn);
	switch (result) {
	case AUTH_OK:
		break;
	case AUTH_TEMPFAIL:
		ms_no(s, "TRYLATER", "Cannot check the password now, try again later");
		xfree(&s->user);
		return;
	case AUTH_BLOCKED:
		ms_no(s, "TRYLATER", "Too many failed logins from your address");
		xfree(&s->user);
		return;
	case AUTH_FAILED:
		ms_no(s, NULL, "Authentication failed");
		xfree(&s->user);
		return;
	}
	s->authed = true;
	s->account_id = account_id;
	conn_authenticated(s->conn);
	conn_log(s->conn, LOG_INFO, "login user=%s", s->user);
	ms_ok(s, NULL, "Logged in");
}

static void plain(struct ms_session *s, const char *b64, size_t len)
{
	char *authzid, *user, *pass;
	if (sasl_plain_decode(b64, len, &authzid, &user, &pass) < 0) {
		ms_error(s, "Invalid SASL PLAIN response");
		return;
	}
	if (authzid[0] != '\0' && strcmp(authzid, user) != 0) {
		ms_no(s, NULL, "Cannot act as another user");
	} else {
		free(s->user);
		s->user = xstrdup(user);
		conn_pause(s->conn);
		s->auth_req = auth_attempt_start(ms_server.store, s->conn, "managesieve", user, pass,
						 checked, s);
	}
	wipe(pass, strlen(pass));
	free(pass);
	free(authzid);
	wipe(user, strlen(user));
	free(user);
}

void ms_auth_response(struct ms_session *s, struct ms_string *str)
{
	s->sasl_wait = false;
	if (str->len == 1 && str->s[0] == '*')
		ms_no(s, NULL, "Authentication cancelled");
	else
		plain(s, str->s, str->len);
	wipe(str->s, str->len);
	free(str->s);
}

void ms_cmd_authenticate(struct ms_session *s, struct ms_string *a, int n)
{
	if (strcasecmp(a[0].s, "PLAIN") != 0) {
		ms_error(s, "Unsupported authentication mechanism");
		return;
	}
	/* RFC 5804 2.1: plaintext passwords only over TLS, or on loopback
	 * when auth.allow_plaintext says so */
	if (!conn_tls_active(s->conn) && !conn_plaintext_auth_ok(s->conn)) {
		ms_no(s, "ENCRYPT-NEEDED", "Use STARTTLS first");
		return;
	}
	if (n == 2) {
		plain(s, a[1].s, a[1].len);
		wipe(a[1].s, a[1].len);
		return;
	}
	s->sasl_wait = true;
	conn_puts(s->conn, "\"\"\r\n");
}

void ms_cmd_unauthenticate(struct ms_session *s, struct ms_string *a, int n)
{
	s->authed = false;
	s->account_id = 0;
	xfree(&s->user);
	ms_ok(s, NULL, "Unauthenticated");
}
