/*
 * imap-session: connection callbacks and dispatch. Framing (lines and
 * literals into commands, with their limits) is imap-framing.c: this file
 * feeds it what the connection delivers and carries out its actions.
 */
#include "imap/imap-uidonly.h" /* UIDONLY */
#include "imap/imap-session.h"
#include "imap/imap-context.h"
#include "imap/imap-commands.h"
#include "imap/imap-sync.h"
#include "imap/imap-notify.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/membudget.h"
#include "lib/metrics.h"
#include "lib/registry.h"
#include "mail/imap-quote.h"
#include "mail/mailbox-name.h"
#include "store/store.h"
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct imap_server imap_server_settings;

static void session_free(struct imap_session *s);

void imap_session_ref(struct imap_session *s)
{
	s->refs++;
}

bool imap_session_unref(struct imap_session *s)
{
	if (--s->refs > 0)
		return s->conn != NULL;
	session_free(s);
	return false;
}

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	if (s->conn != NULL)
		conn_write(s->conn, data, len);
}

void imap_printf(struct imap_session *s, const char *fmt, ...)
{
	if (s->conn == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	conn_puts(s->conn, text);
	free(text);
}

void imap_session_bye(struct imap_session *s, const char *text)
{
	/* One BYE: nothing may follow it (RFC 9051 7.1.5), not even a second
	 * BYE when the account ends a session its mailbox already ended. */
	if (s->conn == NULL || s->state == IMAP_STATE_LOGOUT)
		return;
	imap_printf(s, "* BYE %s\r\n", text);
	s->state = IMAP_STATE_LOGOUT;
	conn_close(s->conn);
}

void imap_capabilities(struct imap_session *s, struct buf *b)
{
	buf_puts(b, "IMAP4rev2 IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE");
	if (s->state == IMAP_STATE_NOAUTH) {
		if (s->conn && conn_tls_available(s->conn) && !conn_tls_active(s->conn))
			buf_puts(b, " STARTTLS");
		if (s->conn && !conn_plaintext_auth_ok(s->conn))
			buf_puts(b, " LOGINDISABLED");
		else
			buf_puts(b, " AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN");
		return;
	}
	buf_puts(b, " NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE CREATE-SPECIAL-USE"
		    " LIST-EXTENDED LIST-STATUS STATUS=SIZE ESEARCH SEARCHRES BINARY"
		    " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE");
	/* RFC 5256, 5957, 5267: cmd-sort.c, cmd-thread.c */
	buf_puts(b, " SORT SORT=DISPLAY THREAD=REFERENCES THREAD=ORDEREDSUBJECT ESORT");
	/* RFC 5267 4: SEARCH/SORT RETURN (UPDATE CONTEXT PARTIAL), imap-context.c */
	buf_puts(b, " CONTEXT=SEARCH CONTEXT=SORT");
	buf_puts(b, " PARTIAL"); /* RFC 9394: imap-return.c, cmd-fetch.c */
	buf_puts(b, " UIDONLY"); /* RFC 9586, imap-uidonly.h */
	buf_puts(b, " UIDBATCHES"); /* RFC 10022, cmd-uidbatches.c */
	buf_puts(b, " CONDSTORE QRESYNC"); /* RFC 7162, imap-condstore.h */
	/* RFC 3502, 8508, 8474, 8514, 8970, 6855: cmd-append.c, cmd-replace.c, cmd-fetch.c */
	buf_puts(b, " MULTIAPPEND REPLACE OBJECTID SAVEDATE PREVIEW UTF8=ACCEPT");
	buf_puts(b, " CATENATE URLAUTH"); /* RFC 4469: imap-append.c; RFC 4467: cmd-urlauth.c */
	buf_puts(b, " WITHIN"); /* RFC 5032: YOUNGER/OLDER, imap-search.c */
	buf_puts(b, " NOTIFY");
	/* RFC 5464: server and mailbox entries, cmd-*metadata.c */
	buf_puts(b, " METADATA METADATA-SERVER");
	if (imap_quota_admins_configured(s))
		buf_puts(b, " QUOTASET"); /* RFC 9208 4.1.3, cmd-quota.c */
	if (s->conn != NULL && !conn_deflate_active(s->conn))
		buf_puts(b, " COMPRESS=DEFLATE");
	if (s->srv->max_message > 0)
		buf_printf(b, " APPENDLIMIT=%lld", (long long)s->srv->max_message);
	if (s->srv->message_limit > 0) /* RFC 9738 3, imap-messagelimit.h */
		buf_printf(b, " MESSAGELIMIT=%u", s->srv->message_limit);
}

/* --- strings --- */

void imap_buf_string(struct buf *b, const char *str, size_t len)
{
	imap_quote_string(b, str, len);
}

void imap_buf_astring(struct buf *b, const char *str, size_t len)
{
	imap_quote_string(b, str, len);
}

void imap_session_buf_string(const struct imap_session *s, struct buf *b, const char *str,
			     size_t len)
{
	if (s->utf8_accept || s->rev2)
		imap_quote_string_utf8(b, str, len);
	else
		imap_quote_string(b, str, len);
}

/* --- mailbox names --- */

char *imap_mailbox_to_wire(struct imap_session *s, const char *name)
{
	char *out;
	if (s->utf8_names || mailbox_name_mutf7_encode(name, &out) < 0)
		return xstrdup(name);
	return out;
}

int imap_mailbox_from_wire(struct imap_session *s, const struct imap_arg *arg, char **name_r,
			   const char **error_r)
{
	char *decoded = NULL;
	if (!imap_arg_is_astring(arg)) {
		*error_r = "Mailbox name must be a string";
		return -1;
	}
	if (arg->len > MAILBOX_NAME_MAX_WIRE || arg->len > STORE_MAX_MAILBOX_NAME * 4) {
		*error_r = "[CANNOT] Mailbox name too long";
		return -1;
	}
	if (memchr(arg->str, '\0', arg->len) != NULL) {
		*error_r = "[CANNOT] Invalid mailbox name";
		return -1;
	}
	if (s->utf8_names) {
		if (!mailbox_name_utf8_valid(arg->str, arg->len)) {
			*error_r = "[CANNOT] Mailbox name is not UTF-8";
			return -1;
		}
		decoded = xstrdup(arg->str);
	} else if (mailbox_name_mutf7_decode(arg->str, &decoded) < 0) {
		/* Some rev1 clients send raw UTF-8: accept it when valid. */
		bool eight_bit = false;
		for (size_t i = 0; i < arg->len; i++)
			eight_bit |= (unsigned char)arg->str[i] >= 0x80;
		if (!eight_bit || !mailbox_name_utf8_valid(arg->str, arg->len)) {
			*error_r = "[CANNOT] Invalid modified UTF-7 mailbox name";
			return -1;
		}
		decoded = xstrdup(arg->str);
	}
	*name_r = mailbox_name_normalize(decoded);
	free(decoded);
	if (!store_mailbox_name_valid(*name_r)) {
		xfree(name_r);
		*error_r = "[CANNOT] Invalid mailbox name";
		return -1;
	}
	return 0;
}

/* --- commands --- */

static void cmd_free(struct imap_cmd *cmd)
{
	if (cmd->cleanup != NULL)
		cmd->cleanup(cmd);
	if (cmd->def != NULL && (cmd->def->flags & IMAP_CMD_SECRET) != 0)
		for (size_t i = 0; i < cmd->a.count; i++)
			if (cmd->a.args[i].str != NULL)
				wipe(cmd->a.args[i].str, cmd->a.args[i].len);
	imap_command_args_clear(&cmd->a);
	membudget_give(cmd->budget_held);
	free(cmd);
}

static void session_free(struct imap_session *s)
{
	if (s->cmd != NULL) {
		cmd_free(s->cmd);
		s->cmd = NULL;
	}
	imap_view_free(&s->view);
	imap_notify_free(&s->notify);
	imap_context_free_all(s);
	registry_remove(&s->reg);
	imap_framer_free(&s->framer);
	free(s->user);
	free(s);
}

/* One more BAD: true when the session has had too many. Before login the
 * budget is small (IMAP_PRELOGIN_MAX_BAD): junk from a client that is not
 * even logged in ends its session quickly. */
static bool count_bad(struct imap_session *s)
{
	++s->bad_count;
	if (s->state == IMAP_STATE_NOAUTH && s->bad_count > IMAP_PRELOGIN_MAX_BAD)
		return true;
	return s->bad_count > s->srv->max_errors;
}

void imap_cmd_finish(struct imap_cmd *cmd, const char *status, const char *fmt, ...)
{
	struct imap_session *s = cmd->s;
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	/* After LOGOUT's "* BYE" only the tagged OK may follow (RFC 9051
	 * 6.1.3): pending updates are dropped, not sent after the BYE. */
	bool logout = s->state == IMAP_STATE_LOGOUT;
	if (s->view != NULL && s->conn != NULL && !logout) {
		bool allow_expunge = cmd->def == NULL || cmd->a.uid ||
				     (cmd->def->flags & IMAP_CMD_NO_EXPUNGE) == 0;
		imap_sync(s, allow_expunge);
	}
	if (!logout)
		imap_notify_flush(s); /* NOTIFY events held back while it ran */
	imap_printf(s, "%s %s %s\r\n", cmd->a.tag ? cmd->a.tag : "*", status, text);
	free(text);
	bool bad = strcmp(status, "BAD") == 0;
	if (s->state != IMAP_STATE_NOAUTH && s->conn != NULL)
		conn_authenticated(s->conn); /* logged in: the login deadline is met */
	if (s->cmd == cmd)
		s->cmd = NULL;
	if (cmd->def != NULL)
		metrics_observe_since("roost_command_duration_seconds", "imap", cmd->def->name,
				      cmd->started_us);
	cmd_free(cmd);
	if (s->conn == NULL)
		return;
	if (bad && count_bad(s)) {
		imap_session_bye(s, "Too many invalid commands");
		return;
	}
	conn_resume(s->conn);
}

static void reply_untagged_or(struct imap_session *s, const char *tag, const char *status,
			      const char *text)
{
	imap_printf(s, "%s %s %s\r\n", tag ? tag : "*", status, text);
	if (strcmp(status, "BAD") == 0 && count_bad(s))
		imap_session_bye(s, "Too many invalid commands");
}

static void execute(struct imap_session *s)
{
	struct imap_cmd *cmd = xcalloc(1, sizeof(*cmd));
	const char *error = NULL;
	cmd->s = s;
	cmd->started_us = metrics_now_us();
	if (imap_parse_command(s->framer.cmd.data ? s->framer.cmd.data : "", s->framer.cmd.len, &cmd->a,
			       &error) < 0) {
		char *tag = NULL, *name = NULL;
		bool uid;
		imap_parser_peek(s->framer.cmd.data ? s->framer.cmd.data : "", s->framer.cmd.len, &tag, &name,
				 &uid);
		imap_framer_reset(&s->framer);
		char *text = xasprintf("Syntax error: %s", error);
		reply_untagged_or(s, tag, "BAD", text);
		free(text);
		free(tag);
		free(name);
		free(cmd);
		return;
	}
	/* The parsed arguments now hold the literals: so does the command. */
	cmd->budget_held = imap_framer_take_budget(&s->framer);
	imap_framer_reset(&s->framer);
	cmd->def = imap_command_find(cmd->a.name);
	s->cmd = cmd;
	if (cmd->def == NULL) {
		imap_cmd_bad(cmd, "Unknown command");
		return;
	}
	if (cmd->a.uid && (cmd->def->flags & IMAP_CMD_UID) == 0) {
		imap_cmd_bad(cmd, "UID not allowed with %s", cmd->def->name);
		return;
	}
	if (imap_uidonly_refuse(cmd)) /* UIDONLY: RFC 9586 3 */
		return;
	if ((cmd->def->states & s->state) == 0) {
		imap_cmd_bad(cmd, "%s not allowed %s", cmd->def->name,
			     s->state == IMAP_STATE_NOAUTH ? "before login"
			     : s->state == IMAP_STATE_AUTH ? "without a selected mailbox"
							   : "in this state");
		return;
	}
	cmd->def->handler(cmd);
	/* Still running: hold further input until it finishes (IDLE and
	 * AUTHENTICATE take lines through cmd->on_line instead). */
	if (s->cmd == cmd && cmd->on_line == NULL && s->conn != NULL)
		conn_pause(s->conn);
}

/* Carry out what the framer decided. */
static void frame_act(struct imap_session *s, struct conn *c, struct imap_frame_action *act)
{
	switch (act->kind) {
	case IMAP_FRAME_NONE:
		break;
	case IMAP_FRAME_LITERAL:
		if (act->continuation)
			imap_printf(s, "+ OK\r\n");
		if (act->literal > 0)
			conn_read_bytes(c, act->literal);
		break;
	case IMAP_FRAME_COMMAND:
		execute(s);
		break;
	case IMAP_FRAME_REPLY:
		reply_untagged_or(s, act->tag, act->status, act->text);
		break;
	case IMAP_FRAME_BYE:
		imap_session_bye(s, act->text);
		break;
	}
	imap_frame_action_clear(act);
}

static void on_line(struct conn *c, char *line, size_t len)
{
	struct imap_session *s = conn_data(c);
	if (s->state == IMAP_STATE_LOGOUT)
		return;
	if (s->cmd != NULL) {
		if (s->cmd->on_line != NULL)
			s->cmd->on_line(s->cmd, line, len);
		return;
	}
	/* Literal limits depend on the login state (imap-framing.h). */
	s->framer.logged_in = s->state != IMAP_STATE_NOAUTH;
	struct imap_frame_action act;
	imap_frame_line(&s->framer, line, len, &act);
	frame_act(s, c, &act);
}

static void on_bytes(struct conn *c, const char *data, size_t len, bool last)
{
	struct imap_session *s = conn_data(c);
	imap_frame_bytes(&s->framer, data, len);
}

static void on_line_too_long(struct conn *c)
{
	struct imap_session *s = conn_data(c);
	if (s->cmd != NULL && s->cmd->on_line != NULL) {
		imap_cmd_bad(s->cmd, "[TOOBIG] Line too long");
		return;
	}
	imap_frame_line_too_long(&s->framer);
}

static void on_line_discarded(struct conn *c, const char *tail, size_t len)
{
	struct imap_session *s = conn_data(c);
	if (s == NULL || s->state == IMAP_STATE_LOGOUT)
		return;
	s->framer.logged_in = s->state != IMAP_STATE_NOAUTH;
	struct imap_frame_action act;
	imap_frame_line_discarded(&s->framer, tail, len, &act);
	frame_act(s, c, &act);
}

static void on_connect(struct conn *c)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->srv = &imap_server_settings;
	s->state = IMAP_STATE_NOAUTH;
	s->refs = 1;
	imap_framer_init(&s->framer, s->srv->max_line, s->srv->max_message);
	conn_set_data(c, s);
	conn_set_line_max(c, s->srv->max_line);
	conn_set_timeout(c, s->srv->timeout_ms);
	struct buf b;
	buf_init(&b, 4096);
	imap_capabilities(s, &b);
	imap_printf(s, "* OK [CAPABILITY %s] Roost IMAP ready\r\n", b.data);
	buf_free(&b);
}

