/*
 * APPEND (RFC 9051 6.3.12) with flags and date, APPENDUID (RFC 4315),
 * literal8 (RFC 3516 BINARY) and APPENDLIMIT (RFC 7889: the literal limit
 * is message.max_size, enforced while framing). Over quota: NO [OVERQUOTA].
 */
#include "imap/imap-commands.h"
#include "imap/imap-date.h"
#include "imap/imap-flags.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

struct append_ctx {
	struct store_op op;
	struct store_target target;
	char *keywords;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct append_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->keywords);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct append_ctx *ctx = cmd->ctx;
	enum store_err err = op->err != STORE_OK ? op->err : ctx->target.err;
	if (err != STORE_OK) {
		imap_op_fail(cmd, err, "APPEND failed");
		return;
	}
	imap_cmd_ok(cmd, "[APPENDUID %u %u] APPEND completed", ctx->target.uidvalidity,
		    ctx->target.uid);
}

void cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_command_args *a = &cmd->a;
	const char *error;
	uint32_t flags = 0;
	char *keywords = NULL;
	int64_t date = 0;
	size_t i = 1;
	if (a->count < 2 || a->count > 4) {
		imap_cmd_bad(cmd, "APPEND needs a mailbox and a message");
		return;
	}
	if (i < a->count - 1 && a->args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(&a->args[i], &flags, &keywords, &error) < 0) {
			imap_cmd_finish(cmd, strncmp(error, "[LIMIT]", 7) == 0 ? "NO" : "BAD", "%s",
					error);
			return;
		}
		i++;
	}
	if (i < a->count - 1) {
		if (a->args[i].type != IMAP_ARG_QUOTED ||
		    imap_date_time_parse(a->args[i].str, &date) < 0) {
			free(keywords);
			imap_cmd_bad(cmd, "Bad date-time");
			return;
		}
		i++;
	}
	const struct imap_arg *msg = &a->args[i];
	if (i != a->count - 1 || msg->type != IMAP_ARG_LITERAL) {
		free(keywords);
		imap_cmd_bad(cmd, "The message must be a literal");
		return;
	}
	if (s->srv->max_message >= 0 && msg->len > (uint64_t)s->srv->max_message) {
		free(keywords);
		imap_cmd_no(cmd, "[TOOBIG] Message too large");
		return;
	}
	char *name;
	if (imap_mailbox_from_wire(s, &a->args[0], &name, &error) < 0) {
		free(keywords);
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	free(name);
	if (err != STORE_OK) {
		free(keywords);
		imap_cmd_no(cmd, "%sNo such mailbox",
			    err == STORE_ENOTFOUND ? "[TRYCREATE] " : "[UNAVAILABLE] ");
		return;
	}
	struct append_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->keywords = keywords;
	ctx->target.account_id = s->account_id;
	ctx->target.mailbox_id = mb.id;
	ctx->target.flags = flags;
	ctx->target.keywords = keywords;
	store_mailbox_clear(&mb);
	store_op_init(&ctx->op, STORE_OP_DELIVER);
	ctx->op.u.deliver.data = msg->str;
	ctx->op.u.deliver.len = msg->len;
	ctx->op.u.deliver.internaldate = date;
	ctx->op.u.deliver.targets = &ctx->target;
	ctx->op.u.deliver.ntargets = 1;
	ctx->op.u.deliver.per_target = false;
	imap_op_submit(cmd, &ctx->op, done);
}
