/*
 * EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, 6.4.9). Only messages the
 * client can see and that carry \Deleted go; the EXPUNGE responses are
 * produced by the sync before the tagged OK. MESSAGELIMIT (RFC 9738 3.1)
 * counts the \Deleted messages of a UID EXPUNGE set and expunges the
 * highest UIDs of them; plain EXPUNGE is never limited.
 */
#include "imap/imap-commands.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-op.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "store/store.h"
#include <stdlib.h>

struct expunge_ctx {
	struct store_op op;
	uint32_t *uids;
	uint32_t limit_lowest;	/* UID EXPUNGE cut by MESSAGELIMIT: lowest UID kept */
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
	const struct expunge_ctx *ctx = cmd->ctx;
	if (ctx->limit_lowest != 0)
		imap_messagelimit_ok(cmd, ctx->limit_lowest, NULL, "EXPUNGE completed");
	else
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
		/* only \Deleted messages are expunged, so only they count
		 * (as the view knows them: the store checks again) */
		uint32_t limit = imap_messagelimit(s);
		if (limit != 0 && n > limit) {
			size_t k = 0;
			for (size_t i = 0; i < n; i++) {
				uint32_t seq = imap_view_seq(v, ctx->uids[i]);
				if (seq != 0 && (v->msgs[seq - 1].flags & STORE_FLAG_DELETED) != 0)
					ctx->uids[k++] = ctx->uids[i];
			}
			n = k;
			ctx->limit_lowest = imap_messagelimit_cut(s, ctx->uids, &n);
			if (n == 0) {
				imap_cmd_ok(cmd, "EXPUNGE completed");
				return;
			}
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
