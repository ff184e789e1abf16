/*
 * pop3-auth: the AUTHORIZATION state. USER/PASS (RFC 1939 section 7) and
 * AUTH PLAIN/LOGIN with an optional initial response (RFC 5034), then the
 * login itself: check the password, lock the maildrop, take the snapshot.
 *
 * Replies (RFC 2449 section 8, RFC 3206): a failed login gets
 * "-ERR [AUTH]" after the per-address delay of auth.h, the same for an
 * unknown user and a wrong password; a maildrop locked by another session
 * gets "[IN-USE]" (only after the password was right, so it reveals
 * nothing); a server-side failure gets "[SYS/TEMP]".
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "mail/auth.h"
#include "mail/sasl.h"
#include "store/store.h"
#include <event2/event.h>
#include <string.h>
#include <strings.h>

/* "Username:" and "Password:", the customary LOGIN challenges. */
#define LOGIN_CHALLENGE_USER "VXNlcm5hbWU6"
#define LOGIN_CHALLENGE_PASS "UGFzc3dvcmQ6"

static void free_secret(char **p)
{
	if (*p != NULL) {
		wipe(*p, strlen(*p));
		xfree(p);
	}
}

/* Password logins before TLS are refused off loopback (RFC 2595 section 2.2
 * and auth.allow_plaintext); the reply says why, not [AUTH] for a password. */
static bool plaintext_refused(struct pop3_session *s)
{
	if (conn_tls_active(s->conn) || conn_plaintext_auth_ok(s->conn))
		return false;
	pop3_err(s, "[AUTH] Plaintext authentication disallowed on non-secure connections; use STLS");
	return true;
}

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;

	event_free(s->delay_timer);
	s->delay_timer = NULL;
	pop3_err(s, "[AUTH] Authentication failed");
	conn_resume(s->conn);
}

void pop3_auth_cancel_delay(struct pop3_session *s)
{
	if (s->delay_timer != NULL) {
		event_free(s->delay_timer);
		s->delay_timer = NULL;
	}
	/* the session is going away: a check in flight must not call back */
	auth_request_cancel(&s->auth_req);
	xfree(&s->login_user);
}

/* A failed login: record it, then answer after the delay with the input
 * paused, so a client cannot pipeline guesses past the delay. The event
 * loop keeps running: never sleep here. */
static void login_failed(struct pop3_session *s)
{
	const char *ip = conn_remote_ip(s->conn);
	int64_t ms;

	conn_log(s->conn, LOG_INFO, "login failed");
	auth_fail_record(ip);
	ms = auth_fail_delay_ms(ip);
	if (ms <= 0) {
		pop3_err(s, "[AUTH] Authentication failed");
		return;
	}
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	s->delay_timer = evtimer_new(conn_base(s->conn), delay_done, s);
	conn_pause(s->conn);
	evtimer_add(s->delay_timer, &tv);
}

static void login_checked(void *ctx, bool ok, int64_t account_id);

/* Check the password on a worker thread (hashing is slow by design and
 * must not stall the event loop); input waits meanwhile. Takes ownership
 * of (and wipes) `pass`. */
static void login(struct pop3_session *s, const char *user, char *pass)
{
	if (strlen(user) > AUTH_MAX_USERNAME || strlen(pass) > AUTH_MAX_PASSWORD) {
		free_secret(&pass);
		login_failed(s);
		return;
	}
	free(s->login_user);
	s->login_user = xstrdup(user);
	conn_pause(s->conn);
	s->auth_req = auth_login_start(s->server->store, user, pass, login_checked, s);
	free_secret(&pass);
}

/* Then lock and open the maildrop. */
static void login_checked(void *ctx, bool ok, int64_t account_id)
{
	struct pop3_session *s = ctx;
	struct pop3_server *server = s->server;
	struct store_account account;
	char *error = NULL;
	const char *user = s->login_user;

	s->auth_req = NULL;
	conn_resume(s->conn);
	if (!ok) {
		login_failed(s);
		return;
	}
	auth_fail_clear(conn_remote_ip(s->conn));

	switch (pop3_lock_take(account_id, server->set.concurrent, server->set.login_delay_ms)) {
	case POP3_LOCK_OK:
		break;
	case POP3_LOCK_IN_USE:
		conn_log(s->conn, LOG_INFO, "login refused: mailbox in use");
		pop3_err_nocount(s, "[IN-USE] Mailbox is in use by another POP3 session");
		return;
	case POP3_LOCK_TOO_SOON:
		pop3_err_nocount(s, "[LOGIN-DELAY] Minimum time between logins not yet passed");
		return;
	}
	s->locked = true;
	s->account_id = account_id;

	/* Per-account override of pop3.delete (hide or expunge). */
	s->delete_hide = server->set.delete_hide;
	if (store_account_get_by_id(server->store, account_id, &account) == STORE_OK) {
		if (account.pop3_delete != NULL)
			s->delete_hide = strcasecmp(account.pop3_delete, "hide") == 0;
		store_account_clear(&account);
	}

	if (pop3_maildrop_open(s, &error) < 0) {
		conn_log(s->conn, LOG_ERROR, "cannot open maildrop: %s", error);
		xfree(&error);
		pop3_lock_release(account_id);
		s->locked = false;
		pop3_err_nocount(s, "[SYS/TEMP] Cannot open the mailbox, try again later");
		return;
	}
	s->state = POP3_STATE_TRANS;
	conn_authenticated(s->conn); /* the login deadline is met */
	conn_log(s->conn, LOG_INFO, "login user=%s messages=%zu", user, s->nmsgs);
	pop3_ok(s, "Logged in, %zu messages", s->nmsgs);
}

