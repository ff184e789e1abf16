/*
 * EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, 6.4.9). Only messages the
 * client can see and that carry \Deleted go; the EXPUNGE responses are
 * produced by the sync before the tagged OK.
 */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include <stdlib.h>

struct expunge_ctx {
	struct store_op op;
	uint32_t *uids;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct expunge_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->uids);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct imap_view *v = cmd->s->view;
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, "EXPUNGE failed");
		return;
	}
	for (size_t i = 0; v != NULL && i < op->u.expunge.nexpunged; i++)
		if (imap_view_seq(v, op->u.expunge.expunged[i]) != 0)
			imap_view_add_pending(v, op->u.expunge.expunged[i]);
	imap_cmd_ok(cmd, "EXPUNGE completed");
}

void cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	if (cmd->a.count != (cmd->a.uid ? 1u : 0u) ||
	    (cmd->a.uid && cmd->a.args[0].type != IMAP_ARG_ATOM)) {
		imap_cmd_bad(cmd, cmd->a.uid ? "UID EXPUNGE needs a UID set" : "EXPUNGE takes no arguments");
		return;
	}
	if (v->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	struct expunge_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	size_t n = 0;
	if (cmd->a.uid) {
		if (imap_view_uids(v, cmd->a.args[0].str, true, &ctx->uids, &n) < 0) {
			imap_cmd_bad(cmd, "Invalid UID set");
			return;
		}
		if (n == 0) {
			imap_cmd_ok(cmd, "EXPUNGE completed");
			return;
		}
	} else {
		/* Every message this session knows (the store checks \Deleted
		 * on its current flags); never one it was not told about yet. */
		ctx->uids = xmalloc((v->count ? v->count : 1) * sizeof(*ctx->uids));
		for (size_t i = 0; i < v->count; i++)
			ctx->uids[n++] = v->msgs[i].uid;
		if (n == 0) {
			imap_cmd_ok(cmd, "EXPUNGE completed");
			return;
		}
	}
	store_op_init(&ctx->op, STORE_OP_EXPUNGE);
	ctx->op.u.expunge.account_id = s->account_id;
	ctx->op.u.expunge.mailbox_id = v->mailbox_id;
	ctx->op.u.expunge.uids = ctx->uids;
	ctx->op.u.expunge.nuids = n;
	ctx->op.u.expunge.only_deleted = true;
	imap_op_submit(cmd, &ctx->op, done);
}
