/*
 * smtp-session: session lifetime, replies and error counting, the mail
 * transaction reset, and command dispatch: the checks every command shares
 * (blind pipelining, NUL and 8-bit bytes, the command table's state
 * flags) run here once, so the handlers only do their own job.
 */
#include "smtp/smtp-session.h"
#include "lib/metrics.h"
#include "smtp/smtp-parse.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/membudget.h"
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct smtp_session *smtp_session_new(struct conn *c, const struct smtp_server *srv)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->srv = srv;
	buf_init(&s->txn.data, (size_t)srv->max_size);
	return s;
}

void smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return;
	smtp_txn_reset(s);
	smtp_auth_clear(s);
	buf_free(&s->txn.data);
	if (s->greet_timer != NULL)
		event_free(s->greet_timer);
	free(s->helo);
	free(s);
}

void smtp_session_conn_closed(struct smtp_session *s)
{
	s->conn = NULL;
	if (s->storing) {
		/* The store op still points at our delivery and data: the
		 * completion callback frees the session (smtp-deliver.c). */
		s->closed = true;
		return;
	}
	smtp_session_free(s);
}

static void reply_v(struct smtp_session *s, const char *fmt, va_list ap)
{
	if (s->conn == NULL)
		return;
	char *text = xvasprintf(fmt, ap);
	conn_printf(s->conn, "%s\r\n", text);
	free(text);
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_v(s, fmt, ap);
	va_end(ap);
}

void smtp_close_421(struct smtp_session *s, const char *why)
{
	if (s->conn == NULL || s->quitting)
		return;
	conn_log(s->conn, LOG_INFO, "closing: %s", why);
	smtp_reply(s, "421 4.7.0 %s %s, closing connection", s->srv->hostname, why);
	s->quitting = true;
	conn_close(s->conn);
}

void smtp_reply_error(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_v(s, fmt, ap);
	va_end(ap);
	/* RFC 5321 4.3.2 lets a server drop a client that keeps failing;
	 * it limits dictionary attacks and broken clients looping. */
	if (++s->errors >= s->srv->max_errors && s->srv->max_errors > 0)
		smtp_close_421(s, "Too many errors");
}

void smtp_txn_reset(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	if (t->d_live) {
		delivery_free(&t->d);
		t->d_live = false;
	}
	if (t->sent_live) {
		store_op_clear(&t->sent_op);
		t->sent_live = false;
	}
	for (size_t i = 0; i < t->nrcpts; i++) {
		free(t->rcpts[i].address);
		free(t->rcpts[i].account_ids);
		free(t->rcpts[i].orcpt);
	}
	free(t->rcpts);
	free(t->mail_from);
	free(t->from_domain);
	free(t->envid);
	free(t->dkim_fields);
	free(t->received);
	free(t->id);
	struct buf data = t->data;
	buf_free(&data);
	/* Every end of a transaction comes here (delivered, refused, RSET,
	 * QUIT, the connection gone): the one place its budget goes back. */
	membudget_give(t->budget_held);
	memset(t, 0, sizeof(*t));
	buf_init(&t->data, (size_t)s->srv->max_size);
	s->in_data = false;
}

