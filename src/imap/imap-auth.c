/* imap-auth: see imap-auth.h. */
#include "imap/imap-auth.h"
#include "imap/imap-op.h"
#include "imap/imap-session.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/registry.h"
#include "mail/auth.h"
#include "store/store.h"
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

static void fail_reply(struct imap_cmd *cmd)
{
	imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
}

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct imap_cmd *cmd = arg;
	struct imap_session *s = cmd->s;
	event_free(s->timer);
	s->timer = NULL;
	if (!imap_session_unref(s))
		return;
	fail_reply(cmd);
}

/* The record, the log line and the delayed NO of a failed login. */
static void login_failed(struct imap_cmd *cmd, const char *user)
{
	struct imap_session *s = cmd->s;
	const char *ip = conn_remote_ip(s->conn);
	auth_fail_record(ip);
	/* Logged with the address, never the password (fail2ban). */
	conn_log(s->conn, LOG_WARN, "auth failed user=%.64s", user);
	int64_t ms = auth_fail_delay_ms(ip);
	if (ms <= 0) {
		fail_reply(cmd);
		return;
	}
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	s->timer = evtimer_new(conn_base(s->conn), delay_done, cmd);
	imap_session_ref(s);
	evtimer_add(s->timer, &tv);
}

static void login_succeeded(struct imap_cmd *cmd, const char *user, int64_t account_id);

/* A password check on a worker thread: the user name outlives the
 * caller's buffer; the session reference keeps cmd alive. */
struct auth_wait {
	struct imap_cmd *cmd;
	char *user;
};

static void login_checked(void *ctx, enum auth_result result, int64_t account_id)
{
	struct auth_wait *w = ctx;
	struct imap_cmd *cmd = w->cmd;
	char *user = w->user;
	free(w);
	if (imap_session_unref(cmd->s)) {
		if (result == AUTH_OK)
			login_succeeded(cmd, user, account_id);
		else if (result == AUTH_TEMPFAIL)
			/* the store could not be read: not a failed login */
			imap_cmd_no(cmd, "%sCannot check the password now, try again",
				    imap_store_err_code(STORE_ETEMP));
		else
			login_failed(cmd, user);
	}
	free(user);
}

void imap_auth_attempt(struct imap_cmd *cmd, const char *user, const char *password)
{
	struct imap_session *s = cmd->s;
	if (strlen(user) > AUTH_MAX_USERNAME || strlen(password) > AUTH_MAX_PASSWORD) {
		login_failed(cmd, user);
		return;
	}
	/* yescrypt costs tens of milliseconds: never on the event loop, or
	 * every connection stalls behind a password guesser. */
	struct auth_wait *w = xcalloc(1, sizeof(*w));
	w->cmd = cmd;
	w->user = xstrdup(user);
	imap_session_ref(s);
	struct auth_request *req = auth_login_start(s->srv->store, user, password, login_checked, w);
	(void)req; /* the session reference, not a cancel, covers a close */
}

/* `user del`, `user passwd` or `user disable` (registry.h): the session
 * ends at once, whatever it is doing. */
static void end_session(void *ctx, const char *reason)
{
	imap_session_bye(ctx, reason);
}

static void login_succeeded(struct imap_cmd *cmd, const char *user, int64_t account_id)
{
	struct imap_session *s = cmd->s;
	/* Registered first, then checked: an admin command committed after
	 * the password check either shows in this read or ends the session
	 * through the registry (both run on this thread). */
	s->reg = registry_add(account_id, end_session, s);
	struct store_account a;
	enum store_err err = store_account_get_by_id(s->srv->store, account_id, &a);
	bool disabled = err == STORE_OK && a.disabled;
	if (err == STORE_OK)
		store_account_clear(&a);
	if (err != STORE_OK || disabled) {
		registry_remove(&s->reg);
		if (err == STORE_ETEMP) {
			imap_cmd_no(cmd, "[UNAVAILABLE] Try again later");
			return;
		}
		conn_log(s->conn, LOG_INFO, "login refused user=%.64s: account %s", user,
			 disabled ? "disabled" : "deleted");
		login_failed(cmd, user);
		return;
	}
	auth_fail_clear(conn_remote_ip(s->conn));
	s->account_id = account_id;
	s->user = xstrdup(user);
	s->state = IMAP_STATE_AUTH;
	conn_log(s->conn, LOG_INFO, "login user=%s", user);
	struct buf b;
	buf_init(&b, 4096);
	imap_capabilities(s, &b);
	imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in", b.data);
	buf_free(&b);
}
