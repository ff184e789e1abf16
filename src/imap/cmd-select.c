/*
 * SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 3501 6.3.1, 6.3.2).
 * A mailbox already selected is closed first, without expunging, and a
 * rev2 client is told so with "OK [CLOSED]". A rev1 SELECT claims the
 * mailbox's unclaimed messages as \Recent (store-recent.h) before answering.
 *
 * CONDSTORE and QRESYNC (RFC 7162): every mailbox has mod-sequences, so
 * HIGHESTMODSEQ is always sent (never NOMODSEQ). The parameter list may
 * hold CONDSTORE (3.1.8) and, once QRESYNC is enabled, QRESYNC (uidvalidity
 * modseq [known-uids [seq-match-data]]) (3.2.5): when the UIDVALIDITY
 * matches, the client is told the UIDs expunged since (VANISHED (EARLIER),
 * from the store's expunge log) and the flags of every message changed
 * since (FETCH UID FLAGS MODSEQ), new ones included. A wrong UIDVALIDITY
 * means a full resync: no VANISHED and no FETCH.
 *
 * The parameters are parsed by imap-select-params.c. seq-match-data
 * (3.2.5.2) is checked (two sets of as many numbers) and then
 * deliberately not used. It exists for servers whose expunge memory is incomplete: a pair (seq, uid)
 * that still matches proves no UID below it vanished, so such a server may
 * leave those out. Roost's expunged table is never pruned, so VANISHED
 * (EARLIER) from the log, limited to known-uids, is already exact; the pairs
 * could only make it smaller when the client's picture is wrong, and then
 * they would hide real expunges from it.
 */
#include "imap/imap-uidonly.h" /* UIDONLY */
#include "imap/imap-commands.h"
#include "imap/imap-objectid.h"
#include "imap/imap-condstore.h"
#include "imap/imap-flags.h"
#include "imap/imap-op.h"
#include "imap/imap-select-params.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store-recent.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

struct select_ctx {
	struct store_mailbox mb;
	struct imap_select_params p;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct select_ctx *ctx = cmd->ctx;
	store_mailbox_clear(&ctx->mb);
	imap_select_params_clear(&ctx->p);
	free(ctx);
}

/* After the usual responses of a QRESYNC SELECT: what changed since the
 * client's modseq (RFC 7162 3.2.5.1). */
static void qresync_reply(struct imap_session *s, const struct imap_select_params *p)
{
	struct imap_view *v = s->view;
	if (p->uidvalidity != v->uidvalidity)
		return;
	if (imap_condstore_vanished_since(s, &p->known, p->modseq) < 0)
		return; /* the FETCHes still help; the client can ask again */
	struct buf b;
	buf_init(&b, SIZE_MAX);
	for (size_t i = 0; i < v->count; i++) {
		const struct imap_view_msg *m = &v->msgs[i];
		if (m->modseq <= p->modseq)
			continue;
		buf_reset(&b);
		imap_uidonly_fetch_start(s, &b, (uint32_t)(i + 1), m->uid); /* UIDONLY */
		buf_printf(&b, "UID %u FLAGS (", m->uid);
		imap_view_format_flags(s, &b, m);
		buf_printf(&b, ") MODSEQ (%llu))\r\n", (unsigned long long)m->modseq);
		imap_write(s, b.data, b.len);
	}
	buf_free(&b);
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
	if (v->known_len)
		buf_printf(&b, " %s", v->known_keywords);
	imap_printf(s, "* %zu EXISTS\r\n", v->count);
	if (!s->rev2) {
		imap_printf(s, "* %zu RECENT\r\n", imap_view_recent_count(v));
		/* UIDONLY: [UNSEEN n] is a sequence number (RFC 9586 3) */
		for (size_t i = 0; i < v->count && !s->uidonly; i++) {
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
	{
		/* RFC 8474 4.1 */
		struct buf id;
		buf_init(&id, IMAP_OBJECTID_MAX + 1);
		imap_objectid_mailbox(&id, mb->id, mb->uidvalidity);
		imap_printf(s, "* OK [MAILBOXID (%s)] Ok\r\n", id.data);
		buf_free(&id);
	}
	/* RFC 4467 6: the URLAUTH mechanisms of this mailbox (cmd-urlauth.c) */
	imap_printf(s, "* OK [URLMECH INTERNAL] Ok\r\n");
	/* every mailbox keeps mod-sequences: HIGHESTMODSEQ always, never
	 * NOMODSEQ (RFC 7162 3.1.2.1) */
	imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)imap_condstore_reported_modseq(v));
	if (ctx->p.condstore || ctx->p.qresync)
		s->condstore = true; /* RFC 7162 3.1.8: a CONDSTORE-enabling command */
	if (s->rev2) {
		char *wire = imap_mailbox_to_wire(s, mb->name);
		buf_init(&b, SIZE_MAX);
		buf_puts(&b, "* LIST () \"/\" ");
		imap_session_buf_string(s, &b, wire, strlen(wire));
		buf_puts(&b, "\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
		free(wire);
	}
	quota_alert(s);
	if (ctx->p.qresync)
		qresync_reply(s, &ctx->p);
	imap_cmd_ok(cmd, "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "EXAMINE" : "SELECT");
}

/* \Recent at SELECT (RFC 3501 2.3.2): this session is the first told of
 * every message in the view that no session has claimed, so it claims
 * them now, before EXISTS goes out. EXAMINE must not take \Recent away
 * from anyone (RFC 3501 6.3.2; 2.3.2: "if the session is read-only,
 * subsequent sessions will also see \Recent set"), so it shows the
 * unclaimed messages as recent without claiming them. A failed claim only
 * costs \Recent: the mailbox is still usable. */
static void select_recent(struct imap_session *s, bool readonly)
{
	struct imap_view *v = s->view;
	uint32_t mark;
	if (readonly) {
		if (store_recent_get(s->srv->store, s->account_id, v->mailbox_id, &mark, NULL) ==
		    STORE_OK)
			imap_view_set_recent(v, mark, UINT32_MAX);
		return;
	}
	uint32_t top = imap_view_max_uid(v);
	if (store_recent_claim(s->srv->store, s->account_id, v->mailbox_id, top, &mark) ==
	    STORE_OK)
		imap_view_set_recent(v, mark, top);
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
	struct imap_select_params params;
	memset(&params, 0, sizeof(params));
	if (cmd->a.count == 2 &&
	    imap_select_params_parse(&cmd->a.args[1], s->qresync, s->uidonly, &params, &error) < 0) {
		imap_select_params_clear(&params);
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (s->view != NULL) {
		imap_view_free(&s->view);
		s->state = IMAP_STATE_AUTH;
		/* RFC 9051 7.1, RFC 7162 3.2.11: the client must know where
		 * the old mailbox's responses end */
		if (s->rev2 || s->qresync)
			imap_printf(s, "* OK [CLOSED] Previous mailbox closed\r\n");
	}
	struct select_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->p = params;
	if (imap_mailbox_from_wire(s, &cmd->a.args[0], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &ctx->mb);
	free(name);
	if (err != STORE_OK) {
		imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such mailbox" : "Cannot open mailbox");
		return;
	}
	if (imap_view_open(s, &ctx->mb, readonly, &s->view) < 0) {
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot open mailbox");
		return;
	}
	s->state = IMAP_STATE_SELECTED;
	if (!s->rev2)
		select_recent(s, readonly);
	select_reply(cmd);
}

void cmd_select(struct imap_cmd *cmd)
{
	do_select(cmd, false);
}

void cmd_examine(struct imap_cmd *cmd)
{
	do_select(cmd, true);
}
