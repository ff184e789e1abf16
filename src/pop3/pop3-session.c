/*
 * pop3-session: one POP3 connection. Receives lines from conn, has
 * pop3_parse_command() (pop3-commands.c) split "KEYWORD [arg [arg]]" and
 * check state and argument count, then replies its error or runs the
 * handler. Owns the reply helpers and the error budget (pop3.max_errors).
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/metrics.h"
#include "lib/registry.h"
#include "store/store.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void reply_v(struct pop3_session *s, const char *status, const char *fmt, va_list ap)
{
	char *text = xvasprintf(fmt, ap);
	conn_printf(s->conn, "%s %s\r\n", status, text);
	xfree(&text);
}

void pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_v(s, "+OK", fmt, ap);
	va_end(ap);
}

void pop3_err_nocount(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_v(s, "-ERR", fmt, ap);
	va_end(ap);
}

void pop3_err(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_v(s, "-ERR", fmt, ap);
	va_end(ap);
	s->errors++;
	if (s->server->set.max_errors > 0 && s->errors >= s->server->set.max_errors) {
		conn_log(s->conn, LOG_INFO, "too many errors, closing");
		conn_puts(s->conn, "-ERR Too many errors, closing the connection\r\n");
		/* Nothing is committed: the session never reached UPDATE. */
		conn_close(s->conn);
	}
}

int pop3_parse_number(const char *arg, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0;

	if (*arg == '\0')
		return -1;
	for (const char *p = arg; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (n > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*n_r = n;
	return 0;
}

struct pop3_msg *pop3_msg_arg(struct pop3_session *s, const char *arg)
{
	uint64_t n;

	/* RFC 1939 section 5: message numbers are 1-based decimal; anything
	 * else ("0", "-1", too many digits) names no message. */
	if (pop3_parse_number(arg, UINT32_MAX, &n) < 0 || n == 0 || n > s->nmsgs) {
		pop3_err(s, "No such message");
		return NULL;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_err(s, "Message %llu already deleted", (unsigned long long)n);
		return NULL;
	}
	return &s->msgs[n - 1];
}

void pop3_session_free_msgs(struct pop3_session *s)
{
	for (size_t i = 0; i < s->nmsgs; i++)
		xfree(&s->msgs[i].uidl);
	xfree(&s->msgs);
	s->nmsgs = 0;
	xfree(&s->dups);
	s->ndups = 0;
}

void pop3_session_end(void *session, const char *reason)
{
	struct pop3_session *s = session;
	if (s->conn == NULL || s->state == POP3_STATE_UPDATE)
		return;
	/* a RETR being streamed stops here: the client must not take a
	 * half message for a whole one, and the close makes that plain */
	pop3_retr_abort(s);
	conn_log(s->conn, LOG_INFO, "session ended: %s", reason);
	conn_set_close_reason(s->conn, "kicked");
	conn_printf(s->conn, "-ERR %s\r\n", reason);
	conn_close(s->conn);
}

static void session_on_connect(struct conn *c)
{
	struct pop3_server *server = &pop3_server;
	struct pop3_session *s = xcalloc(1, sizeof(*s));

	s->conn = c;
	s->server = server;
	s->state = POP3_STATE_AUTH;
	conn_set_data(c, s);
	conn_set_line_max(c, POP3_MAX_LINE);
	conn_set_timeout(c, server->set.timeout_ms);
	/* RFC 1939 section 4: the greeting. No APOP timestamp: APOP is not offered. */
	pop3_ok(s, "Roost POP3 server ready");
}

static void session_dispatch(struct pop3_session *s, char *line, size_t len)
{
	struct pop3_command_line cl;
	enum pop3_parse_result r = pop3_parse_command(line, len, s->state, &cl);

	if (r != POP3_PARSE_OK) {
		pop3_err(s, "%s", pop3_parse_error_text(r));
		return;
	}
	if (log_enabled(LOG_DEBUG))
		conn_log(s->conn, LOG_DEBUG, "command %s%s", cl.cmd->name,
			 (cl.cmd->flags & POP3_CMD_SECRET) != 0 && cl.nargs > 0 ? " ***" : "");
	metrics_inc("roost_commands_total", "pop3", cl.cmd->name);
	cl.cmd->fn(s, cl.args, cl.nargs);
}

static void session_on_line(struct conn *c, char *line, size_t len)
{
	struct pop3_session *s = conn_data(c);

	if (s->state == POP3_STATE_UPDATE)
		return; /* input is paused; nothing should arrive */
	if (s->sasl != POP3_SASL_NONE) {
		pop3_auth_sasl_line(s, line, len);
		return;
	}
	session_dispatch(s, line, len);
}

static void session_on_line_too_long(struct conn *c)
{
	struct pop3_session *s = conn_data(c);

	if (s->sasl != POP3_SASL_NONE) {
		s->sasl = POP3_SASL_NONE;
		xfree(&s->user);
	}
	pop3_err(s, "%s", pop3_parse_error_text(POP3_PARSE_TOO_LONG));
}

static void session_on_drain(struct conn *c)
{
	struct pop3_session *s = conn_data(c);

	if (s != NULL && s->out_active)
		pop3_retr_continue(s);
	else if (s != NULL && s->listing != POP3_LISTING_NONE)
		pop3_listing_continue(s);
}

static void session_on_timeout(struct conn *c)
{
	struct pop3_session *s = conn_data(c);

	/* RFC 1939 section 3: an autologout timer closes without entering
	 * UPDATE, so nothing is deleted. */
	conn_log(c, LOG_INFO, "idle timeout");
	if (s != NULL && s->state != POP3_STATE_UPDATE)
		conn_puts(c, "-ERR Autologout: idle for too long\r\n");
	conn_close(c);
}

static void session_on_tls_ready(struct conn *c)
{
	struct pop3_session *s = conn_data(c);

	/* RFC 2595 section 4: forget anything learned before TLS. */
	xfree(&s->user);
	s->sasl = POP3_SASL_NONE;
	conn_log(c, LOG_INFO, "tls %s", conn_tls_description(c));
}

static void session_on_close(struct conn *c)
{
	struct pop3_session *s = conn_data(c);

	if (s == NULL)
		return;
	conn_set_data(c, NULL);
	pop3_auth_cancel_delay(s);
	pop3_retr_abort(s);
	pop3_quit_session_gone(s);
	registry_remove(&s->reg);
	if (s->user != NULL) {
		wipe(s->user, strlen(s->user));
		xfree(&s->user);
	}
	pop3_session_free_msgs(s);
	xfree(&s);
}

const struct conn_handler pop3_conn_handler = {
	.proto = "pop3",
	.on_connect = session_on_connect,
	.on_line = session_on_line,
	.on_line_too_long = session_on_line_too_long,
	.on_drain = session_on_drain,
	.on_timeout = session_on_timeout,
	.on_tls_ready = session_on_tls_ready,
	.on_close = session_on_close,
};
