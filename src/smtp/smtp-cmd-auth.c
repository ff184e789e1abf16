/*
 * smtp-cmd-auth: AUTH (RFC 4954) on the submission listeners, with the
 * SASL mechanisms PLAIN (RFC 4616) and LOGIN. The password check is
 * auth/auth.h's: the throttle, the worker thread and the fail2ban log
 * lines are the same as for IMAP and POP3. SCRAM-SHA-256 (RFC 5802, RFC
 * 7677) runs as RFC 4954 4 frames it: client-first (initial response or
 * after "334 "), "334 server-first", client-final, "334 server-final",
 * an empty line, then 235. The proof is checked through the same
 * throttled request as a password. The connection is paused while
 * the check runs, so nothing the client pipelined runs before the answer.
 *
 * Replies (RFC 4954 6): 235 2.7.0 success, 535 5.7.8 bad credentials,
 * 454 4.7.0 temporary failure (blocked network, store error), 538 5.7.11
 * plaintext mechanism without TLS, 501 for a cancelled ("*") or
 * undecodable exchange, 500 5.5.6 for a response line over the limit,
 * 504 5.5.4 for an unknown mechanism, 503 5.5.1 when already logged in
 * or inside a mail transaction (RFC 4954 4).
 */
#include "smtp/smtp-session.h"
#include "auth/auth.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/trace.h"
#include "lib/registry.h"
#include "lib/buf.h"
#include "mail/sasl.h"
#include "auth/auth-scram.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* base64 of "Username:" and "Password:", the LOGIN mechanism's prompts */
#define SMTP_LOGIN_USER_PROMPT "334 VXNlcm5hbWU6"
#define SMTP_LOGIN_PASS_PROMPT "334 UGFzc3dvcmQ6"

static void scram_free(struct smtp_session *s)
{
	auth_scram_free(&s->scram);
}

void smtp_auth_clear(struct smtp_session *s)
{
	scram_free(s);
	auth_request_cancel(&s->auth_req);
	registry_remove(&s->reg);
	if (s->login_user != NULL) {
		wipe(s->login_user, strlen(s->login_user));
		free(s->login_user);
		s->login_user = NULL;
	}
	free(s->auth_user);
	s->auth_user = NULL;
	s->account_id = 0;
	s->auth_step = SMTP_AUTH_NONE;
}

/* `user del`, `user passwd`, `user disable`, `app-password del`: the
 * session ends (registry.h). */
static void end_session(void *ctx, const char *reason)
{
	smtp_close_421(ctx, reason);
}

/* `roost who`: protocol, client address */
static void describe_session(void *ctx, struct buf *out)
{
	const struct smtp_session *s = ctx;
	buf_printf(out, "submission\t%s\t-", s->conn != NULL ? conn_remote_ip(s->conn) : "-");
}

static void logged_in(struct smtp_session *s, int64_t account_id, char *user)
{
	s->account_id = account_id;
	s->auth_user = user;
	s->reg = registry_add(account_id, end_session, s);
	registry_set_describe(s->reg, describe_session);
	conn_authenticated(s->conn);
	/* the trace switch names the account's own spelling (trace.h),
	 * looked at now and again whenever a switch moves */
	struct store_account a = {0};
	bool have = store_account_get_by_id(s->srv->store, account_id, &a) == STORE_OK;
	conn_login(s->conn, s->auth_user, have ? a.address : s->auth_user,
		   s->auth_method != NULL ? s->auth_method : "PLAIN", NULL);
	if (have)
		store_account_clear(&a);
	smtp_reply(s, "235 2.7.0 Authentication successful");
}

static void auth_checked(void *ctx, enum auth_result result, int64_t account_id)
{
	struct smtp_session *s = ctx;
	s->auth_req = NULL;
	s->auth_step = SMTP_AUTH_NONE;
	char *user = s->login_user;
	s->login_user = NULL;
	switch (result) {
	case AUTH_OK:
		if (s->scram != NULL) {
			/* RFC 5802 5: the server proves itself too, before 235 */
			char *b = auth_scram_server_final(s->scram);
			s->scram_account_id = account_id;
			s->auth_step = SMTP_AUTH_SCRAM_ACK;
			s->login_user = user;
			user = NULL;
			smtp_reply(s, "334 %s", b);
			free(b);
			break;
		}
		logged_in(s, account_id, user);
		user = NULL;
		break;
	case AUTH_FAILED:
		smtp_reply_error(s, "535 5.7.8 Authentication credentials invalid");
		break;
	case AUTH_BLOCKED:
		smtp_reply_error(s, "454 4.7.0 Too many failed logins from your address, "
				    "try again later");
		break;
	case AUTH_TEMPFAIL:
		smtp_reply_error(s, "454 4.7.0 Temporary authentication failure, try again later");
		break;
	}
	free(user);
	if (result != AUTH_OK)
		scram_free(s);
	if (!s->quitting && s->conn != NULL)
		conn_resume(s->conn);
}