/* The client's COMPRESS stream is corrupt (RFC 4978): say why, then the
 * conn closes. */
static void on_stream_error(struct conn *c)
{
	struct imap_session *s = conn_data(c);
	if (s != NULL)
		imap_session_bye(s, "Malformed compressed data");
}

static void on_timeout(struct conn *c)
{
	struct imap_session *s = conn_data(c);
	imap_session_bye(s, "Autologout; idle for too long");
}

static void on_close(struct conn *c)
{
	struct imap_session *s = conn_data(c);
	if (s == NULL)
		return;
	conn_set_data(c, NULL);
	s->conn = NULL;
	if (s->view != NULL)
		imap_view_free(&s->view); /* stops the watch now */
	imap_notify_free(&s->notify);
	registry_remove(&s->reg);
	imap_session_unref(s);
}

static void on_drain(struct conn *c)
{
	struct imap_session *s = conn_data(c);
	if (s != NULL && s->cmd != NULL && s->cmd->on_drain != NULL)
		s->cmd->on_drain(s->cmd);
}

const struct conn_handler imap_conn_handler = {
	.proto = "imap",
	.on_connect = on_connect,
	.on_line = on_line,
	.on_line_too_long = on_line_too_long,
	.on_line_discarded = on_line_discarded,
	.on_bytes = on_bytes,
	.on_drain = on_drain,
	.on_timeout = on_timeout,
	.on_stream_error = on_stream_error,
	.on_close = on_close,
};
