/*
 * COPY, MOVE and their UID forms (RFC 9051 6.4.7, 6.4.8; MOVE is RFC
 * 6851). COPYUID (RFC 4315) tells the new UIDs. MOVE sends COPYUID
 * untagged, then the EXPUNGEs, then OK (RFC 6851 section 4.3).
 * MESSAGELIMIT (RFC 9738 3.1): COPY is atomic, so one over the limit is
 * refused whole; MOVE is not, and moves the highest UIDs of the set.
 */
#include "imap/imap-commands.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-op.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "store/store.h"
#include <stdlib.h>

struct copy_ctx {
	struct store_op op;
	uint32_t *uids;
	uint32_t limit_lowest;	/* MOVE cut by MESSAGELIMIT: lowest UID kept */
};

static void cleanup(struct imap_cmd *cmd)
{
	struct copy_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->uids);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct store_copy *c = &op->u.copy;
	const char *verb = c->move ? "MOVE" : "COPY";
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, c->move ? "MOVE failed" : "COPY failed");
		return;
	}
	const struct copy_ctx *ctx = cmd->ctx;
	if (c->ncopied == 0) {
		if (ctx->limit_lowest != 0)
			imap_messagelimit_ok(cmd, ctx->limit_lowest, NULL, "MOVE completed");
		else
			imap_cmd_ok(cmd, "%s completed", verb);
		return;
	}
	char *src = imap_seqset_format_list(c->src_uids, c->ncopied);
	char *dst = imap_seqset_format_list(c->dst_uids, c->ncopied);
	if (c->move) {
		imap_printf(cmd->s, "* OK [COPYUID %u %s %s] Moved\r\n", c->dst_uidvalidity, src, dst);
		struct imap_view *v = cmd->s->view;
		for (size_t i = 0; v != NULL && i < c->ncopied; i++)
			imap_view_add_pending(v, c->src_uids[i]);
		if (ctx->limit_lowest != 0)
			imap_messagelimit_ok(cmd, ctx->limit_lowest, NULL, "MOVE completed");
		else
			imap_cmd_ok(cmd, "MOVE completed");
	} else {
		imap_cmd_ok(cmd, "[COPYUID %u %s %s] COPY completed", c->dst_uidvalidity, src, dst);
	}
	free(src);
	free(dst);
}

static void copy(struct imap_cmd *cmd, bool move)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	const char *error;
	char *name;
	if (cmd->a.count != 2 || cmd->a.args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "A sequence set and a mailbox are needed");
		return;
	}
	if (move && v->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (imap_mailbox_from_wire(s, &cmd->a.args[1], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	free(name);
	if (err != STORE_OK) {
		/* RFC 9051 6.4.7: a missing destination is TRYCREATE */
		if (err == STORE_ENOTFOUND)
			imap_cmd_no(cmd, "[TRYCREATE] No such mailbox");
		else
			imap_store_no(cmd, err, "Cannot read the destination mailbox");
		return;
	}
	int64_t dst = mb.id;
	store_mailbox_clear(&mb);
	struct copy_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	size_t n;
	if (imap_view_uids(v, cmd->a.args[0].str, cmd->a.uid, &ctx->uids, &n) < 0) {
		imap_cmd_bad(cmd, "Invalid sequence set");
		return;
	}
	if (n == 0) {
		imap_cmd_ok(cmd, "%s completed", move ? "MOVE" : "COPY");
		return;
	}
	uint32_t limit = imap_messagelimit(s);
	if (!move && limit != 0 && n > limit) {
		/* the UID a MOVE would have stopped at tells where to split */
		imap_messagelimit_no(cmd, ctx->uids[n - limit], "COPY refused, nothing was copied");
		return;
	}
	if (move)
		ctx->limit_lowest = imap_messagelimit_cut(s, ctx->uids, &n);
	store_op_init(&ctx->op, STORE_OP_COPY);
	ctx->op.u.copy.account_id = s->account_id;
	ctx->op.u.copy.src_mailbox_id = v->mailbox_id;
	ctx->op.u.copy.dst_mailbox_id = dst;
	ctx->op.u.copy.uids = ctx->uids;
	ctx->op.u.copy.nuids = n;
	ctx->op.u.copy.move = move;
	imap_op_submit(cmd, &ctx->op, done);
}

void cmd_copy(struct imap_cmd *cmd)
{
	copy(cmd, false);
}

void cmd_move(struct imap_cmd *cmd)
{
	copy(cmd, true);
}
