/*
 * AUTHENTICATE (RFC 9051 6.2.2) with PLAIN (RFC 4616), LOGIN and
 * SCRAM-SHA-256 (RFC 7677; the exchange is auth/auth-scram.h's), and an
 * initial response (SASL-IR, RFC 4959). Responses arrive as lines while the
 * command runs; "*" cancels.
 */
#include "imap/imap-auth.h"
#include "imap/imap-commands.h"
#include "imap/imap-session.h"
#include "auth/auth-scram.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "mail/sasl.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct auth_ctx {
	bool plain;
	char *user;	/* LOGIN: after the first response */
	struct auth_scram *scram;	/* SCRAM-SHA-256 */
	int scram_step;		/* 0 client-first, 1 client-final, 2 the empty ack */
	int64_t scram_account_id;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct auth_ctx *ctx = cmd->ctx;
	free(ctx->user);
	auth_scram_free(&ctx->scram);
	free(ctx);
}

/* The proof was good: the server proves itself (RFC 5802 5), the client
 * answers with an empty line. */
static void scram_proven(struct imap_cmd *cmd, int64_t account_id)
{
	struct auth_ctx *ctx = cmd->ctx;
	ctx->scram_account_id = account_id;
	ctx->scram_step = 2;
	char *b = auth_scram_server_final(ctx->scram);
	imap_printf(cmd->s, "+ %s\r\n", b);
	free(b);
	if (cmd->s->conn != NULL)
		conn_resume(cmd->s->conn);
}

static void scram_response(struct imap_cmd *cmd, const char *b64, size_t len)
{
	struct auth_ctx *ctx = cmd->ctx;
	if (ctx->scram_step == 0) {
		char *challenge = NULL;
		switch (auth_scram_first(ctx->scram, cmd->s->srv->store, b64, len, &challenge)) {
		case AUTH_SCRAM_OK:
			ctx->scram_step = 1;
			imap_printf(cmd->s, "+ %s\r\n", challenge);
			free(challenge);
			return;
		case AUTH_SCRAM_AUTHZID:
			imap_cmd_no(cmd, "[AUTHORIZATIONFAILED] Cannot act as another user");
			return;
		case AUTH_SCRAM_TEMPFAIL:
			imap_cmd_no(cmd, "[UNAVAILABLE] Try again later");
			return;
		default:
			imap_cmd_bad(cmd, "Invalid SCRAM client-first-message");
			return;
		}
	}
	if (ctx->scram_step == 1) {
		ctx->scram_step = 3; /* checking: no more lines are read */
		imap_auth_scram_final(cmd, ctx->scram, b64, len, scram_proven);
		return;
	}
	/* only after scram_proven(): never while the proof is checked */
	if (ctx->scram_step != 2 || len != 0) {
		imap_cmd_bad(cmd, "Expected an empty response");
		return;
	}
	cmd->on_line = NULL;
	char *user = xstrdup(auth_scram_user(ctx->scram));
	imap_auth_login_done(cmd, user, ctx->scram_account_id);
	free(user);
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
	if (ctx->scram != NULL) {
		scram_response(cmd, b64, len);
		return;
	}
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
	bool scram = strcasecmp(mech, "SCRAM-SHA-256") == 0;
	if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0 && !scram) {
		imap_cmd_no(cmd, "Unsupported authentication mechanism");
		return;
	}
	if (!conn_plaintext_auth_ok(s->conn)) {
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
		return;
	}
	struct auth_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->plain = strcasecmp(mech, "PLAIN") == 0;
	if (scram)
		ctx->scram = auth_scram_new();
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	cmd->on_line = on_line;
	if (cmd->a.count == 2) {
		response(cmd, cmd->a.args[1].str, cmd->a.args[1].len);
		return;
	}
	imap_printf(s, ctx->plain || scram ? "+ \r\n" : "+ VXNlcm5hbWU6\r\n"); /* "Username:" */
}
