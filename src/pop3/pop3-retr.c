/*
 * pop3-retr: RETR and TOP (RFC 1939 sections 6 and 7). The message is read
 * from the store once and sent in steps: each step converts one chunk to
 * the CRLF, byte-stuffed form and queues it until the connection says its
 * output is full (lib/conn.h), then continues in on_drain. Memory stays bounded to the one
 * message being sent, and input is paused meanwhile so that pipelined
 * commands (RFC 2449 PIPELINING) are answered in order.
 *
 * A message larger than POP3_BUDGET_MIN draws its size from the daemon-wide
 * memory budget (lib/membudget.h) while it is held, given back with it in
 * pop3_retr_abort(); when the budget is spent RETR/TOP get
 * "-ERR [SYS/TEMP]" (RFC 3206 4: try again later).
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/membudget.h"
#include "store/store.h"

#define POP3_BUDGET_MIN (64 * 1024)

/* TOP's line count: anything larger is as good as "the whole body". */
#define POP3_MAX_TOP_LINES UINT32_MAX

void pop3_retr_abort(struct pop3_session *s)
{
	if (s->out_data != NULL)
		xfree(&s->out_data);
	membudget_give(s->out_budget);
	s->out_budget = 0;
	s->out_active = false;
}

void pop3_retr_continue(struct pop3_session *s)
{
	struct buf chunk;
	bool done = false;

	/* The converted form is at most twice the input (LF -> CRLF, one
	 * stuffing dot per line), plus one line ending. */
	buf_init(&chunk, 2 * s->out_len + 4);
	while (!done && !conn_output_full(s->conn)) {
		buf_reset(&chunk);
		done = pop3_format_chunk(s->out_data, s->out_len, &s->out_pos, POP3_CHUNK_INPUT,
					 &chunk, s->out_top, &s->out_in_body, &s->out_lines);
		if (chunk.len > 0)
			conn_write(s->conn, chunk.data, chunk.len);
	}
	buf_free(&chunk);
	if (!done)
		return; /* on_drain calls again */
	conn_puts(s->conn, ".\r\n");
	pop3_retr_abort(s);
	conn_resume(s->conn);
}

/* Read message `m`, answer +OK/-ERR, and start streaming. */
static void send_message(struct pop3_session *s, struct pop3_msg *m, bool top, uint64_t lines)
{
	enum store_err err;
	char *data;
	size_t len;
	size_t num = (size_t)(m - s->msgs) + 1;

	err = store_message_content(s->server->store, s->account_id, m->mailbox_id, m->uid, &data, &len, NULL);
	if (err == STORE_ENOTFOUND || err == STORE_EEXPUNGED) {
		/* the whole maildrop may be gone (account deleted): end */
		if (pop3_maildrop_gone(s))
			return;
		/* Another client (IMAP) expunged it during this session; say
		 * so plainly and carry on. */
		pop3_err_nocount(s, "Message %zu was deleted by another client", num);
		return;
	}
	if (err != STORE_OK) {
		conn_log(s->conn, LOG_ERROR, "read uid %u: %s", m->uid, store_strerror(err));
		pop3_store_err(s, err, "Cannot read the message");
		return;
	}
	size_t budget = len > POP3_BUDGET_MIN ? len : 0;
	if (!membudget_take(budget)) {
		free(data);
		conn_log(s->conn, LOG_INFO, "RETR refused: memory budget spent (%zu of %zu in use)",
			 membudget_used(), membudget_limit());
		pop3_err_nocount(s, "[SYS/TEMP] Server memory budget exhausted, try again later");
		return;
	}
	if (m->size < 0)
		m->size = pop3_format_size(data, len);
	if (top) {
		pop3_ok(s, "Top of message %zu follows", num);
	} else {
		m->retrieved = true;
		pop3_ok(s, "%lld octets", (long long)m->size);
	}
	s->out_data = data;
	s->out_budget = budget;
	s->out_len = len;
	s->out_pos = 0;
	s->out_top = top;
	s->out_in_body = false;
	s->out_lines = lines;
	s->out_active = true;
	conn_pause(s->conn);
	pop3_retr_continue(s);
}

void pop3_cmd_retr(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_msg *m = pop3_msg_arg(s, args[0]);

	if (m != NULL)
		send_message(s, m, false, 0);
}

void pop3_cmd_top(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_msg *m;
	uint64_t lines;

	/* Check the line count first: "TOP 1 -5" is a syntax error whatever
	 * message 1 is. Larger than the limit means "all of it". */
	if (pop3_parse_number(args[1], UINT64_MAX, &lines) < 0) {
		pop3_err(s, "Invalid number of lines");
		return;
	}
	if (lines > POP3_MAX_TOP_LINES)
		lines = POP3_MAX_TOP_LINES;
	if ((m = pop3_msg_arg(s, args[0])) != NULL)
		send_message(s, m, true, lines);
}