void pop3_cmd_user(struct pop3_session *s, char **args, int nargs)
{
	if (plaintext_refused(s))
		return;
	if (strlen(args[0]) > AUTH_MAX_USERNAME) {
		pop3_err(s, "User name too long");
		return;
	}
	free_secret(&s->user);
	s->user = xstrdup(args[0]);
	/* RFC 1939 section 7: the reply must not reveal whether it exists. */
	pop3_ok(s, "Send your password");
}

void pop3_cmd_pass(struct pop3_session *s, char **args, int nargs)
{
	char *user;

	if (s->user == NULL) {
		pop3_err(s, "USER first");
		return;
	}
	if (plaintext_refused(s))
		return;
	user = s->user;
	s->user = NULL;
	login(s, user, xstrdup(args[0]));
	wipe(args[0], strlen(args[0]));
	free_secret(&user);
}

/* Decode a PLAIN response and log in. */
static void auth_plain(struct pop3_session *s, const char *b64, size_t len)
{
	char *authzid, *user, *pass;

	if (sasl_plain_decode(b64, len, &authzid, &user, &pass) < 0) {
		pop3_err(s, "Invalid SASL PLAIN response");
		return;
	}
	/* Acting as another user is not offered: authzid must be empty or
	 * the same user. */
	if (authzid[0] != '\0' && strcmp(authzid, user) != 0) {
		free_secret(&pass);
		login_failed(s);
	} else {
		login(s, user, pass);
	}
	xfree(&authzid);
	free_secret(&user);
}

void pop3_auth_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	enum pop3_sasl_step step = s->sasl;
	char *text;

	s->sasl = POP3_SASL_NONE;
	/* RFC 5034 section 4: "*" cancels the exchange. */
	if (len == 1 && line[0] == '*') {
		free_secret(&s->user);
		pop3_err(s, "Authentication cancelled");
		return;
	}
	switch (step) {
	case POP3_SASL_PLAIN:
		auth_plain(s, line, len);
		break;
	case POP3_SASL_LOGIN_USER:
		if (sasl_login_decode(line, len, &text) < 0) {
			pop3_err(s, "Invalid SASL LOGIN response");
			return;
		}
		free_secret(&s->user);
		s->user = text;
		s->sasl = POP3_SASL_LOGIN_PASS;
		conn_puts(s->conn, "+ " LOGIN_CHALLENGE_PASS "\r\n");
		break;
	case POP3_SASL_LOGIN_PASS: {
		char *user = s->user;
		s->user = NULL;
		if (sasl_login_decode(line, len, &text) < 0) {
			free_secret(&user);
			pop3_err(s, "Invalid SASL LOGIN response");
			return;
		}
		login(s, user, text);
		free_secret(&user);
		break;
	}
	case POP3_SASL_NONE:
		break;
	}
}

void pop3_cmd_auth(struct pop3_session *s, char **args, int nargs)
{
	const char *ir = nargs > 1 ? args[1] : NULL;

	/* Without a mechanism, list them (RFC 1734 habit some clients use). */
	if (nargs == 0) {
		conn_puts(s->conn, "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
		return;
	}
	if (plaintext_refused(s))
		return;
	/* RFC 5034 section 4: "=" is an empty initial response. */
	if (ir != NULL && strcmp(ir, "=") == 0)
		ir = "";
	if (strcasecmp(args[0], "PLAIN") == 0) {
		if (ir != NULL && ir[0] != '\0') {
			auth_plain(s, ir, strlen(ir));
		} else {
			s->sasl = POP3_SASL_PLAIN;
			conn_puts(s->conn, "+ \r\n");
		}
	} else if (strcasecmp(args[0], "LOGIN") == 0) {
		free_secret(&s->user);
		if (ir != NULL && ir[0] != '\0') {
			if (sasl_login_decode(ir, strlen(ir), &s->user) < 0) {
				pop3_err(s, "Invalid SASL LOGIN response");
				return;
			}
			s->sasl = POP3_SASL_LOGIN_PASS;
			conn_puts(s->conn, "+ " LOGIN_CHALLENGE_PASS "\r\n");
		} else {
			s->sasl = POP3_SASL_LOGIN_USER;
			conn_puts(s->conn, "+ " LOGIN_CHALLENGE_USER "\r\n");
		}
	} else {
		pop3_err(s, "Unsupported authentication mechanism");
	}
	if (ir != NULL)
		wipe(args[1], strlen(args[1]));
}
