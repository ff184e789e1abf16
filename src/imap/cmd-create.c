/* CREATE (RFC 9051 6.3.4), with "(USE (\Sent))" from CREATE-SPECIAL-USE
 * (RFC 6154 section 3). Missing parents are created by the store. */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <strings.h>

struct create_ctx {
	struct store_op op;
	char *name, *use;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct create_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->name);
	free(ctx->use);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, "CREATE failed");
		return;
	}
	imap_cmd_ok(cmd, "CREATE completed");
}

void cmd_create(struct imap_cmd *cmd)
{
	const char *error;
	char *name;
	const char *use = NULL;
	if (cmd->a.count < 1 || cmd->a.count > 2) {
		imap_cmd_bad(cmd, "CREATE needs a mailbox name");
		return;
	}
	if (cmd->a.count == 2) {
		const struct imap_arg *p = &cmd->a.args[1];
		if (p->type != IMAP_ARG_LIST || p->count != 2 || !imap_arg_is_atom(&p->list[0], "USE") ||
		    p->list[1].type != IMAP_ARG_LIST || p->list[1].count > 1) {
			imap_cmd_bad(cmd, "Bad CREATE parameters");
			return;
		}
		if (p->list[1].count == 1) {
			const struct imap_arg *u = &p->list[1].list[0];
			static const char *const uses[] = {"\\All", "\\Archive", "\\Drafts", "\\Flagged",
							   "\\Junk", "\\Sent", "\\Trash"};
			for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
				if (u->type == IMAP_ARG_ATOM && strcasecmp(u->str, uses[i]) == 0)
					use = uses[i];
			if (use == NULL) {
				imap_cmd_no(cmd, "[USEATTR] Unsupported special-use attribute");
				return;
			}
		}
	}
	if (imap_mailbox_from_wire(cmd->s, &cmd->a.args[0], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	struct create_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->name = name;
	ctx->use = use ? xstrdup(use) : NULL;
	store_op_init(&ctx->op, STORE_OP_MAILBOX_CREATE);
	ctx->op.u.mailbox.account_id = cmd->s->account_id;
	ctx->op.u.mailbox.name = ctx->name;
	ctx->op.u.mailbox.special_use = ctx->use;
	imap_op_submit(cmd, &ctx->op, done);
}
