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
 * seq-match-data (3.2.5.2) is parsed and then deliberately not used. It
 * exists for servers whose expunge memory is incomplete: a pair (seq, uid)
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
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store-recent.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

/* Distinct keywords in use, for the FLAGS response. */
/* The parameters of SELECT/EXAMINE (RFC 7162 3.1.8, 3.2.5). */
struct select_params {
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known;	/* known-uids; 1:4294967295 when absent */
};

struct select_ctx {
	struct store_mailbox mb;
	struct select_params p;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct select_ctx *ctx = cmd->ctx;
	store_mailbox_clear(&ctx->mb);
	imap_seqset_clear(&ctx->p.known);
	free(ctx);
}

/* "(QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))" or
 * "(CONDSTORE)". -1 with a static text for BAD. */
static int parse_qresync(const struct imap_arg *l, struct select_params *p, const char **error_r)
{
	uint64_t n;
	*error_r = "QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]])";
	if (l->type != IMAP_ARG_LIST || l->count < 2 || l->count > 4 ||
	    l->list[0].type != IMAP_ARG_ATOM ||
	    imap_parse_number(l->list[0].str, UINT32_MAX, &n) < 0 || n == 0)
		return -1;
	p->uidvalidity = (uint32_t)n;
	/* a modseq of 0 is taken as "everything", like CHANGEDSINCE 0 */
	if (imap_modseq_parse(&l->list[1], true, &p->modseq) < 0) {
		*error_r = "QRESYNC needs a mod-sequence value below 2^63";
		return -1;
	}
	imap_seqset_clear(&p->known);
	if (l->count >= 3) {
		const struct imap_arg *k = &l->list[2];
		/* '*' has no meaning in known-uids; taken as the largest UID */
		if (k->type != IMAP_ARG_ATOM || imap_seqset_parse(k->str, UINT32_MAX, &p->known) < 0 ||
		    p->known.saved) {
			*error_r = "Invalid known-uids";
			return -1;
		}
	} else {
		imap_seqset_add(&p->known, 1, UINT32_MAX);
	}
	if (l->count == 4) {
		const struct imap_arg *m = &l->list[3];
		struct imap_seqset a, b;
		if (m->type != IMAP_ARG_LIST || m->count != 2 || m->list[0].type != IMAP_ARG_ATOM ||
		    m->list[1].type != IMAP_ARG_ATOM) {
			*error_r = "Invalid seq-match-data";
			return -1;
		}
		int ra = imap_seqset_parse(m->list[0].str, UINT32_MAX, &a);
		int rb = ra < 0 ? -1 : imap_seqset_parse(m->list[1].str, UINT32_MAX, &b);
		if (ra == 0)
			imap_seqset_clear(&a);
		if (rb == 0)
			imap_seqset_clear(&b);
		if (ra < 0 || rb < 0) {
			*error_r = "Invalid seq-match-data";
			return -1;
		}
	}
	p->qresync = true;
	return 0;
}

static int parse_params(struct imap_session *s, const struct imap_arg *l, struct select_params *p,
			const char **error_r)
{
	if (l->type != IMAP_ARG_LIST) {
		*error_r = "SELECT parameters must be a list";
		return -1;
	}
	for (size_t i = 0; i < l->count; i++) {
		if (imap_arg_is_atom(&l->list[i], "CONDSTORE")) {
			p->condstore = true;
		} else if (imap_arg_is_atom(&l->list[i], "QRESYNC") && i + 1 < l->count &&
			   !p->qresync) {
			/* RFC 7162 3.2.5: BAD unless QRESYNC was enabled */
			if (!s->qresync) {
				*error_r = "QRESYNC must be enabled first (ENABLE QRESYNC)";
				return -1;
			}
			if (parse_qresync(&l->list[++i], p, error_r) < 0)
				return -1;
			/* UIDONLY: seq-match-data holds sequence numbers (RFC 9586 3) */
			if (s->uidonly && l->list[i].count == 4) {
				*error_r = "[UIDREQUIRED] No seq-match-data with UIDONLY";
				return -1;
			}
		} else {
			*error_r = "Unknown SELECT parameter";
			return -1;
		}
	}
	return 0;
}

/* After the usual responses of a QRESYNC SELECT: what changed since the
 * client's modseq (RFC 7162 3.2.5.1). */
static void qresync_reply(struct imap_session *s, const struct select_params *p)
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
	struct select_params params;
	memset(&params, 0, sizeof(params));
	if (cmd->a.count == 2 && parse_params(s, &cmd->a.args[1], &params, &error) < 0) {
		imap_seqset_clear(&params.known);
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