void smtp_session_reset_helo(struct smtp_session *s)
{
	smtp_txn_reset(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
}

static bool verb_allowed(const struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if ((cmd->flags & SMTP_CMD_SMTP_ONLY) && s->srv->lmtp)
		return false;
	if ((cmd->flags & SMTP_CMD_LMTP_ONLY) && !s->srv->lmtp)
		return false;
	/* The MX and LMTP never offer AUTH: an unknown command there. */
	if ((cmd->flags & SMTP_CMD_SUBMISSION_ONLY) && !s->srv->submission)
		return false;
	return true;
}

/* RFC 2920 3.1: a client may send commands without waiting for replies
 * only once EHLO (LHLO) advertised PIPELINING. A command that was already
 * queued when we began the one before it, while PIPELINING was not known
 * yet, was sent blind, and so is all input queued behind it. Blind
 * commands that change no state (QUIT, NOOP, RSET: Thunderbird's probe
 * sends "EHLO x" and "QUIT" in one packet) are answered; a blind command
 * that changes state (MAIL, RCPT, DATA, a second EHLO, garbage) is what
 * bots and confused clients send: refuse it and end the session. A HELO
 * session never has PIPELINING, so there queued input behind any command
 * but HELO itself makes that command blind. True when the command may
 * run. */
static bool blind_check(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	bool queued = conn_input_pending(s->conn) > 0;
	bool hello = cmd != NULL && (cmd->flags & SMTP_CMD_HELLO);
	bool blind = s->blind_next || (!s->esmtp && queued && !hello);
	s->blind_next = queued && (blind || !s->esmtp);
	if (!blind || (cmd != NULL && (cmd->flags & SMTP_CMD_BLIND_OK)))
		return true;
	conn_log(s->conn, LOG_INFO, "pipelining before %s", s->srv->lmtp ? "LHLO" : "EHLO");
	conn_discard_input(s->conn);
	smtp_reply(s, "554 5.5.0 %s Pipelining is not allowed before %s", s->srv->hostname,
		   s->srv->lmtp ? "LHLO" : "EHLO");
	s->quitting = true;
	conn_close(s->conn);
	return false;
}

void smtp_session_command(struct smtp_session *s, char *line, size_t len)
{
	struct smtp_txn *t = &s->txn;
	char verb[SMTP_MAX_VERB + 1];
	const char *args;
	bool parsed = len > 0 && memchr(line, '\0', len) == NULL &&
		      smtp_parse_verb(line, verb, &args) == 0;
	const struct smtp_cmd *cmd = parsed ? smtp_cmd_find(verb) : NULL;
	if (!blind_check(s, cmd))
		return;
	if (len == 0) {
		smtp_reply_error(s, "500 5.5.2 Empty command");
		return;
	}
	if (memchr(line, '\0', len) != NULL) {
		smtp_reply_error(s, "500 5.5.2 NUL character in command");
		return;
	}
	if (!parsed) {
		smtp_reply_error(s, "500 5.5.2 Syntax error, command unrecognized");
		return;
	}
	if (cmd == NULL || !verb_allowed(s, cmd)) {
		smtp_reply_error(s, "500 5.5.1 Command unrecognized");
		return;
	}
	if (smtp_has_8bit(line, len)) {
		/* RFC 6531 3.2: 8-bit text only in MAIL/RCPT paths, and only
		 * with SMTPUTF8 (MAIL checks the parameter, RCPT the txn). */
		if (!(cmd->flags & SMTP_CMD_UTF8_ARGS)) {
			smtp_reply_error(s, "500 5.5.2 8-bit characters in command");
			return;
		}
	}
	if ((cmd->flags & SMTP_CMD_NO_ARGS) && args[0] != '\0') {
		smtp_reply_error(s, "501 5.5.4 Syntax: %s takes no arguments", cmd->name);
		return;
	}
	if ((cmd->flags & SMTP_CMD_NEEDS_HELO) && s->helo == NULL) {
		smtp_reply_error(s, "503 5.5.1 Send %s first", s->srv->lmtp ? "LHLO" : "EHLO/HELO");
		return;
	}
	if ((cmd->flags & SMTP_CMD_NEEDS_MAIL) && !t->active) {
		smtp_reply_error(s, "503 5.5.1 Need MAIL command first");
		return;
	}
	if ((cmd->flags & SMTP_CMD_NEEDS_RCPT) && t->nrcpts == 0) {
		/* RFC 2920 3.1: DATA after no accepted RCPT: 503 or 554. */
		smtp_reply_error(s, "554 5.5.1 No valid recipients");
		return;
	}
	metrics_inc("roost_commands_total", s->srv->lmtp ? "lmtp" : "smtp", cmd->name);
	cmd->handler(s, (char *)args);
}
