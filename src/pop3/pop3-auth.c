/*
 * pop3-auth: the AUTHORIZATION state. USER/PASS (RFC 1939 section 7) and
 * AUTH PLAIN/LOGIN with an optional initial response (RFC 5034), then the
 * login itself: check the password, lock the maildrop, take the snapshot.
 *
 * Replies (RFC 2449 section 8, RFC 3206): a failed login gets
 * "-ERR [AUTH]" after the throttle's delay (auth/auth.h), the same for an
 * unknown user and a wrong password; a network blocked by the throttle gets
 * "[SYS/TEMP]" without any check; a maildrop locked by another session
 * gets "[IN-USE]" (only after the password was right, so it reveals
 * nothing); a server-side failure, or a database that cannot say in time
 * whether another node has the maildrop, gets "[SYS/TEMP]".
 */
#include "pop3/pop3-private.h"
#include "pop3/pop3-sasl.h"
#include "auth/auth.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/registry.h"
#include "lib/trace.h"
#include "lib/workers.h"
#include "mail/address.h"
#include "lib/buf.h"
#include "store/store.h"
#include <string.h>
#include <strings.h>

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

/* The node lock is a database round trip that may wait up to
 * STORE_NODELOCK_TAKE_WAIT_MS: on a worker, not the event loop. The job
 * outlives its session if the client goes meanwhile. */
struct pop3_lock_job {
	struct pop3_session *session;	/* NULL once the connection is gone */
	struct store *store;
	struct pop3_lock_attempt attempt;
};

void pop3_auth_cancel_delay(struct pop3_session *s)
{
	/* the session is going away: a check in flight must not call back */
	auth_request_cancel(&s->auth_req);
	if (s->lock_job != NULL) {
		/* it finishes on its own and drops the lock it took */
		s->lock_job->session = NULL;
		s->lock_job = NULL;
	}
	xfree(&s->login_user);
}

static void login_checked(void *ctx, enum auth_result result, int64_t account_id);

/* The throttle delay, then the check on a worker thread (auth/auth.h);
 * input waits meanwhile, so a client cannot pipeline guesses past the
 * delay. Takes ownership of (and wipes) `pass`. */
static void login(struct pop3_session *s, const char *user, char *pass)
{
	free(s->login_user);
	s->login_user = xstrdup(user);
	conn_pause(s->conn);
	s->auth_req = auth_attempt_start(s->server->store, s->conn, "pop3", user, pass,
					 login_checked, s);
	free_secret(&pass);
}

/* `roost who`: protocol, client address; POP3 sees only INBOX */
static void describe_session(void *ctx, struct buf *out)
{
	const struct pop3_session *s = ctx;
	buf_printf(out, "pop3\t%s\tINBOX", s->conn != NULL ? conn_remote_ip(s->conn) : "-");
}

static void login_locked(struct pop3_session *s, int64_t account_id, enum pop3_lock_result res);

static void lock_job_work(void *ctx)
{
	struct pop3_lock_job *job = ctx;
	pop3_lock_take_node(job->store, &job->attempt);
}

static void lock_job_done(void *ctx)
{
	struct pop3_lock_job *job = ctx;
	struct pop3_session *s = job->session;
	struct store *store = job->store;
	int64_t account_id = job->attempt.account_id;
	enum pop3_lock_result res = pop3_lock_take_finish(&job->attempt);

	xfree(&job);
	if (s == NULL) {
		if (res == POP3_LOCK_OK)
			pop3_lock_release(store, account_id);
		return;
	}
	s->lock_job = NULL;
	conn_resume(s->conn);
	login_locked(s, account_id, res);
}

/* Then lock and open the maildrop. */
static void login_checked(void *ctx, enum auth_result result, int64_t account_id)
{
	struct pop3_session *s = ctx;
	struct pop3_server *server = s->server;

	s->auth_req = NULL;
	if (result == AUTH_OK) {
		struct pop3_lock_attempt attempt;
		enum pop3_lock_result res = pop3_lock_take(server->store, account_id,
							   server->set.concurrent,
							   server->set.login_delay_ms, &attempt);
		if (res == POP3_LOCK_OK && attempt.node) {
			/* input stays paused until the answer */
			struct pop3_lock_job *job = xcalloc(1, sizeof(*job));
			job->session = s;
			job->store = server->store;
			job->attempt = attempt;
			s->lock_job = job;
			workers_submit_net(lock_job_work, lock_job_done, job);
			return;
		}
		conn_resume(s->conn);
		login_locked(s, account_id, res);
		return;
	}
	conn_resume(s->conn);
	if (result == AUTH_TEMPFAIL) {
		/* the store could not be read: not a failed login */
		pop3_store_err(s, STORE_ETEMP, "Cannot check the password now, try again later");
		return;
	}
	if (result == AUTH_FAILED) {
		pop3_err(s, "[AUTH] Authentication failed");
		return;
	}
	/* AUTH_BLOCKED, RFC 3206 4: a temporary condition; no check ran. */
	pop3_err(s, "[SYS/TEMP] Too many failed logins from your address, try again later");
}

