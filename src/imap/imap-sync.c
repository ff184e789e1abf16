/* imap-sync: see imap-sync.h. */
#include "imap/imap-uidonly.h" /* UIDONLY */
#include "imap/imap-sync.h"
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-context.h"
#include "imap/imap-flags.h"
#include "imap/imap-notify.h"
#include "imap/imap-session.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "store/store-imap.h"
#include "store/store-recent.h"
#include <stdlib.h>
#include <string.h>

static bool same_keywords(const char *a, const char *b)
{
	if (a == NULL || *a == '\0')
		return b == NULL || *b == '\0';
	return b != NULL && strcmp(a, b) == 0;
}

static void send_flags(struct imap_session *s, uint32_t seq, const struct imap_view_msg *m)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	imap_uidonly_fetch_start(s, &b, seq, m->uid); /* UIDONLY */
	buf_printf(&b, "UID %u FLAGS (", m->uid);
	imap_view_format_flags(s, &b, m);
	buf_putc(&b, ')');
	/* RFC 7162 3.1.4: with CONDSTORE on, every FETCH that reports a flag
	 * change carries the message's MODSEQ */
	if (s->condstore)
		buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	buf_puts(&b, ")\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
}

/* \Recent for messages that arrive while selected (RFC 3501 2.3.2): the
 * session about to announce them with EXISTS is the first told of them, so
 * it claims them now (an immediate claim, store-recent.h), unless it is
 * read-only: then the unclaimed ones are shown recent and left unclaimed.
 * `first` is the index of the first message new to the view. */
static void recent_new_messages(struct imap_session *s, size_t first)
{
	struct imap_view *v = s->view;
	uint32_t top = imap_view_max_uid(v), mark;
	enum store_err err = v->readonly
		? store_recent_get(s->srv->store, s->account_id, v->mailbox_id, &mark, NULL)
		: store_recent_claim(s->srv->store, s->account_id, v->mailbox_id, top, &mark);
	if (err != STORE_OK)
		return; /* only \Recent is lost */
	for (size_t i = first; i < v->count; i++)
		v->msgs[i].recent = v->msgs[i].uid > mark;
}

/* The selected mailbox was deleted or renamed by someone else: RFC 2180
 * 3.2 lets the server allow that and disconnect the sessions that had it
 * selected, with an untagged BYE (what Dovecot does too). Nothing of the
 * mailbox is sent after this, so a stale view can never show what later
 * lands under its id or its name. */
static void selected_gone(struct imap_session *s, const char *what)
{
	char *text = xasprintf("Selected mailbox was %s, please reconnect", what);
	conn_log(s->conn, LOG_INFO, "selected mailbox %s: closing", what);
	imap_session_bye(s, text);
	free(text);
}

