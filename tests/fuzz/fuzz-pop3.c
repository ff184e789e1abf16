/*
 * fuzz-pop3: the real POP3 command-line parsing and message formatting.
 *  - every input line (split as lib/conn.c does) goes to
 *    pop3_parse_command() (pop3-commands.c), the function the session's
 *    line handler calls before running a command, once in each state
 *    (AUTHORIZATION, TRANSACTION, UPDATE). Invariants: the result agrees
 *    with a naive reading of the line (over POP3_MAX_LINE, a NUL, the
 *    keyword up to the first space, the table's states and argument
 *    counts, arguments split on runs of spaces or the whole rest for
 *    PASS/USER); arguments point into the line, NUL-terminated, without
 *    spaces; every error has its -ERR text; each argument is read with
 *    pop3_parse_number() as pop3_msg_arg() does (checked against a naive
 *    reading). The SASL continuation lines (pop3-auth.c) are not covered:
 *    they need a session.
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

/* Words of text[0..len) separated by runs of spaces. */
static int count_words(const char *text, size_t len)
{
	int n = 0;
	bool in_word = false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] != ' ' && !in_word)
			n++;
		in_word = text[i] != ' ';
	}
	return n;
}

static void command_line(const char *text, size_t len, enum pop3_state state)
{
	/* the parser splits in place: give it its own copy, keep text */
	char *line = malloc(len + 1);
	FUZZ_CHECK(line != NULL);
	memcpy(line, text, len);
	line[len] = '\0';
	struct pop3_command_line cl;
	enum pop3_parse_result r = pop3_parse_command(line, len, state, &cl);

	FUZZ_CHECK(r >= POP3_PARSE_OK && r <= POP3_PARSE_MISSING_ARG);
	if (r != POP3_PARSE_OK) {
		const char *msg = pop3_parse_error_text(r);
		FUZZ_CHECK(msg != NULL && msg[0] != '\0' && strpbrk(msg, "\r\n") == NULL);
	}
	FUZZ_CHECK((r == POP3_PARSE_TOO_LONG) == (len > POP3_MAX_LINE));
	if (r == POP3_PARSE_TOO_LONG)
		goto out;
	FUZZ_CHECK((r == POP3_PARSE_NUL) == (memchr(text, '\0', len) != NULL));
	if (r == POP3_PARSE_NUL)
		goto out;

	/* the keyword: up to the first space */
	const char *sp = memchr(text, ' ', len);
	size_t kwlen = sp != NULL ? (size_t)(sp - text) : len;
	const struct pop3_command *want = NULL;
	if (kwlen <= POP3_MAX_KEYWORD) {
		char kw[POP3_MAX_KEYWORD + 1];
		memcpy(kw, text, kwlen);
		kw[kwlen] = '\0';
		want = pop3_command_find(kw);
		FUZZ_CHECK(want == NULL || strcasecmp(want->name, kw) == 0);
	}
	FUZZ_CHECK(cl.cmd == want);
	FUZZ_CHECK((r == POP3_PARSE_UNKNOWN) == (want == NULL));
	if (want == NULL)
		goto out;
	FUZZ_CHECK(want->min_args <= want->max_args && want->max_args <= POP3_MAX_ARGS);
	FUZZ_CHECK((r == POP3_PARSE_WRONG_STATE) == ((want->states & state) == 0));
	if (r == POP3_PARSE_WRONG_STATE)
		goto out;

	const char *rest = sp != NULL ? sp + 1 : NULL;
	size_t rest_len = rest != NULL ? len - (size_t)(rest - text) : 0;
	FUZZ_CHECK(cl.nargs >= 0 && cl.nargs <= want->max_args);
	for (int i = 0; i < cl.nargs; i++) {
		/* inside the copy, NUL-terminated there */
		FUZZ_CHECK(cl.args[i] > line && cl.args[i] <= line + len);
		FUZZ_CHECK(cl.args[i] + strlen(cl.args[i]) <= line + len);
	}
	if (rest != NULL && (want->flags & POP3_CMD_REST) != 0) {
		FUZZ_CHECK(r == POP3_PARSE_OK && cl.nargs == 1);
		FUZZ_CHECK(strlen(cl.args[0]) == rest_len);
		FUZZ_CHECK(memcmp(cl.args[0], rest, rest_len) == 0);
		goto out;
	}
	int words = rest != NULL ? count_words(rest, rest_len) : 0;
	FUZZ_CHECK((r == POP3_PARSE_TOO_MANY_ARGS) == (words > want->max_args));
	FUZZ_CHECK((r == POP3_PARSE_MISSING_ARG) == (words < want->min_args));
	if (r != POP3_PARSE_OK)
		goto out;
	FUZZ_CHECK(cl.nargs == words);
	/* the words in order, each found in the rest where the last ended */
	const char *p = rest;
	for (int i = 0; i < cl.nargs; i++) {
		size_t alen = strlen(cl.args[i]);
		FUZZ_CHECK(alen > 0 && strchr(cl.args[i], ' ') == NULL);
		while (*p == ' ')
			p++;
		FUZZ_CHECK(memcmp(p, cl.args[i], alen) == 0);
		FUZZ_CHECK(p[alen] == ' ' || p[alen] == '\0');
		p += alen;
		check_number(cl.args[i]);
	}
out:
	free(line);
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
		command_line(line.text, line.len, POP3_STATE_AUTH);
		command_line(line.text, line.len, POP3_STATE_TRANS);
		command_line(line.text, line.len, POP3_STATE_UPDATE);
		free(line.text);
	}
	char *msg = fuzz_strndup(data, size);
	check_message(msg, size);
	free(msg);
	return 0;
}
