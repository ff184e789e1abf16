/*
 * AUTHENTICATE (RFC 9051 6.2.2) with PLAIN (RFC 4616) and LOGIN, and an
 * initial response (SASL-IR, RFC 4959). Responses arrive as lines while the
 * command runs; "*" cancels.
 */
#include "imap/imap-auth.h"
#include "imap/imap-commands.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "mail/sasl.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct auth_ctx {
	bool plain;
	char *user;	/* LOGIN: after the first response */
};

static void cleanup(struct imap_cmd *cmd)
{
	struct auth_ctx *ctx = cmd->ctx;
	free(ctx->user);
	free(ctx);
}

static void try_login(struct imap_cmd *cmd, const char *user, char *pass)
{
	cmd->on_line = NULL;
	if (cmd->s->conn != NULL)
		conn_pause(cmd->s->conn);
	imap_auth_attempt(cmd, user, pass);
	/* cmd may be gone now; only our copies remain to wipe */
}

/* One client response (base64), from the command line or a later line. */
static void response(struct imap_cmd *cmd, const char *b64, size_t len)
{
	struct auth_ctx *ctx = cmd->ctx;
	if (len == 1 && b64[0] == '*') {
		imap_cmd_bad(cmd, "Authentication cancelled");
		return;
	}
	if (len > SASL_MAX_RESPONSE) {
		imap_cmd_bad(cmd, "[TOOBIG] SASL response too long");
		return;
	}
	if (len == 1 && b64[0] == '=')
		len = 0; /* SASL-IR: empty initial response */
	if (ctx->plain) {
		char *authz, *user, *pass;
		if (sasl_plain_decode(b64, len, &authz, &user, &pass) < 0) {
			imap_cmd_bad(cmd, "Invalid SASL PLAIN response");
			return;
		}
		if (*authz != '\0' && strcmp(authz, user) != 0) {
			wipe(pass, strlen(pass));
			free(pass);
			free(authz);
			free(user);
			imap_cmd_no(cmd, "[AUTHORIZATIONFAILED] Cannot act as another user");
			return;
		}
		try_login(cmd, user, pass);
		wipe(pass, strlen(pass));
		free(pass);
		free(authz);
		free(user);
		return;
	}
	char *text;
	if (sasl_login_decode(b64, len, &text) < 0) {
		imap_cmd_bad(cmd, "Invalid SASL LOGIN response");
		return;
	}
	if (ctx->user == NULL) {
		ctx->user = text;
		imap_printf(cmd->s, "+ UGFzc3dvcmQ6\r\n"); /* "Password:" */
		return;
	}
	char *user = xstrdup(ctx->user);
	try_login(cmd, user, text);
	wipe(text, strlen(text));
	free(text);
	free(user);
}

static void on_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	response(cmd, line, len);
}

void cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->a.count < 1 || cmd->a.count > 2 || cmd->a.args[0].type != IMAP_ARG_ATOM ||
	    (cmd->a.count == 2 && cmd->a.args[1].type != IMAP_ARG_ATOM)) {
		imap_cmd_bad(cmd, "AUTHENTICATE needs a mechanism name");
		return;
	}
	const char *mech = cmd->a.args[0].str;
	if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0) {
		imap_cmd_no(cmd, "Unsupported authentication mechanism");
		return;
	}
	if (!conn_plaintext_auth_ok(s->conn)) {
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
		return;
	}
	struct auth_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->plain = strcasecmp(mech, "PLAIN") == 0;
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	cmd->on_line = on_line;
	if (cmd->a.count == 2) {
		response(cmd, cmd->a.args[1].str, cmd->a.args[1].len);
		return;
	}
	imap_printf(s, ctx->plain ? "+ \r\n" : "+ VXNlcm5hbWU6\r\n"); /* "Username:" */
}
