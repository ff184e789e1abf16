/*
 * fuzz-pop3: what POP3 parses and produces without a connection.
 *
 * POP3 has no parser separate from its session: session_dispatch() in
 * pop3-session.c is static and replies through a live conn, and faking
 * lib/conn.c is not cheap (it is linked into the same library). So this
 * target covers the pure parts the dispatch uses, fed the same way:
 *  - every input line (split as conn does) is handled like
 *    session_dispatch(): NUL refused, keyword up to the first space,
 *    pop3_command_find(), arguments split on spaces, and each argument
 *    read with pop3_parse_number() as pop3_msg_arg() does (checked
 *    against a naive reading);
 *  - the whole input, as a stored message, goes through pop3-format: the
 *    RETR/TOP output of pop3_format_chunk() and the LIST/STAT size of
 *    pop3_format_size(). Invariants: chunked output (small max_in) equals
 *    one-shot output; every line ends in CRLF; no line of the output can
 *    end the multi-line reply early (each "\r\n." is stuffed to "\r\n..");
 *    the size equals the unstuffed output length and crlf_size() (the
 *    value stored at delivery); TOP output is a prefix of RETR output.
 */
#include "fuzz.h"
#include "lib/buf.h"
#include "mail/crlf.h"
#include "pop3/pop3-private.h"
#include <strings.h>

/* Same as pop3-session.c's POP3_MAX_KEYWORD (private to that file). */
#define FUZZ_POP3_MAX_KEYWORD 16

static void check_number(const char *arg)
{
	uint64_t n = 0, want = 0;
	bool ok = arg[0] != '\0';
	for (const char *p = arg; ok && *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || want > (UINT32_MAX - (uint64_t)(*p - '0')) / 10)
			ok = false;
		else
			want = want * 10 + (uint64_t)(*p - '0');
	}
	int r = pop3_parse_number(arg, UINT32_MAX, &n);
	FUZZ_CHECK((r == 0) == ok);
	if (ok)
		FUZZ_CHECK(n == want);
}

static void command_line(char *line, size_t len)
{
	if (memchr(line, '\0', len) != NULL)
		return;
	char *rest = strchr(line, ' ');
	if (rest != NULL)
		*rest++ = '\0';
	if (strlen(line) > FUZZ_POP3_MAX_KEYWORD)
		return;
	const struct pop3_command *cmd = pop3_command_find(line);
	if (cmd == NULL)
		return;
	FUZZ_CHECK(strcasecmp(cmd->name, line) == 0);
	FUZZ_CHECK(cmd->min_args <= cmd->max_args && cmd->max_args <= POP3_MAX_ARGS);
	if (rest == NULL || (cmd->flags & POP3_CMD_REST) != 0)
		return;
	char *save = NULL;
	for (char *tok = strtok_r(rest, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
		check_number(tok);
}

/* RETR (top = false) or TOP n output, produced in steps of max_in. */
static void format(const char *data, size_t len, size_t max_in, bool top, uint64_t lines,
		   struct buf *out)
{
	size_t pos = 0;
	bool in_body = false;
	int rounds = 0;
	while (!pop3_format_chunk(data, len, &pos, max_in, out, top, &in_body, &lines)) {
		FUZZ_CHECK(pos <= len);
		FUZZ_CHECK(++rounds <= (int)len + 1); /* progress each call */
		if (top && in_body && lines == 0)
			break;
	}
	FUZZ_CHECK(pos <= len);
}

static void check_message(const char *data, size_t len)
{
	struct buf all, steps, top;
	buf_init(&all, SIZE_MAX);
	buf_init(&steps, SIZE_MAX);
	buf_init(&top, SIZE_MAX);

	format(data, len, SIZE_MAX, false, 0, &all);
	format(data, len, 7, false, 0, &steps);
	FUZZ_CHECK(all.len == steps.len);
	FUZZ_CHECK(all.len == 0 || memcmp(all.data, steps.data, all.len) == 0);

	/* Lines end in CRLF; "\r\n." never starts an unstuffed line. The
	 * reply's first line (+OK ...) ends in CRLF, hence start_of_line. */
	size_t dots = 0;
	bool start_of_line = true;
	for (size_t i = 0; i < all.len; i++) {
		if (start_of_line && all.data[i] == '.') {
			FUZZ_CHECK(i + 1 < all.len && all.data[i + 1] == '.');
			dots++;
		}
		if (all.data[i] == '\n')
			FUZZ_CHECK(i > 0 && all.data[i - 1] == '\r');
		start_of_line = all.data[i] == '\n';
	}
	FUZZ_CHECK(all.len == 0 || (all.len >= 2 && all.data[all.len - 1] == '\n'));
	int64_t size = pop3_format_size(data, len);
	FUZZ_CHECK(size >= 0 && (uint64_t)size == all.len - dots);
	FUZZ_CHECK(size == crlf_size(data, len));

	uint64_t lines = len > 0 ? (uint8_t)data[0] % 5 : 0;
	format(data, len, 5, true, lines, &top);
	FUZZ_CHECK(top.len <= all.len);
	FUZZ_CHECK(top.len == 0 || memcmp(top.data, all.data, top.len) == 0);

	buf_free(&all);
	buf_free(&steps);
	buf_free(&top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	struct fuzz_line line;
	while (fuzz_next_line(data, size, &pos, &line)) {
		command_line(line.text, line.len);
		free(line.text);
	}
	char *msg = fuzz_strndup(data, size);
	check_message(msg, size);
	free(msg);
	return 0;
}
