/*
 * REPLACE and UID REPLACE (RFC 8508): append a new message to a mailbox
 * and expunge one message of the selected mailbox, atomically: one
 * STORE_OP_MULTI holding the delivery and the expunge, so both are stored
 * or neither. The old message goes even without \Deleted (RFC 8508 3.3).
 * The APPENDUID comes in an untagged OK before the EXISTS and EXPUNGE (or
 * VANISHED) responses, which the sync sends before the tagged OK.
 */
#include "imap/imap-append.h"
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

struct replace_ctx {
	struct imap_append_msg msg;
	struct store_op expunge, multi;
	struct store_op *subs[2];
	uint32_t old_uid;
	uint64_t view_id;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct replace_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->multi);
	imap_append_msg_clear(&ctx->msg);
	store_op_clear(&ctx->expunge);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct replace_ctx *ctx = cmd->ctx;
	struct imap_view *v = cmd->s->view;
	enum store_err err = op->err != STORE_OK ? op->err : ctx->msg.target.err;
	if (err != STORE_OK) {
		imap_op_fail(cmd, err, "REPLACE failed");
		return;
	}
	imap_printf(cmd->s, "* OK [APPENDUID %u %u] Replacement message stored\r\n",
		    ctx->msg.target.uidvalidity, ctx->msg.target.uid);
	const struct store_expunge *x = &ctx->expunge.u.expunge;
	for (size_t i = 0; v != NULL && v->id == ctx->view_id && i < x->nexpunged; i++)
		if (imap_view_seq(v, x->expunged[i]) != 0)
			imap_view_add_pending(v, x->expunged[i]);
	imap_cmd_ok(cmd, "REPLACE completed");
}

void cmd_replace(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	const struct imap_command_args *a = &cmd->a;
	const char *error, *status;
	if (a->count < 3 || a->args[0].type != IMAP_ARG_ATOM ||
	    strpbrk(a->args[0].str, ",:$") != NULL) {
		imap_cmd_bad(cmd, "REPLACE needs a message number, a mailbox and a message");
		return;
	}
	uint32_t *uids = NULL;
	size_t nuids = 0;
	if (imap_view_uids(v, a->args[0].str, a->uid, &uids, &nuids) < 0) {
		imap_cmd_bad(cmd, "Invalid message number");
		return;
	}
	uint32_t old_uid = nuids == 1 ? uids[0] : 0;
	free(uids);
	struct replace_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	store_op_init(&ctx->multi, STORE_OP_MULTI);
	store_op_init(&ctx->expunge, STORE_OP_EXPUNGE);
	int64_t mailbox_id = 0;
	bool have_mailbox = imap_append_mailbox(s, &a->args[1], &mailbox_id, &error) == 0;
	const char *mailbox_error = error;
	size_t i = 2;
	if (imap_append_parse(s, a->args, a->count, &i, mailbox_id, &ctx->msg, &status, &error) < 0) {
		imap_cmd_finish(cmd, status, "%s", error);
		return;
	}
	if (i != a->count) {
		imap_cmd_bad(cmd, "REPLACE takes one message");
		return;
	}
	if (old_uid == 0) {
		imap_cmd_no(cmd, "[NONEXISTENT] No such message");
		return;
	}
	if (v->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (!have_mailbox) {
		imap_cmd_no(cmd, "%s", mailbox_error);
		return;
	}
	ctx->old_uid = old_uid;
	ctx->view_id = v->id;
	ctx->msg.op.u.deliver.targets = &ctx->msg.target;
	ctx->expunge.u.expunge.account_id = s->account_id;
	ctx->expunge.u.expunge.mailbox_id = v->mailbox_id;
	ctx->expunge.u.expunge.uids = &ctx->old_uid;
	ctx->expunge.u.expunge.nuids = 1;
	ctx->expunge.u.expunge.only_deleted = false;
	ctx->subs[0] = &ctx->msg.op;
	ctx->subs[1] = &ctx->expunge;
	ctx->multi.u.multi.ops = ctx->subs;
	ctx->multi.u.multi.nops = 2;
	imap_op_submit(cmd, &ctx->multi, done);
}