/* Hand user and password to the throttled check; takes `user`. */
static void check(struct smtp_session *s, char *user, char *password)
{
	s->login_user = user;
	s->auth_step = SMTP_AUTH_CHECKING;
	conn_pause(s->conn);
	s->auth_req = auth_attempt_start(s->srv->store, s->conn, "submission", user, password,
					 auth_checked, s);
	wipe(password, strlen(password));
	free(password);
}

static void fail_exchange(struct smtp_session *s, const char *reply)
{
	if (s->login_user != NULL) {
		wipe(s->login_user, strlen(s->login_user));
		free(s->login_user);
		s->login_user = NULL;
	}
	s->auth_step = SMTP_AUTH_NONE;
	scram_free(s);
	smtp_reply_error(s, "%s", reply);
}

static void plain_response(struct smtp_session *s, const char *b64, size_t len)
{
	char *authzid = NULL, *user = NULL, *pass = NULL;
	if (sasl_plain_decode(b64, len, &authzid, &user, &pass) < 0) {
		fail_exchange(s, "501 5.5.2 Cannot decode the PLAIN response");
		return;
	}
	/* RFC 4616 2: acting as another identity is not offered; an authzid
	 * that names the login itself is the same as none. */
	bool other = authzid[0] != '\0' && strcasecmp(authzid, user) != 0;
	free(authzid);
	if (other) {
		wipe(pass, strlen(pass));
		free(pass);
		free(user);
		fail_exchange(s, "535 5.7.8 Authorization identity not permitted");
		return;
	}
	check(s, user, pass);
}

static void scram_first(struct smtp_session *s, const char *b64, size_t len)
{
	s->scram = auth_scram_new();
	char *challenge = NULL;
	switch (auth_scram_first(s->scram, s->srv->store, b64, len, &challenge)) {
	case AUTH_SCRAM_OK:
		s->auth_step = SMTP_AUTH_SCRAM_FINAL;
		smtp_reply(s, "334 %s", challenge);
		free(challenge);
		return;
	case AUTH_SCRAM_MALFORMED:
	case AUTH_SCRAM_MISMATCH:
		fail_exchange(s, "501 5.5.2 Malformed SCRAM client-first-message");
		return;
	case AUTH_SCRAM_AUTHZID:
		fail_exchange(s, "535 5.7.8 Authorization identity not permitted");
		return;
	case AUTH_SCRAM_TEMPFAIL:
		fail_exchange(s, "454 4.7.0 Temporary authentication failure, try again later");
		return;
	}
}

static void scram_final(struct smtp_session *s, const char *b64, size_t len)
{
	struct auth_request *req = NULL;
	s->auth_step = SMTP_AUTH_CHECKING;
	s->login_user = xstrdup(auth_scram_user(s->scram));
	conn_pause(s->conn);
	switch (auth_scram_final(s->scram, s->srv->store, s->conn, "submission", b64, len,
				 auth_checked, s, &req)) {
	case AUTH_SCRAM_OK:
		s->auth_req = req;
		return;
	case AUTH_SCRAM_MISMATCH:
		conn_log(s->conn, LOG_INFO, "scram: bad nonce or channel binding");
		fail_exchange(s, "535 5.7.8 Authentication credentials invalid");
		break;
	case AUTH_SCRAM_MALFORMED:
	case AUTH_SCRAM_AUTHZID:
	case AUTH_SCRAM_TEMPFAIL:
		fail_exchange(s, "501 5.5.2 Malformed SCRAM client-final-message");
		break;
	}
	conn_resume(s->conn);
}

