/* RENAME (RFC 9051 6.3.6). Renaming INBOX moves its messages to the new
 * mailbox and leaves INBOX empty (done by the store). */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

struct rename_ctx {
	struct store_op op;
	char *from, *to;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct rename_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->from);
	free(ctx->to);
	free(ctx);
}

/* This session renamed its selected mailbox (or a parent of it): the view
 * follows the new name, so the mailbox-list event that comes after this
 * completion does not end the session (imap-sync.c ends the others). */
static void follow_rename(struct imap_session *s, const char *from, const char *to)
{
	struct imap_view *v = s->view;
	size_t n = strlen(from);
	if (v == NULL || strcmp(from, "INBOX") == 0 || strncmp(v->name, from, n) != 0 ||
	    (v->name[n] != '\0' && v->name[n] != '/'))
		return;
	char *name = xasprintf("%s%s", to, v->name + n);
	free(v->name);
	v->name = name;
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct rename_ctx *ctx = cmd->ctx;
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, "RENAME failed");
		return;
	}
	follow_rename(cmd->s, ctx->from, ctx->to);
	imap_cmd_ok(cmd, "RENAME completed");
}

void cmd_rename(struct imap_cmd *cmd)
{
	const char *error;
	char *from, *to;
	if (cmd->a.count != 2) {
		imap_cmd_bad(cmd, "RENAME needs two mailbox names");
		return;
	}
	if (imap_mailbox_from_wire(cmd->s, &cmd->a.args[0], &from, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	if (imap_mailbox_from_wire(cmd->s, &cmd->a.args[1], &to, &error) < 0) {
		free(from);
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	struct rename_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->from = from;
	ctx->to = to;
	store_op_init(&ctx->op, STORE_OP_MAILBOX_RENAME);
	ctx->op.u.mailbox.account_id = cmd->s->account_id;
	ctx->op.u.mailbox.name = from;
	ctx->op.u.mailbox.new_name = to;
	imap_op_submit(cmd, &ctx->op, done);
}
