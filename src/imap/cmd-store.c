/*
 * STORE and UID STORE (RFC 9051 6.4.6): FLAGS, +FLAGS, -FLAGS, .SILENT.
 * Without .SILENT every message in the set is answered with its new flags
 * (read back after the commit, so concurrent changes are included).
 *
 * CONDSTORE (RFC 7162 3.1.3): the UNCHANGEDSINCE modifier stores only on
 * messages whose MODSEQ is not above it; the others are listed in
 * "OK [MODIFIED set]". With CONDSTORE on, the FETCH responses carry
 * MODSEQ, and .SILENT still reports the new MODSEQ of each message this
 * STORE changed (the client needs it to stay in step).
 */
#include "imap/imap-uidonly.h" /* UIDONLY */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-flags.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-op.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store-imap.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct store_ctx {
	struct store_op op;
	uint32_t *uids;
	size_t nuids;
	char *keywords;
	bool silent;
	uint32_t limit_lowest;	/* MESSAGELIMIT cut the set: lowest UID kept */
};

static void cleanup(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->uids);
	free(ctx->keywords);
	free(ctx);
}

/* Are the message's new system flags exactly what our STORE makes of the
 * flags the view had? (Keywords are compared by the store op itself.) */
static bool own_change(const struct store_ctx *ctx, const struct store_msg *m, uint32_t prev)
{
	uint32_t want = ctx->op.u.flags.mode == STORE_FLAGS_REPLACE ? ctx->op.u.flags.flags
			: ctx->op.u.flags.mode == STORE_FLAGS_ADD    ? prev | ctx->op.u.flags.flags
								     : prev & ~ctx->op.u.flags.flags;
	return (m->flags & STORE_FLAGS_ALL) == (want & STORE_FLAGS_ALL);
}

/* The tagged reply, with MODIFIED (RFC 7162 3.1.3) in the command's
 * numbering: UIDs for UID STORE, sequence numbers otherwise. */
static void finish(struct imap_cmd *cmd, const uint32_t *modified, size_t nmodified)
{
	struct imap_view *v = cmd->s->view;
	const struct store_ctx *ctx = cmd->ctx;
	uint32_t lowest = ctx != NULL ? ctx->limit_lowest : 0;
	if (nmodified == 0 || v == NULL) {
		if (lowest != 0)
			imap_messagelimit_ok(cmd, lowest, NULL, "STORE completed");
		else
			imap_cmd_ok(cmd, "STORE completed");
		return;
	}
	uint32_t *nums = xmalloc(nmodified * sizeof(*nums));
	size_t n = 0;
	for (size_t i = 0; i < nmodified; i++) {
		uint32_t seq = imap_view_seq(v, modified[i]);
		if (seq != 0)
			nums[n++] = cmd->a.uid ? modified[i] : seq;
	}
	imap_uids_sort(nums, n);
	char *set = imap_seqset_format_list(nums, n);
	free(nums);
	if (n > 0 && lowest != 0) {
		char *code = xasprintf("MODIFIED %s", set);
		imap_messagelimit_ok(cmd, lowest, code, "Conditional STORE failed");
		free(code);
	} else if (n > 0) {
		imap_cmd_ok(cmd, "[MODIFIED %s] Conditional STORE failed", set);
	} else if (lowest != 0) {
		imap_messagelimit_ok(cmd, lowest, NULL, "STORE completed");
	} else {
		imap_cmd_ok(cmd, "STORE completed");
	}
	free(set);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct store_ctx *ctx = cmd->ctx;
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, "STORE failed");
		return;
	}
	struct store_msg *msgs = NULL;
	size_t n = 0;
	if (v != NULL && ctx->nuids > 0 &&
	    store_imap_messages_range(s->srv->store, s->account_id, v->mailbox_id, ctx->uids[0],
				      ctx->uids[ctx->nuids - 1], &msgs, &n) == STORE_OK) {
		struct buf b;
		buf_init(&b, SIZE_MAX);
		for (size_t j = 0; j < n; j++) {
			/* RFC 9738 3.1: a cut set answers from the highest UID down */
			size_t i = ctx->limit_lowest != 0 ? n - 1 - j : j;
			/* only messages of the set (the range may hold others) */
			if (!imap_uids_contain(ctx->uids, ctx->nuids, msgs[i].uid))
				continue;
			uint32_t seq = imap_view_seq(v, msgs[i].uid);
			if (seq == 0)
				continue;
			struct imap_view_msg *vm = &v->msgs[seq - 1];
			uint32_t prev_flags = vm->flags;
			bool changed = vm->flags != msgs[i].flags ||
				       strcmp(vm->keywords ? vm->keywords : "",
					      msgs[i].keywords ? msgs[i].keywords : "") != 0;
			vm->flags = msgs[i].flags;
			free(vm->keywords);
			vm->keywords = msgs[i].keywords;
			msgs[i].keywords = NULL;
			imap_view_announce_keywords(s, vm->keywords); /* RFC 3501 7.2.6 */
			vm->modseq = msgs[i].modseq;
			bool ours = imap_uids_contain(op->u.flags.changed, op->u.flags.nchanged, vm->uid);
			bool refused = imap_uids_contain(op->u.flags.modified, op->u.flags.nmodified, vm->uid);
			/* .SILENT (RFC 9051 6.4.6): no FETCH for our own change. A
			 * flag another session changed on this message meanwhile
			 * is still announced, since the view did not know it; so
			 * is a message UNCHANGEDSINCE refused whose flags the view
			 * did not know. */
			bool news = changed && (refused || !own_change(ctx, &msgs[i], prev_flags));
			if ((ctx->silent || refused) && !news) {
				/* RFC 7162 3.1.3: MODSEQ of our change even so */
				if (s->condstore && ours) {
					buf_reset(&b);
					imap_uidonly_fetch_start(s, &b, seq, vm->uid); /* UIDONLY */
					if (cmd->a.uid)
						buf_printf(&b, "UID %u ", vm->uid);
					buf_printf(&b, "MODSEQ (%llu))\r\n",
						   (unsigned long long)vm->modseq);
					imap_write(s, b.data, b.len);
				}
				continue;
			}
			buf_reset(&b);
			imap_uidonly_fetch_start(s, &b, seq, vm->uid); /* UIDONLY */
			if (cmd->a.uid)
				buf_printf(&b, "UID %u ", vm->uid);
			buf_puts(&b, "FLAGS (");
			imap_view_format_flags(s, &b, vm);
			buf_putc(&b, ')');
			if (s->condstore)
				buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)vm->modseq);
			buf_puts(&b, ")\r\n");
			imap_write(s, b.data, b.len);
		}
		buf_free(&b);
		store_msg_list_free(msgs, n);
	}
	finish(cmd, op->u.flags.modified, op->u.flags.nmodified);
}

void cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	const struct imap_command_args *a = &cmd->a;
	size_t i = 1;
	if (a->count < 3 || a->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "STORE needs a set, an item and flags");
		return;
	}
	bool conditional = false;
	uint64_t unchangedsince = 0;
	if (a->args[1].type == IMAP_ARG_LIST) {
		/* store-modifiers (RFC 4466 2.5): only UNCHANGEDSINCE, once */
		const struct imap_arg *l = &a->args[1];
		if (a->count < 4 || l->count != 2 || !imap_arg_is_atom(&l->list[0], "UNCHANGEDSINCE") ||
		    imap_modseq_parse(&l->list[1], true, &unchangedsince) < 0) {
			imap_cmd_bad(cmd, "STORE modifiers: (UNCHANGEDSINCE mod-sequence) below 2^63");
			return;
		}
		conditional = true;
		i = 2;
		imap_condstore_enable(s);
	}
	const char *item = a->args[i].str;
	enum store_flags_mode mode = STORE_FLAGS_REPLACE;
	if (a->args[i].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Bad STORE item");
		return;
	}
	if (*item == '+' || *item == '-') {
		mode = *item == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		item++;
	}
	bool silent = false;
	if (strcasecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else if (strcasecmp(item, "FLAGS") != 0) {
		imap_cmd_bad(cmd, "Bad STORE item");
		return;
	}
	/* flags: one list, or bare flag atoms */
	struct imap_arg tmp = {.type = IMAP_ARG_LIST};
	const struct imap_arg *flags_arg = &a->args[i + 1];
	if (!(a->count == i + 2 && flags_arg->type == IMAP_ARG_LIST)) {
		tmp.list = &a->args[i + 1];
		tmp.count = a->count - i - 1;
		flags_arg = &tmp;
	}
	uint32_t flags;
	char *keywords;
	const char *error;
	if (imap_flags_parse(flags_arg, &flags, &keywords, &error) < 0) {
		/* a well-formed list over a limit is NO [LIMIT] (RFC 5530) */
		imap_cmd_finish(cmd, strncmp(error, "[LIMIT]", 7) == 0 ? "NO" : "BAD", "%s", error);
		return;
	}
	if (v->readonly) {
		free(keywords);
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	struct store_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->keywords = keywords;
	ctx->silent = silent;
	if (imap_view_uids(v, a->args[0].str, a->uid, &ctx->uids, &ctx->nuids) < 0) {
		imap_cmd_bad(cmd, "Invalid sequence set");
		return;
	}
	if (ctx->nuids == 0) {
		imap_cmd_ok(cmd, "STORE completed");
		return;
	}
	ctx->limit_lowest = imap_messagelimit_cut(s, ctx->uids, &ctx->nuids);
	if (conditional && unchangedsince == 0) {
		/* RFC 7162 3.1.3: UNCHANGEDSINCE 0 fails for every message
		 * (all have a MODSEQ); the store reads 0 as "no condition" */
		finish(cmd, ctx->uids, ctx->nuids);
		return;
	}
	store_op_init(&ctx->op, STORE_OP_FLAGS);
	ctx->op.u.flags.account_id = s->account_id;
	ctx->op.u.flags.mailbox_id = v->mailbox_id;
	ctx->op.u.flags.uids = ctx->uids;
	ctx->op.u.flags.nuids = ctx->nuids;
	ctx->op.u.flags.mode = mode;
	ctx->op.u.flags.flags = flags;
	ctx->op.u.flags.keywords = keywords;
	ctx->op.u.flags.unchangedsince = unchangedsince;
	imap_op_submit(cmd, &ctx->op, done);
}