/* The password was right; res says whether the maildrop is ours. */
static void login_locked(struct pop3_session *s, int64_t account_id, enum pop3_lock_result res)
{
	struct pop3_server *server = s->server;
	struct store_account account;
	char *error = NULL;
	const char *user = s->login_user;

	switch (res) {
	case POP3_LOCK_OK:
		break;
	case POP3_LOCK_TEMP:
		/* the database could not tell whether another node has it */
		pop3_store_err(s, STORE_ETEMP, "Cannot lock the mailbox now, try again later");
		return;
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
	/* Registered first, then the account read: an admin command that
	 * committed after the password check either shows in the read or
	 * ends this session through the registry (both on this thread). */
	s->reg = registry_add(account_id, pop3_session_end, s);
	registry_set_describe(s->reg, describe_session);

	/* Per-account override of pop3.delete (hide or expunge): unread, a
	 * DELE could expunge what the admin wanted only hidden. */
	s->delete_hide = server->set.delete_hide;
	enum store_err err = store_account_get_by_id(server->store, account_id, &account);
	bool disabled = err == STORE_OK && account.disabled;
	char address[ADDRESS_MAX + 1]; /* the account's own spelling: trace.h */
	snprintf(address, sizeof(address), "%s", err == STORE_OK ? account.address : user);
	if (err == STORE_OK) {
		if (account.pop3_delete != NULL)
			s->delete_hide = strcasecmp(account.pop3_delete, "hide") == 0;
		store_account_clear(&account);
	}
	if (err != STORE_OK || disabled) {
		registry_remove(&s->reg);
		pop3_lock_release(server->store, account_id);
		s->locked = false;
		s->account_id = 0;
		if (err != STORE_OK && err != STORE_ENOTFOUND) {
			pop3_store_err(s, err, "Cannot open the mailbox, try again later");
			return;
		}
		conn_log(s->conn, LOG_INFO, "login refused user=%.64s: account %s", user,
			 disabled ? "disabled" : "deleted");
		pop3_err(s, "[AUTH] Authentication failed");
		return;
	}

	err = pop3_maildrop_open(s, &error);
	if (err != STORE_OK) {
		conn_log(s->conn, LOG_ERROR, "cannot open maildrop: %s",
			 error != NULL ? error : store_strerror(err));
		xfree(&error);
		registry_remove(&s->reg);
		pop3_lock_release(server->store, account_id);
		s->locked = false;
		pop3_store_err(s, err, "Cannot open the mailbox, try again later");
		return;
	}
	s->state = POP3_STATE_TRANS;
	conn_authenticated(s->conn); /* the login deadline is met */
	char extra[32];
	snprintf(extra, sizeof(extra), "messages=%zu", s->nmsgs);
	conn_login(s->conn, user, address, s->auth_method != NULL ? s->auth_method : "USER", extra);
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
	s->auth_method = "USER";
	login(s, user, xstrdup(args[0]));
	wipe(args[0], strlen(args[0]));
	free_secret(&user);
}

/* What pop3-sasl.c decided: reply, or start the check. */
static void sasl_act(struct pop3_session *s, struct pop3_sasl_out *out)
{
	switch (out->action) {
	case POP3_SASL_ACT_NOTHING:
		break;
	case POP3_SASL_ACT_ERR:
		pop3_err(s, "%s", out->text);
		break;
	case POP3_SASL_ACT_CHALLENGE:
		conn_printf(s->conn, "+ %s\r\n", out->text);
		break;
	case POP3_SASL_ACT_CHECK:
		login(s, out->user, out->pass);
		free_secret(&out->user);
		break;
	}
}

void pop3_auth_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_sasl_out out;
	pop3_sasl_continue(line, len, &s->sasl, &s->user, &out);
	sasl_act(s, &out);
}

void pop3_cmd_auth(struct pop3_session *s, char **args, int nargs)
{
	const char *ir = nargs > 1 ? args[1] : NULL;
	struct pop3_sasl_out out;

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
	s->auth_method = strcasecmp(args[0], "PLAIN") == 0 ? "PLAIN" : "LOGIN";
	pop3_sasl_start(args[0], ir, &s->sasl, &s->user, &out);
	sasl_act(s, &out);
	if (ir != NULL)
		wipe(args[1], strlen(args[1]));
}
