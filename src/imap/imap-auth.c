/* imap-auth: see imap-auth.h. */
#include "imap/imap-auth.h"
#include "imap/imap-op.h"
#include "imap/imap-session.h"
#include "auth/auth.h"
#include "auth/auth-scram.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/registry.h"
#include "lib/trace.h"
#include "mail/address.h"
#include "imap/imap-view.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

/* `user del`, `user passwd` or `user disable` (registry.h): the session
 * ends at once, whatever it is doing. */
static void end_session(void *ctx, const char *reason)
{
	imap_session_bye(ctx, reason);
}

/* `roost who`: protocol, client address, selected mailbox (or "-") */
static void describe_session(void *ctx, struct buf *out)
{
	const struct imap_session *s = ctx;
	buf_printf(out, "imap\t%s\t%s%s", s->conn != NULL ? conn_remote_ip(s->conn) : "-",
		   s->view != NULL ? s->view->name : "-",
		   s->view != NULL && s->view->readonly ? " (read-only)" : "");
}

static void login_succeeded(struct imap_cmd *cmd, const char *user, int64_t account_id)
{
	struct imap_session *s = cmd->s;
	/* Registered first, then checked: an admin command committed after
	 * the password check either shows in this read or ends the session
	 * through the registry (both run on this thread). */
	s->reg = registry_add(account_id, end_session, s);
	registry_set_describe(s->reg, describe_session);
	struct store_account a;
	enum store_err err = store_account_get_by_id(s->srv->store, account_id, &a);
	bool disabled = err == STORE_OK && a.disabled;
	char address[ADDRESS_MAX + 1]; /* the account's own spelling: trace.h */
	snprintf(address, sizeof(address), "%s", err == STORE_OK ? a.address : user);
	if (err == STORE_OK)
		store_account_clear(&a);
	if (err != STORE_OK || disabled) {
		registry_remove(&s->reg);
		if (err != STORE_ENOTFOUND && !disabled) {
			imap_store_no(cmd, err, "Try again later");
			return;
		}
		conn_log(s->conn, LOG_INFO, "login refused user=%.64s: account %s", user,
			 disabled ? "disabled" : "deleted");
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	s->account_id = account_id;
	s->user = xstrdup(user);
	s->state = IMAP_STATE_AUTH;
	/* LOGIN, or AUTHENTICATE's mechanism (one offered, or no success) */
	bool login = strcmp(cmd->a.name, "LOGIN") == 0 || cmd->a.count == 0;
	conn_login(s->conn, user, address, login ? "LOGIN" : cmd->a.args[0].str, NULL);
	struct buf b;
	buf_init(&b, 4096);
	imap_capabilities(s, &b);
	imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in", b.data);
	buf_free(&b);
}

/* The user name outlives the caller's buffer; the session reference keeps
 * cmd alive until the answer. */
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
		switch (result) {
		case AUTH_OK:
			login_succeeded(cmd, user, account_id);
			break;
		case AUTH_FAILED:
			imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
			break;
		case AUTH_BLOCKED:
			/* RFC 5530 3: UNAVAILABLE is temporary; no check ran. */
			imap_cmd_no(cmd, "[UNAVAILABLE] Too many failed logins from your address, "
					 "try again later");
			break;
		case AUTH_TEMPFAIL:
			/* the store could not be read: not a failed login */
			imap_store_no(cmd, STORE_ETEMP, "Cannot check the password now, try again");
			break;
		}
	}
	free(user);
}

void imap_auth_attempt(struct imap_cmd *cmd, const char *user, const char *password)
{
	struct imap_session *s = cmd->s;
	if (s->conn == NULL)
		return; /* the client is gone: nobody to answer */
	struct auth_wait *w = xcalloc(1, sizeof(*w));
	w->cmd = cmd;
	w->user = xstrdup(user);
	imap_session_ref(s);
	struct auth_request *req =
		auth_attempt_start(s->srv->store, s->conn, "imap", user, password, login_checked, w);
	(void)req; /* the session reference, not a cancel, covers a close */
}

void imap_auth_login_done(struct imap_cmd *cmd, const char *user, int64_t account_id)
{
	login_succeeded(cmd, user, account_id);
}

struct scram_wait {
	struct imap_cmd *cmd;
	void (*proven)(struct imap_cmd *cmd, int64_t account_id);
};

static void scram_checked(void *ctx, enum auth_result result, int64_t account_id)
{
	struct scram_wait *w = ctx;
	struct imap_cmd *cmd = w->cmd;
	void (*proven)(struct imap_cmd *, int64_t) = w->proven;
	free(w);
	if (!imap_session_unref(cmd->s))
		return;
	switch (result) {
	case AUTH_OK:
		proven(cmd, account_id);
		break;
	case AUTH_FAILED:
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
		break;
	case AUTH_BLOCKED:
		imap_cmd_no(cmd, "[UNAVAILABLE] Too many failed logins from your address, "
				 "try again later");
		break;
	case AUTH_TEMPFAIL:
		imap_store_no(cmd, STORE_ETEMP, "Cannot check the password now, try again");
		break;
	}
}

void imap_auth_scram_final(struct imap_cmd *cmd, struct auth_scram *x, const char *b64,
			   size_t len, void (*proven)(struct imap_cmd *cmd, int64_t account_id))
{
	struct imap_session *s = cmd->s;
	if (s->conn == NULL)
		return;
	struct scram_wait *w = xcalloc(1, sizeof(*w));
	w->cmd = cmd;
	w->proven = proven;
	struct auth_request *req = NULL;
	imap_session_ref(s);
	conn_pause(s->conn);
	switch (auth_scram_final(x, s->srv->store, s->conn, "imap", b64, len, scram_checked, w,
				 &req)) {
	case AUTH_SCRAM_OK:
		return; /* the session reference, not a cancel, covers a close */
	case AUTH_SCRAM_MISMATCH:
		conn_log(s->conn, LOG_INFO, "scram: bad nonce or channel binding");
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
		break;
	default:
		imap_cmd_bad(cmd, "Invalid SCRAM client-final-message");
		break;
	}
	free(w);
	imap_session_unref(s);
}
