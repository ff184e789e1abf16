/*
 * SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 3501 6.3.1, 6.3.2).
 * A mailbox already selected is closed first, without expunging, and a
 * rev2 client is told so with "OK [CLOSED]". A rev1 SELECT claims the
 * mailbox's new messages as \Recent (store-recent.h) before answering.
 */
#include "imap/imap-commands.h"
#include "imap/imap-flags.h"
#include "imap/imap-op.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store-recent.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

/* Distinct keywords in use, for the FLAGS response. */
static void collect_keywords(const struct imap_view *v, struct buf *b)
{
	for (size_t i = 0; i < v->count; i++) {
		const char *kw = v->msgs[i].keywords;
		if (kw == NULL)
			continue;
		char *copy = xstrdup(kw), *save = NULL;
		for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			size_t n = strlen(w);
			bool seen = false;
			for (const char *p = b->data; p && (p = strstr(p, w)) != NULL; p += n) {
				if ((p == b->data || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
					seen = true;
					break;
				}
			}
			if (!seen && buf_printf(b, " %s", w) < 0)
				break; /* too many distinct keywords: list what fits */
		}
		free(copy);
	}
}

struct select_ctx {
	struct store_mailbox mb;
	struct store_op op;
	struct store_recent_claim claim;
	bool op_used;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct select_ctx *ctx = cmd->ctx;
	if (ctx->op_used)
		store_op_clear(&ctx->op);
	store_mailbox_clear(&ctx->mb);
	free(ctx);
}

/* RFC 5530 ALERT: a client over quota cannot receive mail; SELECT is where
 * a person is most likely looking, so tell them there. */
static void quota_alert(struct imap_session *s)
{
	struct store_account acct;
	if (store_account_get_by_id(s->srv->store, s->account_id, &acct) != STORE_OK)
		return;
	bool over = (acct.quota_bytes >= 0 && acct.used_bytes >= acct.quota_bytes) ||
		    (acct.quota_messages >= 0 && acct.used_messages >= acct.quota_messages);
	if (over)
		imap_printf(s, "* OK [ALERT] Your mailbox is over its quota: new mail is "
			       "being refused until you delete some messages\r\n");
	store_account_clear(&acct);
}

/* The untagged responses of SELECT/EXAMINE and the tagged OK. */
static void select_reply(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct select_ctx *ctx = cmd->ctx;
	struct imap_view *v = s->view;
	const struct store_mailbox *mb = &ctx->mb;
	bool readonly = v->readonly;
	struct buf b;
	buf_init(&b, 64 * 1024);
	buf_puts(&b, IMAP_SYSTEM_FLAGS);
	collect_keywords(v, &b);
	imap_printf(s, "* %zu EXISTS\r\n", v->count);
	if (!s->rev2) {
		imap_printf(s, "* %zu RECENT\r\n", imap_view_recent_count(v));
		for (size_t i = 0; i < v->count; i++) {
			if ((v->msgs[i].flags & STORE_FLAG_SEEN) == 0) {
				imap_printf(s, "* OK [UNSEEN %zu] First unseen\r\n", i + 1);
				break;
			}
		}
	}
	imap_printf(s, "* FLAGS (%s)\r\n", b.data);
	if (readonly)
		imap_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
	else
		imap_printf(s, "* OK [PERMANENTFLAGS (%s \\*)] Flags permitted\r\n", b.data);
	buf_free(&b);
	imap_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n", mb->uidvalidity);
	imap_printf(s, "* OK [UIDNEXT %u] Predicted next UID\r\n", mb->uidnext);
	if (s->rev2) {
		char *wire = imap_mailbox_to_wire(s, mb->name);
		buf_init(&b, SIZE_MAX);
		buf_puts(&b, "* LIST () \"/\" ");
		imap_buf_astring(&b, wire, strlen(wire));
		buf_puts(&b, "\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
		free(wire);
	}
	quota_alert(s);
	imap_cmd_ok(cmd, "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "EXAMINE" : "SELECT");
}

static void claim_done(struct imap_cmd *cmd, struct store_op *op)
{
	struct select_ctx *ctx = cmd->ctx;
	struct imap_session *s = cmd->s;
	if (s->view == NULL) {
		imap_cmd_no(cmd, "[UNAVAILABLE] Mailbox closed meanwhile");
		return;
	}
	/* A failed claim only costs \Recent: the mailbox is still usable. */
	if (op->err == STORE_OK)
		imap_view_set_recent(s->view, ctx->claim.old_recent_uid, ctx->claim.new_recent_uid);
	select_reply(cmd);
}

static void do_select(struct imap_cmd *cmd, bool readonly)
{
	struct imap_session *s = cmd->s;
	const char *error;
	char *name;
	if (cmd->a.count < 1 || cmd->a.count > 2) {
		imap_cmd_bad(cmd, "A mailbox name is needed");
		return;
	}
	if (cmd->a.count == 2) {
		/* CONDSTORE/QRESYNC parameters come with issue 6 */
		imap_cmd_bad(cmd, "Unsupported SELECT parameters");
		return;
	}
	if (s->view != NULL) {
		imap_view_free(&s->view);
		s->state = IMAP_STATE_AUTH;
		if (s->rev2)
			imap_printf(s, "* OK [CLOSED] Previous mailbox closed\r\n");
	}
	if (imap_mailbox_from_wire(s, &cmd->a.args[0], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	struct select_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &ctx->mb);
	free(name);
	if (err != STORE_OK) {
		imap_cmd_no(cmd, "%sNo such mailbox",
			    err == STORE_ENOTFOUND ? "[NONEXISTENT] " : "[UNAVAILABLE] ");
		return;
	}
	if (imap_view_open(s, &ctx->mb, readonly, &s->view) < 0) {
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot open mailbox");
		return;
	}
	s->state = IMAP_STATE_SELECTED;
	if (s->rev2) {
		select_reply(cmd);
		return;
	}
	if (readonly) {
		/* RFC 3501 6.3.2: EXAMINE must not take \Recent away from
		 * anyone, so it shows the unclaimed messages without claiming */
		uint32_t mark;
		if (store_recent_get(s->srv->store, ctx->mb.id, &mark, NULL) == STORE_OK) {
			imap_view_set_recent(s->view, mark, UINT32_MAX);
			s->view->recent_hi = mark; /* later arrivals stay unclaimed */
		}
		select_reply(cmd);
		return;
	}
	/* Nothing unclaimed (the usual case): no write, no wait for a commit.
	 * Later arrivals are claimed by imap-sync.c. */
	uint32_t mark, unclaimed;
	if (store_recent_get(s->srv->store, ctx->mb.id, &mark, &unclaimed) == STORE_OK &&
	    unclaimed == 0) {
		imap_view_set_recent(s->view, mark, mark);
		select_reply(cmd);
		return;
	}
	store_recent_claim_init(&ctx->op, &ctx->claim);
	ctx->op_used = true;
	ctx->claim.mailbox_id = ctx->mb.id;
	imap_op_submit(cmd, &ctx->op, claim_done);
}

void cmd_select(struct imap_cmd *cmd)
{
	do_select(cmd, false);
}

void cmd_examine(struct imap_cmd *cmd)
{
	do_select(cmd, true);
}
