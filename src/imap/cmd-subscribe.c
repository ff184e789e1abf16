/* SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8; RFC 3501 6.3.6, 6.3.7).
 * Subscriptions are names: one with no mailbox may be subscribed, and
 * DELETE leaves it on the list (store-op-mailbox.c). */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include <stdlib.h>

struct sub_ctx {
	struct store_op op;
	char *name;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct sub_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->name);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	bool sub = op->u.mailbox.subscribe;
	if (op->err != STORE_OK)
		imap_op_fail(cmd, op->err, sub ? "SUBSCRIBE failed" : "UNSUBSCRIBE failed");
	else
		imap_cmd_ok(cmd, "%s completed", sub ? "SUBSCRIBE" : "UNSUBSCRIBE");
}

static void subscribe(struct imap_cmd *cmd, bool sub)
{
	const char *error;
	char *name;
	if (cmd->a.count != 1) {
		imap_cmd_bad(cmd, "A mailbox name is needed");
		return;
	}
	if (imap_mailbox_from_wire(cmd->s, &cmd->a.args[0], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	struct sub_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->name = name;
	store_op_init(&ctx->op, STORE_OP_MAILBOX_SUBSCRIBE);
	ctx->op.u.mailbox.account_id = cmd->s->account_id;
	ctx->op.u.mailbox.name = name;
	ctx->op.u.mailbox.subscribe = sub;
	imap_op_submit(cmd, &ctx->op, done);
}

void cmd_subscribe(struct imap_cmd *cmd)
{
	subscribe(cmd, true);
}

void cmd_unsubscribe(struct imap_cmd *cmd)
{
	subscribe(cmd, false);
}
