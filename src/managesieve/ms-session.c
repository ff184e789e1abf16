/*
 * ms-session: one ManageSieve connection. The tokenizer takes a command
 * line's atoms and quoted strings; a line ending in a literal length
 * ({n+} or {n}, RFC 5804 4) switches the connection to byte mode for
 * those n octets, after which the command goes on in the next line. A
 * complete command goes to the table (ms-commands.c). Replies and the
 * store-op helper live here too.
 */
#include "managesieve/ms-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/registry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void reply(struct ms_session *s, const char *status, const char *code, const char *text)
{
	conn_printf(s->conn, "%s", status);
	if (code != NULL)
		conn_printf(s->conn, " (%s)", code);
	if (text != NULL) {
		conn_puts(s->conn, " ");
		ms_write_string(s, text, strlen(text));
	}
	conn_puts(s->conn, "\r\n");
}

void ms_ok(struct ms_session *s, const char *code, const char *text)
{
	reply(s, "OK", code, text);
}

void ms_no(struct ms_session *s, const char *code, const char *text)
{
	reply(s, "NO", code, text);
}

void ms_bye(struct ms_session *s, const char *code, const char *text)
{
	reply(s, "BYE", code, text);
}

void ms_error(struct ms_session *s, const char *text)
{
	ms_no(s, NULL, text);
	if (++s->errors >= MS_MAX_ERRORS) {
		ms_bye(s, NULL, "Too many errors");
		conn_close(s->conn);
	}
}

void ms_write_string(struct ms_session *s, const char *str, size_t len)
{
	/* RFC 5804 4: a quoted string holds no CR, LF or NUL and at most
	 * 1024 octets; anything else goes as a literal */
	bool quoted = len <= 1024;
	for (size_t i = 0; quoted && i < len; i++)
		quoted = str[i] != '\r' && str[i] != '\n' && str[i] != '\0';
	if (!quoted) {
		conn_printf(s->conn, "{%zu}\r\n", len);
		conn_write(s->conn, str, len);
		return;
	}
	conn_puts(s->conn, "\"");
	for (size_t i = 0; i < len; i++) {
		if (str[i] == '"' || str[i] == '\\')
			conn_puts(s->conn, "\\");
		conn_write(s->conn, &str[i], 1);
	}
	conn_puts(s->conn, "\"");
}

void ms_store_err(struct ms_session *s, enum store_err err)
{
	if (err == STORE_ETEMP || err == STORE_EINUSE || err == STORE_ENOSPACE)
		ms_no(s, "TRYLATER", "Temporary server failure, try again later");
	else
		ms_no(s, NULL, store_strerror(err));
}

static void reset_words(struct ms_session *s)
{
	ms_words_reset(&s->cmd);
	xfree(&s->literal);
}

void ms_session_free(struct ms_session *s)
{
	reset_words(s);
	ms_auth_cancel(s);
	free(s->user);
	free(s->arg1);
	free(s->arg2);
	free(s);
}

static void op_done(struct store_op *op, void *ctx)
{
	struct ms_session *s = ctx;
	s->busy = false;
	if (s->closed) {
		store_op_clear(&s->op);
		ms_session_free(s);
		return;
	}
	s->op_done(s);
	store_op_clear(&s->op);
	xfree(&s->arg1);
	xfree(&s->arg2);
	conn_resume(s->conn);
}

void ms_op_submit(struct ms_session *s, void (*done)(struct ms_session *s))
{
	s->busy = true;
	s->op_done = done;
	conn_pause(s->conn);
	store_submit(ms_server.store, &s->op, op_done, s);
}

static size_t max_command(const struct ms_session *s)
{
	return s->authed ? MS_MAX_COMMAND(ms_server.set.max_script_size) : MS_MAX_LITERAL_PRELOGIN;
}

