/* imap-auth: see imap-auth.h. */
#include "imap/imap-auth.h"
#include "imap/imap-session.h"
#include "auth/auth.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include <stdlib.h>
#include <string.h>

static void login_succeeded(struct imap_cmd *cmd, const char *user, int64_t account_id)
{
	struct imap_session *s = cmd->s;
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
