/* DELETE (RFC 9051 6.3.5). INBOX cannot be deleted. Deleting this
 * session's own selected mailbox closes it first (as CLOSE would, without
 * expunging; a rev2 or QRESYNC client is told "OK [CLOSED]"), so the
 * session goes on in the authenticated state. Other sessions that had it
 * selected end with BYE (imap-sync.c, RFC 2180 3.2). */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

struct delete_ctx {
	struct store_op op;
	char *name;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct delete_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->name);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	if (op->err != STORE_OK)
		imap_op_fail(cmd, op->err, "DELETE failed");
	else
		imap_cmd_ok(cmd, "DELETE completed");
}

void cmd_delete(struct imap_cmd *cmd)
{
	const char *error;
	char *name;
	if (cmd->a.count != 1) {
		imap_cmd_bad(cmd, "DELETE needs a mailbox name");
		return;
	}
	if (imap_mailbox_from_wire(cmd->s, &cmd->a.args[0], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	if (strcmp(name, "INBOX") == 0) {
		free(name);
		imap_cmd_no(cmd, "[CANNOT] INBOX cannot be deleted");
		return;
	}
	struct imap_session *s = cmd->s;
	if (s->view != NULL && strcmp(s->view->name, name) == 0) {
		imap_view_free(&s->view);
		s->state = IMAP_STATE_AUTH;
		if (s->rev2 || s->qresync)
			imap_printf(s, "* OK [CLOSED] Mailbox closed\r\n");
	}
	struct delete_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->name = name;
	store_op_init(&ctx->op, STORE_OP_MAILBOX_DELETE);
	ctx->op.u.mailbox.account_id = cmd->s->account_id;
	ctx->op.u.mailbox.name = ctx->name;
	imap_op_submit(cmd, &ctx->op, done);
}
