/*
 * APPEND (RFC 9051 6.3.12) with flags and date, APPENDUID (RFC 4315),
 * literal8 (RFC 3516 BINARY), APPENDLIMIT (RFC 7889: the literal limit is
 * message.max_size, enforced while framing), MULTIAPPEND (RFC 3502: several
 * messages in one command, stored all or none in one STORE_OP_MULTI, with
 * APPENDUID carrying the UID set) and "UTF8 (literal8)" after ENABLE
 * UTF8=ACCEPT (RFC 6855 4). 8-bit header fields need UTF8=ACCEPT or
 * IMAP4rev2 enabled first, else NO (RFC 6855 4; imap-append.c).
 * Over quota: NO [OVERQUOTA]. More messages than MESSAGELIMIT (RFC 9738):
 * NO [MESSAGELIMIT n].
 *
 * One message appended to the \Sent mailbox that is already there, saved
 * within minutes with the same Message-ID and From address (submission's
 * own copy, submission.save_sent), is not stored twice: OK with the
 * existing copy's APPENDUID (store_sent_duplicate, store-auth.h).
 */
#include "imap/imap-append.h"
#include "imap/imap-commands.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store.h"
#include "store/store-auth.h"
#include <stdlib.h>
#include <string.h>

struct append_ctx {
	struct imap_append_msg *msgs;
	size_t nmsgs;
	struct store_op multi;		/* more than one message */
	struct store_op **subs;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct append_ctx *ctx = cmd->ctx;
	if (ctx->nmsgs > 1)
		store_op_clear(&ctx->multi);
	for (size_t i = 0; i < ctx->nmsgs; i++)
		imap_append_msg_clear(&ctx->msgs[i]);
	free(ctx->msgs);
	free(ctx->subs);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct append_ctx *ctx = cmd->ctx;
	enum store_err err = op->err;
	for (size_t i = 0; i < ctx->nmsgs && err == STORE_OK; i++)
		err = ctx->msgs[i].target.err;
	if (err != STORE_OK) {
		imap_op_fail(cmd, err, "APPEND failed");
		return;
	}
	uint32_t *uids = xmalloc(ctx->nmsgs * sizeof(*uids));
	for (size_t i = 0; i < ctx->nmsgs; i++)
		uids[i] = ctx->msgs[i].target.uid;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	imap_append_uid_set(&b, uids, ctx->nmsgs);
	free(uids);
	imap_cmd_ok(cmd, "[APPENDUID %u %s] APPEND completed", ctx->msgs[0].target.uidvalidity,
		    b.data);
	buf_free(&b);
}

/* The message is already in \Sent (see the top): answered, true. */
static bool sent_duplicate(struct imap_cmd *cmd, int64_t mailbox_id, struct imap_append_msg *m)
{
	struct imap_session *s = cmd->s;
	int64_t sent_id = 0;
	uint32_t uidvalidity = 0, uid = 0;
	enum store_err err =
		store_mailbox_special(s->srv->store, s->account_id, "\\Sent", &sent_id, &uidvalidity);
	if (err != STORE_OK || sent_id != mailbox_id)
		return false; /* a failed read only costs the deduplication */
	err = store_sent_duplicate(s->srv->store, s->account_id, mailbox_id,
				   m->op.u.deliver.data, m->op.u.deliver.len, &uid);
	if (err != STORE_OK || uid == 0)
		return false;
	imap_cmd_ok(cmd, "[APPENDUID %u %u] APPEND completed (already saved)", uidvalidity, uid);
	return true;
}

void cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_command_args *a = &cmd->a;
	const char *error, *status;
	if (a->count < 2) {
		imap_cmd_bad(cmd, "APPEND needs a mailbox and a message");
		return;
	}
	/* Syntax before the mailbox lookup: a BAD beats a NO [TRYCREATE]. */
	int64_t mailbox_id = 0;
	bool have_mailbox = imap_append_mailbox(s, &a->args[0], &mailbox_id, &error) == 0;
	const char *mailbox_error = error;
	struct append_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	size_t cap = 0;
	uint32_t limit = imap_messagelimit(s);
	for (size_t i = 1; i < a->count;) {
		/* MESSAGELIMIT (RFC 9738 3.1): a MULTIAPPEND is all or none, so
		 * more messages than the limit is refused whole */
		if (limit != 0 && ctx->nmsgs == limit) {
			imap_messagelimit_no(cmd, 0, "APPEND refused, nothing was appended");
			return;
		}
		if (ctx->nmsgs == IMAP_APPEND_MAX_MESSAGES) {
			imap_cmd_no(cmd, "[LIMIT] Too many messages in one APPEND");
			return;
		}
		ctx->msgs = xgrow(ctx->msgs, &cap, ctx->nmsgs + 1, sizeof(*ctx->msgs));
		if (imap_append_parse(s, a->args, a->count, &i, mailbox_id, &ctx->msgs[ctx->nmsgs],
				      &status, &error) < 0) {
			/* the text may be the message's own (a CATENATE BADURL) */
			char *text = xstrdup(error);
			imap_append_msg_clear(&ctx->msgs[ctx->nmsgs]);
			imap_cmd_finish(cmd, status, "%s", text);
			free(text);
			return;
		}
		ctx->nmsgs++;
	}
	if (!have_mailbox) {
		imap_cmd_no(cmd, "%s", mailbox_error);
		return;
	}
	/* msgs[] moved while it grew; now it stays: point at the targets. */
	for (size_t i = 0; i < ctx->nmsgs; i++)
		ctx->msgs[i].op.u.deliver.targets = &ctx->msgs[i].target;
	if (ctx->nmsgs == 1) {
		if (sent_duplicate(cmd, mailbox_id, &ctx->msgs[0]))
			return;
		imap_op_submit(cmd, &ctx->msgs[0].op, done);
		return;
	}
	ctx->subs = xmalloc(ctx->nmsgs * sizeof(*ctx->subs));
	for (size_t i = 0; i < ctx->nmsgs; i++)
		ctx->subs[i] = &ctx->msgs[i].op;
	store_op_init(&ctx->multi, STORE_OP_MULTI);
	ctx->multi.u.multi.ops = ctx->subs;
	ctx->multi.u.multi.nops = ctx->nmsgs;
	imap_op_submit(cmd, &ctx->multi, done);
}