static void run_command(struct ms_session *s)
{
	struct ms_words *w = &s->cmd;
	if (w->nwords == 0) {
		reset_words(s);
		ms_error(s, "Empty command");
		return;
	}
	if (s->sasl_wait) {
		/* the client's SASL response: one string (RFC 5804 2.1) */
		struct ms_string str = w->words[0];
		w->words[0].s = NULL;
		int n = w->nwords;
		reset_words(s);
		if (n != 1 || str.atom) {
			ms_auth_cancel(s);
			if (str.s != NULL)
				wipe(str.s, str.len);
			free(str.s);
			ms_no(s, NULL, "Authentication cancelled");
			return;
		}
		ms_auth_response(s, &str);
		return;
	}
	for (int i = 0; i < w->nwords; i++) {
		if (w->words[i].atom && strlen(w->words[i].s) != w->words[i].len) {
			reset_words(s);
			ms_error(s, "NUL in an atom");
			return;
		}
	}
	const struct ms_command *cmd = w->words[0].atom ? ms_command_find(w->words[0].s) : NULL;
	int nargs = w->nwords - 1;
	if (cmd == NULL)
		ms_error(s, "Unknown command");
	else if (w->overflow || nargs < cmd->min_args || nargs > cmd->max_args)
		ms_error(s, "Wrong number of arguments");
	else if (s->authed ? !cmd->need_auth : !cmd->before_auth)
		ms_error(s, s->authed ? "Already authenticated" : "Authenticate first");
	else {
		metrics_inc("roost_commands_total", "managesieve", cmd->name);
		cmd->fn(s, &w->words[1], nargs);
	}
	reset_words(s);
}

static void on_line(struct conn *c, char *line, size_t len)
{
	struct ms_session *s = conn_data(c);
	if (s->busy)
		return;
	uint64_t n = 0;
	switch (ms_parse_line(&s->cmd, line, len, max_command(s), &n)) {
	case MS_PARSE_DONE:
		run_command(s);
		break;
	case MS_PARSE_LITERAL:
		s->literal = xmalloc(n + 1);
		s->literal_len = 0;
		s->literal_want = n;
		if (n == 0) {
			s->literal[0] = '\0';
			ms_words_add(&s->cmd, s->literal, 0, false);
			s->literal = NULL;
			break; /* the command goes on in the next line */
		}
		conn_read_bytes(s->conn, n);
		break;
	case MS_PARSE_BAD_QUOTED:
		reset_words(s);
		ms_error(s, "Bad quoted string");
		break;
	case MS_PARSE_BAD_LITERAL:
		reset_words(s);
		ms_error(s, "Bad literal");
		break;
	case MS_PARSE_TOO_LARGE:
		/* a literal's bytes may be on the way: the stream cannot be
		 * resynchronised, so the connection ends */
		reset_words(s);
		ms_bye(s, "QUOTA/MAXSIZE", "Command or literal too large");
		conn_close(s->conn);
		break;
	}
}

static void on_bytes(struct conn *c, const char *data, size_t len, bool last)
{
	struct ms_session *s = conn_data(c);
	if (s->literal == NULL)
		return;
	size_t room = s->literal_want - s->literal_len;
	size_t n = len < room ? len : room;
	memcpy(s->literal + s->literal_len, data, n);
	s->literal_len += n;
	if (!last)
		return;
	s->literal[s->literal_len] = '\0';
	char *lit = s->literal;
	s->literal = NULL;
	ms_words_add(&s->cmd, lit, s->literal_len, false);
}

static void on_line_too_long(struct conn *c)
{
	struct ms_session *s = conn_data(c);
	reset_words(s);
	ms_error(s, "Line too long");
}

static void on_connect(struct conn *c)
{
	struct ms_session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	conn_set_data(c, s);
	conn_set_line_max(c, MS_MAX_LINE);
	conn_set_timeout(c, ms_server.set.timeout_ms);
	/* RFC 5804 1.7: the greeting is the capability list and OK */
	ms_send_capabilities(s);
	ms_ok(s, NULL, "Roost ManageSieve ready");
}

static void on_tls_ready(struct conn *c)
{
	struct ms_session *s = conn_data(c);
	reset_words(s);
	ms_auth_cancel(s);
	conn_log(c, LOG_INFO, "tls %s", conn_tls_description(c));
	/* RFC 5804 2.2: the capabilities again, over TLS */
	ms_send_capabilities(s);
	ms_ok(s, NULL, "TLS negotiated");
}

static void on_timeout(struct conn *c)
{
	struct ms_session *s = conn_data(c);
	if (s != NULL)
		ms_bye(s, NULL, "Idle for too long");
	conn_close(c);
}

static void on_close(struct conn *c)
{
	struct ms_session *s = conn_data(c);
	if (s == NULL)
		return;
	conn_set_data(c, NULL);
	s->conn = NULL;
	registry_remove(&s->reg);
	if (s->busy) {
		s->closed = true; /* op_done frees it */
		return;
	}
	ms_session_free(s);
}

const struct conn_handler ms_conn_handler = {
	.proto = "managesieve",
	.on_connect = on_connect,
	.on_line = on_line,
	.on_line_too_long = on_line_too_long,
	.on_bytes = on_bytes,
	.on_timeout = on_timeout,
	.on_tls_ready = on_tls_ready,
	.on_close = on_close,
};