void smtp_auth_line(struct smtp_session *s, char *line, size_t len)
{
	/* RFC 4954 4: "*" cancels the exchange, answered with 501. */
	if (len == 1 && line[0] == '*') {
		fail_exchange(s, "501 5.0.0 Authentication cancelled");
		return;
	}
	switch (s->auth_step) {
	case SMTP_AUTH_PLAIN:
		plain_response(s, line, len);
		break;
	case SMTP_AUTH_LOGIN_USER: {
		char *user = NULL;
		if (sasl_login_decode(line, len, &user) < 0) {
			fail_exchange(s, "501 5.5.2 Cannot decode the user name");
			break;
		}
		s->login_user = user;
		s->auth_step = SMTP_AUTH_LOGIN_PASS;
		smtp_reply(s, SMTP_LOGIN_PASS_PROMPT);
		break;
	}
	case SMTP_AUTH_LOGIN_PASS: {
		char *pass = NULL;
		if (sasl_login_decode(line, len, &pass) < 0) {
			fail_exchange(s, "501 5.5.2 Cannot decode the password");
			break;
		}
		char *user = s->login_user;
		s->login_user = NULL;
		check(s, user, pass);
		break;
	}
	case SMTP_AUTH_SCRAM_FIRST:
		scram_first(s, line, len);
		break;
	case SMTP_AUTH_SCRAM_FINAL:
		scram_final(s, line, len);
		break;
	case SMTP_AUTH_SCRAM_ACK: {
		/* RFC 4954 4: the client answers the server-final with "" */
		if (len != 0) {
			fail_exchange(s, "501 5.5.2 Expected an empty response");
			break;
		}
		int64_t id = s->scram_account_id;
		char *user = s->login_user;
		s->login_user = NULL;
		s->auth_step = SMTP_AUTH_NONE;
		scram_free(s);
		logged_in(s, id, user);
		break;
	}
	case SMTP_AUTH_NONE:
	case SMTP_AUTH_CHECKING:
		break; /* not routed here (the conn is paused while checking) */
	}
	wipe(line, len);
}

void smtp_auth_line_too_long(struct smtp_session *s)
{
	/* RFC 4954 6: 500 5.5.6 "Authentication Exchange line is too long" */
	fail_exchange(s, "500 5.5.6 Authentication exchange line is too long");
}

void smtp_cmd_auth(struct smtp_session *s, char *args)
{
	if (s->account_id > 0) {
		smtp_reply_error(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (s->txn.active) {
		smtp_reply_error(s, "503 5.5.1 AUTH not permitted during a mail transaction");
		return;
	}
	char *sp = strchr(args, ' ');
	const char *initial = NULL;
	if (sp != NULL) {
		*sp = '\0';
		initial = sp + 1;
	}
	bool plain = strcasecmp(args, "PLAIN") == 0, login = strcasecmp(args, "LOGIN") == 0;
	bool scram = strcasecmp(args, "SCRAM-SHA-256") == 0;
	if (!plain && !login && !scram) {
		smtp_reply_error(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	s->auth_method = plain ? "PLAIN" : login ? "LOGIN" : "SCRAM-SHA-256";
	/* RFC 4954 6: 538 when the mechanism needs an encrypted channel.
	 * SCRAM never sends the password, but without channel binding a
	 * man in the middle could still ride the login: the same rule. */
	if (!conn_plaintext_auth_ok(s->conn)) {
		smtp_reply_error(s, "538 5.7.11 Encryption required for requested authentication "
				    "mechanism");
		return;
	}
	if (scram) {
		if (initial == NULL) {
			s->auth_step = SMTP_AUTH_SCRAM_FIRST;
			smtp_reply(s, "334 ");
		} else {
			scram_first(s, initial, strlen(initial));
		}
		return;
	}
	if (plain) {
		if (initial == NULL) {
			s->auth_step = SMTP_AUTH_PLAIN;
			smtp_reply(s, "334 ");
		} else if (strcmp(initial, "=") == 0) {
			/* RFC 4954 4: "=" is an empty initial response */
			fail_exchange(s, "501 5.5.2 Cannot decode the PLAIN response");
		} else {
			plain_response(s, initial, strlen(initial));
			wipe(sp + 1, strlen(sp + 1));
		}
		return;
	}
	if (initial != NULL) {
		/* LOGIN may carry the user name as an initial response. */
		char *user = NULL;
		int r = sasl_login_decode(initial, strlen(initial), &user);
		wipe(sp + 1, strlen(sp + 1));
		if (r < 0) {
			smtp_reply_error(s, "501 5.5.2 Cannot decode the user name");
			return;
		}
		s->login_user = user;
		s->auth_step = SMTP_AUTH_LOGIN_PASS;
		smtp_reply(s, SMTP_LOGIN_PASS_PROMPT);
		return;
	}
	s->auth_step = SMTP_AUTH_LOGIN_USER;
	smtp_reply(s, SMTP_LOGIN_USER_PROMPT);
}
