/*
 * ms-auth: AUTHENTICATE "PLAIN" [initial-response] (RFC 5804 2.1; RFC
 * 4616) through auth/auth.h, the same throttle, delay and log lines as
 * IMAP and POP3; AUTHENTICATE "SCRAM-SHA-256" (RFC 7677) through
 * auth/auth-scram.h, the server-final-message in the OK's SASL response
 * code (RFC 5804 2.1); and UNAUTHENTICATE (RFC 5804 2.14.1). Without an
 * initial response the server sends an empty challenge ("") and the
 * client answers with one string; "*" cancels.
 */
#include "managesieve/ms-private.h"
#include "auth/auth.h"
#include "auth/auth-scram.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/buf.h"
#include "lib/registry.h"
#include "lib/trace.h"
#include "mail/sasl.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ms_auth_cancel(struct ms_session *s)
{
	auth_request_cancel(&s->auth_req);
	auth_scram_free(&s->scram);
	s->sasl_wait = MS_SASL_NONE;
}

/* `roost user del|disable|passwd` and `roost kick` end the session */
static void session_end(void *ctx, const char *reason)
{
	struct ms_session *s = ctx;
	if (s->conn == NULL)
		return;
	conn_log(s->conn, LOG_INFO, "session ended: %s", reason);
	conn_set_close_reason(s->conn, "kicked");
	ms_bye(s, NULL, reason);
	conn_close(s->conn);
}

/* `roost who` */
static void describe(void *ctx, struct buf *out)
{
	const struct ms_session *s = ctx;
	buf_printf(out, "managesieve\t%s\t-", s->conn != NULL ? conn_remote_ip(s->conn) : "-");
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
		auth_scram_free(&s->scram);
		return;
	case AUTH_BLOCKED:
		ms_no(s, "TRYLATER", "Too many failed logins from your address");
		xfree(&s->user);
		auth_scram_free(&s->scram);
		return;
	case AUTH_FAILED:
		ms_no(s, NULL, "Authentication failed");
		xfree(&s->user);
		auth_scram_free(&s->scram);
		return;
	}
	s->authed = true;
	s->account_id = account_id;
	s->reg = registry_add(account_id, session_end, s);
	registry_set_describe(s->reg, describe);
	conn_authenticated(s->conn);
	/* the login line and the trace switch (lib/trace.h), by the
	 * account's own spelling of its address */
	struct store_account a = {0};
	bool have = store_account_get_by_id(ms_server.store, account_id, &a) == STORE_OK;
	conn_login(s->conn, s->user, have ? a.address : s->user,
		   s->scram != NULL ? "SCRAM-SHA-256" : "PLAIN", NULL);
	if (have)
		store_account_clear(&a);
	if (s->scram != NULL) {
		/* RFC 5804 2.1: the server's last SASL data rides on the OK */
		char *final = auth_scram_server_final(s->scram);
		auth_scram_free(&s->scram);
		conn_puts(s->conn, "OK (SASL ");
		ms_write_string(s, final, strlen(final));
		conn_puts(s->conn, ") \"Logged in\"\r\n");
		free(final);
		return;
	}
	ms_ok(s, NULL, "Logged in");
}

static void scram_first(struct ms_session *s, const char *b64, size_t len)
{
	char *challenge = NULL;
	switch (auth_scram_first(s->scram, ms_server.store, b64, len, &challenge)) {
	case AUTH_SCRAM_OK:
		s->sasl_wait = MS_SASL_SCRAM_FINAL;
		ms_write_string(s, challenge, strlen(challenge));
		conn_puts(s->conn, "\r\n");
		free(challenge);
		return;
	case AUTH_SCRAM_AUTHZID:
		ms_no(s, NULL, "Cannot act as another user");
		break;
	case AUTH_SCRAM_TEMPFAIL:
		ms_no(s, "TRYLATER", "Cannot check the password now, try again later");
		break;
	default:
		ms_error(s, "Invalid SCRAM client-first-message");
		break;
	}
	ms_auth_cancel(s);
}

static void scram_final(struct ms_session *s, const char *b64, size_t len)
{
	s->sasl_wait = MS_SASL_NONE;
	free(s->user);
	s->user = xstrdup(auth_scram_user(s->scram));
	conn_pause(s->conn);
	switch (auth_scram_final(s->scram, ms_server.store, s->conn, "managesieve", b64, len,
				 checked, s, &s->auth_req)) {
	case AUTH_SCRAM_OK:
		return;
	case AUTH_SCRAM_MISMATCH:
		conn_log(s->conn, LOG_INFO, "scram: bad nonce or channel binding");
		ms_no(s, NULL, "Authentication failed");
		break;
	default:
		ms_error(s, "Invalid SCRAM client-final-message");
		break;
	}
	conn_resume(s->conn);
	xfree(&s->user);
	ms_auth_cancel(s);
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
	enum ms_sasl_step step = s->sasl_wait;
	s->sasl_wait = MS_SASL_NONE;
	if (str->len == 1 && str->s[0] == '*') {
		ms_auth_cancel(s);
		ms_no(s, NULL, "Authentication cancelled");
	} else if (step == MS_SASL_PLAIN) {
		plain(s, str->s, str->len);
	} else if (step == MS_SASL_SCRAM_FIRST) {
		scram_first(s, str->s, str->len);
	} else if (step == MS_SASL_SCRAM_FINAL) {
		scram_final(s, str->s, str->len);
	}
	wipe(str->s, str->len);
	free(str->s);
}

void ms_cmd_authenticate(struct ms_session *s, struct ms_string *a, int n)
{
	if (strcasecmp(a[0].s, "SCRAM-SHA-256") == 0) {
		/* no password crosses the wire: fine without TLS */
		ms_auth_cancel(s);
		s->scram = auth_scram_new();
		if (n == 2) {
			scram_first(s, a[1].s, a[1].len);
			return;
		}
		s->sasl_wait = MS_SASL_SCRAM_FIRST;
		conn_puts(s->conn, "\"\"\r\n");
		return;
	}
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
	s->sasl_wait = MS_SASL_PLAIN;
	conn_puts(s->conn, "\"\"\r\n");
}

void ms_cmd_unauthenticate(struct ms_session *s, struct ms_string *a, int n)
{
	s->authed = false;
	s->account_id = 0;
	registry_remove(&s->reg);
	xfree(&s->user);
	ms_ok(s, NULL, "Unauthenticated");
}
