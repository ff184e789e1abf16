/*
 * smtp-data: the message bytes. DATA (RFC 5321 4.1.1.4) reads dot-stuffed
 * lines until CRLF "." CRLF; BDAT (RFC 3030) reads counted chunks.
 *
 * Memory stays bounded: the message accumulates in a struct buf whose
 * maximum is message.max_size; past it the rest is read and dropped and
 * the end gets 552 5.3.4. DATA lines are limited by smtp.max_line_length.
 *
 * Smuggling (RFC 5321 2.3.8): only CRLF.CRLF ends DATA. A line ending in
 * a bare LF is stored with CRLF (as Postfix 3.9's default "normalize"), so
 * "\n.\n", "\n.\r\n" and "\r\n.\n" are a text line "." inside the message,
 * never its end, and what follows them is message text, never commands.
 * A bare CR anywhere in DATA makes the whole message refused with
 * 550 5.6.0 after its end, and nothing is stored (see smtp_data_classify()).
 *
 * BDAT content is taken as is (it is not line-oriented, and its end is
 * counted, so no byte sequence inside a chunk can end it). A chunk larger
 * than the whole message limit is refused with 552 and the connection is
 * closed, since skipping it would mean reading an unbounded amount; a
 * chunk that merely pushes the total over the limit is read and dropped.
 *
 * The message buffer also draws from the daemon-wide memory budget
 * (lib/membudget.h), in steps of SMTP_BUDGET_STEP as it grows; the
 * transaction gives it all back in smtp_txn_reset(). DATA is refused
 * with 452 4.3.1 (RFC 3463: system storage, temporary) before the 354
 * when the budget cannot cover the declared SIZE (or a first step), so
 * the stream stays in step; a DATA that runs out later, and a BDAT chunk
 * the budget cannot hold, is read and dropped, then answered 452 4.3.1.
 */
#include "smtp/smtp-session.h"
#include "smtp/smtp-parse.h"
#include "lib/conn.h"
#include "lib/membudget.h"
#include <inttypes.h>

/* The budget is drawn in steps this large (fewer atomic operations). */
#define SMTP_BUDGET_STEP ((size_t)256 * 1024)
#define SMTP_BUDGET_REFUSED "452 4.3.1 Insufficient system storage, try again later"

/* Make the transaction hold at least `need` bytes of budget, rounded up
 * to a step when the budget has room for that; false if it has not. */
static bool budget_cover(struct smtp_txn *t, uint64_t need)
{
	if (need <= t->budget_held)
		return true;
	if (need > SIZE_MAX - SMTP_BUDGET_STEP)
		return false;
	size_t more = (size_t)need - t->budget_held;
	size_t rounded = (more + SMTP_BUDGET_STEP - 1) / SMTP_BUDGET_STEP * SMTP_BUDGET_STEP;
	if (membudget_take(rounded))
		more = rounded;
	else if (!membudget_take(more))
		return false;
	t->budget_held += more;
	return true;
}

static void drop_data(struct smtp_txn *t)
{
	size_t max = t->data.max;
	buf_free(&t->data);
	buf_init(&t->data, max);
	membudget_give(t->budget_held);
	t->budget_held = 0;
}

/* The budget ran out mid-transfer: drop what we have, read the rest. */
static void out_of_budget(struct smtp_txn *t)
{
	t->no_budget = true;
	drop_data(t);
}

void smtp_cmd_data(struct smtp_session *s, char *args)
{
	struct smtp_txn *t = &s->txn;
	if (t->bdat) {
		/* RFC 3030 3: DATA and BDAT cannot be mixed in one transaction. */
		smtp_reply_error(s, "503 5.5.1 DATA after BDAT");
		return;
	}
	if (!budget_cover(t, t->declared_size > 0 ? t->declared_size : SMTP_BUDGET_STEP)) {
		conn_log(s->conn, LOG_INFO, "DATA refused: memory budget spent (%zu of %zu in use)",
			 membudget_used(), membudget_limit());
		smtp_reply(s, SMTP_BUDGET_REFUSED);
		return;
	}
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	s->in_data = true;
	/* The DATA line's own CRLF may be the first CRLF of CRLF.CRLF. */
	t->prev_crlf = !conn_line_bare_lf(s->conn);
	conn_set_line_max(s->conn, s->srv->data_line_max);
}

static void data_end(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	s->in_data = false;
	conn_set_line_max(s->conn, s->srv->command_line_max);
	if (t->bad_eol) {
		conn_log(s->conn, LOG_INFO, "refused message with a bare CR");
		smtp_deliver_refuse(s, "550 5.6.0 Message contains a bare CR");
	} else if (t->too_big) {
		smtp_deliver_refuse(s, "552 5.3.4 Message size exceeds fixed limit");
	} else if (t->no_budget) {
		smtp_deliver_refuse(s, SMTP_BUDGET_REFUSED);
	} else if (t->long_line) {
		smtp_deliver_refuse(s, "550 5.6.0 Message contains a line that is too long");
	} else {
		smtp_deliver_start(s);
	}
}

