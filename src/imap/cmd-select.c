/*
 * SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 3501 6.3.1, 6.3.2).
 * A mailbox already selected is closed first, without expunging, and a
 * rev2 client is told so with "OK [CLOSED]".
 */
#include "imap/imap-commands.h"
#include "imap/imap-flags.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
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
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	free(name);
	if (err != STORE_OK) {
		imap_cmd_no(cmd, "%sNo such mailbox",
			    err == STORE_ENOTFOUND ? "[NONEXISTENT] " : "[UNAVAILABLE] ");
		return;
	}
	if (imap_view_open(s, &mb, readonly, &s->view) < 0) {
		store_mailbox_clear(&mb);
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot open mailbox");
		return;
	}
	struct imap_view *v = s->view;
	s->state = IMAP_STATE_SELECTED;
	struct buf b;
	buf_init(&b, 64 * 1024);
	buf_puts(&b, IMAP_SYSTEM_FLAGS);
	collect_keywords(v, &b);
	imap_printf(s, "* %zu EXISTS\r\n", v->count);
	if (!s->rev2) {
		/* \Recent is not tracked: every session sees 0 (RFC 3501 allows
		 * a server to not make messages recent to any session). */
		imap_printf(s, "* 0 RECENT\r\n");
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
	imap_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n", mb.uidvalidity);
	imap_printf(s, "* OK [UIDNEXT %u] Predicted next UID\r\n", mb.uidnext);
	if (s->rev2) {
		char *wire = imap_mailbox_to_wire(s, mb.name);
		buf_init(&b, SIZE_MAX);
		buf_puts(&b, "* LIST () \"/\" ");
		imap_buf_astring(&b, wire, strlen(wire));
		buf_puts(&b, "\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
		free(wire);
	}
	store_mailbox_clear(&mb);
	imap_cmd_ok(cmd, "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "EXAMINE" : "SELECT");
}

void cmd_select(struct imap_cmd *cmd)
{
	do_select(cmd, false);
}

void cmd_examine(struct imap_cmd *cmd)
{
	do_select(cmd, true);
}