void imap_sync(struct imap_session *s, bool allow_expunge)
{
	struct imap_view *v = s->view;
	if (v == NULL || s->conn == NULL || s->state == IMAP_STATE_LOGOUT)
		return;
	uint64_t highest;
	uint32_t uidnext;
	enum store_err err = store_imap_mailbox_modseq(s->srv->store, s->account_id, v->mailbox_id,
						       &highest, &uidnext);
	if (err == STORE_ENOTFOUND)
		selected_gone(s, "deleted");
	if (err != STORE_OK)
		return;
	size_t added = 0;
	bool vanished_sent = false;
	uint32_t *flag_uids = NULL;
	size_t nflag = 0, flag_cap = 0;
	if (highest > v->modseq) {
		struct store_msg *changed = NULL;
		uint32_t *vanished = NULL;
		size_t nchanged = 0, nvanished = 0;
		err = store_mailbox_changes(s->srv->store, s->account_id, v->mailbox_id, v->modseq,
					    &changed, &nchanged, &vanished, &nvanished);
		if (err == STORE_ENOTFOUND)
			selected_gone(s, "deleted");
		if (err != STORE_OK)
			return;
		for (size_t i = 0; i < nvanished; i++)
			if (imap_view_seq(v, vanished[i]) != 0)
				imap_view_add_pending(v, vanished[i]);
		uint64_t top = highest;
		for (size_t i = 0; i < nchanged; i++) {
			struct store_msg *m = &changed[i];
			if (m->modseq > top)
				top = m->modseq;
			if (imap_view_is_pending(v, m->uid))
				continue;
			uint32_t seq = imap_view_seq(v, m->uid);
			if (seq != 0) {
				struct imap_view_msg *vm = &v->msgs[seq - 1];
				vm->modseq = m->modseq;
				if (vm->flags == m->flags && same_keywords(vm->keywords, m->keywords))
					continue;
				vm->flags = m->flags;
				free(vm->keywords);
				vm->keywords = m->keywords;
				m->keywords = NULL;
				imap_view_announce_keywords(s, vm->keywords); /* RFC 3501 7.2.6 */
				flag_uids = xgrow(flag_uids, &flag_cap, nflag + 1, sizeof(*flag_uids));
				flag_uids[nflag++] = vm->uid;
			} else if (m->uid > imap_view_max_uid(v)) {
				v->msgs = xgrow(v->msgs, &v->cap, v->count + 1, sizeof(*v->msgs));
				struct imap_view_msg *vm = &v->msgs[v->count++];
				vm->uid = m->uid;
				vm->flags = m->flags;
				vm->keywords = m->keywords;
				m->keywords = NULL;
				imap_view_announce_keywords(s, vm->keywords); /* RFC 3501 7.2.6 */
				vm->modseq = m->modseq;
				vm->recent = false;
				added++;
			}
		}
		v->modseq = top;
		store_msg_list_free(changed, nchanged);
		free(vanished);
	}
	if (allow_expunge && v->npending > 0 && (s->qresync || s->uidonly /* RFC 9586 3.2 */)) {
		/* RFC 7162 3.2.10: with QRESYNC on, VANISHED (UIDs, one
		 * response for many) replaces EXPUNGE, under the same rules
		 * on when it may be sent */
		uint32_t *seqs, *gone;
		size_t ngone;
		imap_view_remove_pending(v, &seqs, &gone, &ngone);
		imap_condstore_vanished(s, gone, ngone, false);
		free(seqs);
		free(gone);
		vanished_sent = ngone > 0;
	} else if (allow_expunge && v->npending > 0) {
		/* highest first: each number is then still right when the
		 * client applies it (RFC 3501 7.4.1) */
		uint32_t *seqs, *uids;
		size_t n;
		imap_view_remove_pending(v, &seqs, &uids, &n);
		for (size_t i = n; i-- > 0;)
			imap_printf(s, "* %u EXPUNGE\r\n", seqs[i]);
		free(seqs);
		free(uids);
	}
	/* EXISTS after the EXPUNGEs, so its number is already correct */
	if (added > 0 && !s->rev2)
		recent_new_messages(s, v->count - added);
	if (added > 0)
		imap_printf(s, "* %zu EXISTS\r\n", v->count);
	/* RFC 3501 7.3.2, 7.4.1: RECENT goes with every EXISTS that
	 * announces new messages (rev1 only: RFC 9051 removed it) */
	if (added > 0 && !s->rev2)
		imap_printf(s, "* %zu RECENT\r\n", imap_view_recent_count(v));
	/* NOTIFY without FlagChange for this mailbox: the view follows the
	 * store, the client is not told (RFC 5465 5.3) */
	if (nflag > 0 && (imap_notify_selected_events(s) & IMAP_NOTIFY_FLAG_CHANGE) == 0)
		nflag = 0;
	for (size_t i = 0; i < nflag; i++) {
		uint32_t seq = imap_view_seq(v, flag_uids[i]);
		if (seq != 0)
			send_flags(s, seq, &v->msgs[seq - 1]);
	}
	free(flag_uids);
	imap_context_sync(s); /* RFC 5267 4.3: ADDTO/REMOVEFROM (imap-context.c) */
	/* RFC 7162 3.2.4: MODSEQ values in FETCH (above, or in the command
	 * that just ran) may be newer than an expunge still held back; the
	 * client must be given a HIGHESTMODSEQ below that expunge, or it could
	 * resync past it after losing the connection. Once VANISHED has gone
	 * out, the new resync point follows it. */
	if (s->condstore && (v->npending > 0 || vanished_sent))
		imap_printf(s, "* OK [HIGHESTMODSEQ %llu] %s\r\n",
			    (unsigned long long)imap_condstore_reported_modseq(v),
			    v->npending > 0 ? "Expunges held back" : "Highest");
}

void imap_sync_notify(void *ctx, int64_t mailbox_id, uint64_t highestmodseq)
{
	struct imap_session *s = ctx;
	/* RFC 9051 6.3.13: while IDLE, updates go out as they happen. At other
	 * times they wait for the end of the next command. */
	if (s->cmd != NULL && s->cmd->def != NULL && s->cmd->def->handler == cmd_idle)
		imap_sync(s, true);
}

void imap_sync_mailboxes_notify(void *ctx, int64_t mailbox_id, enum store_mailbox_event event)
{
	struct imap_session *s = ctx;
	struct imap_view *v = s->view;
	if (v == NULL || s->conn == NULL || s->state == IMAP_STATE_LOGOUT)
		return;
	if (event == STORE_MAILBOX_DELETED && mailbox_id == v->mailbox_id) {
		selected_gone(s, "deleted");
		return;
	}
	if (event != STORE_MAILBOX_RENAMED && event != STORE_MAILBOX_DELETED)
		return;
	/* The event names the mailbox the op was about; a parent's RENAME
	 * renames its children without events of their own. So read the
	 * selected mailbox's row and compare. This session's own RENAME has
	 * already updated the view's name (cmd-rename.c). */
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get_by_id(s->srv->store, s->account_id, v->mailbox_id, &mb);
	if (err == STORE_ENOTFOUND) {
		selected_gone(s, "deleted");
		return;
	}
	if (err != STORE_OK)
		return; /* a temporary error: the next sync reads again */
	bool moved = mb.account_id != s->account_id || strcmp(mb.name, v->name) != 0;
	store_mailbox_clear(&mb);
	if (moved)
		selected_gone(s, "renamed");
}