void smtp_data_line(struct smtp_session *s, const char *line, size_t len, bool bare_lf)
{
	struct smtp_txn *t = &s->txn;
	size_t skip;
	switch (smtp_data_classify(line, len, bare_lf, t->prev_crlf, &skip)) {
	case SMTP_DATA_END:
		data_end(s);
		return;
	case SMTP_DATA_BAD:
		if (!t->bad_eol)
			drop_data(t);
		t->bad_eol = true;
		break;
	case SMTP_DATA_TEXT:
		if (t->bad_eol || t->too_big || t->long_line || t->no_budget)
			break;
		if (t->data.len + (len - skip) + 2 <= t->data.max &&
		    !budget_cover(t, t->data.len + (len - skip) + 2)) {
			out_of_budget(t);
			break;
		}
		if (buf_append(&t->data, line + skip, len - skip) < 0 ||
		    buf_append(&t->data, "\r\n", 2) < 0) {
			t->too_big = true;
			drop_data(t);
		}
		break;
	}
	t->prev_crlf = !bare_lf;
}

void smtp_data_line_too_long(struct smtp_session *s, bool bare_lf)
{
	struct smtp_txn *t = &s->txn;
	if (!t->long_line)
		drop_data(t);
	t->long_line = true;
	t->prev_crlf = !bare_lf;
}

/* The chunk has been read (or there was none). */
static void bdat_chunk_done(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	s->bdat_reading = false;
	if (s->bdat_discard) {
		/* RFC 3030 2: chunks pipelined after a failure are read and
		 * dropped; each gets its error. */
		if (!t->active)
			smtp_reply_error(s, "503 5.5.1 Need MAIL command first");
		else
			smtp_reply_error(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (t->too_big || t->no_budget) {
		const char *text = t->too_big ? "552 5.3.4 Message size exceeds fixed limit"
					      : SMTP_BUDGET_REFUSED;
		if (s->bdat_last) {
			smtp_deliver_refuse(s, text);
		} else {
			smtp_reply_error(s, "%s", text);
			smtp_txn_reset(s);
		}
		return;
	}
	if (!s->bdat_last) {
		smtp_reply(s, "250 2.0.0 %" PRIu64 " octets received", s->bdat_size);
		return;
	}
	smtp_deliver_start(s);
}

/* A chunk of `size` bytes is coming (BDAT) or was fetched (BURL). */
static void chunk_begin(struct smtp_session *s, uint64_t size, bool last)
{
	struct smtp_txn *t = &s->txn;
	s->bdat_size = size;
	s->bdat_last = last;
	s->bdat_discard = !t->active || t->nrcpts == 0;
	if (s->bdat_discard)
		return;
	t->bdat = true;
	if (!t->too_big && size > t->data.max - t->data.len) {
		t->too_big = true;
		drop_data(t);
	}
	if (!t->too_big && !t->no_budget && !budget_cover(t, t->data.len + size)) {
		conn_log(s->conn, LOG_INFO, "chunk dropped: memory budget spent (%zu of %zu in use)",
			 membudget_used(), membudget_limit());
		out_of_budget(t);
	}
}

void smtp_data_chunk(struct smtp_session *s, const char *data, size_t len, bool last)
{
	chunk_begin(s, len, last);
	s->bdat_reading = true;
	smtp_bdat_bytes(s, data, len, true);
}

void smtp_cmd_bdat(struct smtp_session *s, char *args)
{
	uint64_t size;
	bool last;
	int r = smtp_parse_bdat(args, &size, &last);
	if (r < 0) {
		/* Without a size we cannot tell where the chunk ends. */
		smtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		smtp_close_421(s, "Cannot resynchronize after bad BDAT");
		return;
	}
	if (r > 0 || size > (uint64_t)s->srv->max_size) {
		smtp_reply(s, "552 5.3.4 Chunk size exceeds fixed limit of %lld bytes",
			   (long long)s->srv->max_size);
		smtp_close_421(s, "Chunk too large to skip");
		return;
	}
	chunk_begin(s, size, last);
	s->bdat_reading = true;
	if (size == 0)
		bdat_chunk_done(s);
	else
		conn_read_bytes(s->conn, size);
}

void smtp_bdat_bytes(struct smtp_session *s, const char *data, size_t len, bool last)
{
	struct smtp_txn *t = &s->txn;
	if (!s->bdat_discard && !t->too_big && !t->no_budget &&
	    buf_append(&t->data, data, len) < 0) {
		t->too_big = true;
		drop_data(t);
	}
	if (last)
		bdat_chunk_done(s);
}
