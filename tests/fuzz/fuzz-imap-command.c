/*
 * fuzz-imap-command: IMAP command framing and parsing (imap/imap-parser.h)
 * as the session drives them. The input is what a client sends: lines,
 * each either complete or ending in a literal marker ({n}, {n+}, ~{n})
 * whose n bytes follow raw. Like imap-session.c, the first line of each
 * command is peeked (tag and name), each line is checked for a marker,
 * the literal bytes are appended, and the complete command in wire form
 * goes to imap_parse_command().
 *
 * Invariants on every parsed command: tag and name within their limits,
 * name upper-case, strings NUL-terminated at len, no NUL in atoms or
 * quoted strings, lists no deeper than IMAP_MAX_LIST_DEPTH. And for every
 * string argument, imap_quote_string() (mail/imap-quote.h) must produce a
 * well-formed IMAP string that parses back to the same bytes, NULs
 * dropped (they cannot travel in IMAP strings).
 */
#include "fuzz.h"
#include "imap/imap-parser.h"
#include "imap/imap-session.h"
#include "lib/buf.h"
#include "mail/imap-quote.h"

/* The session's buffer limit for non-APPEND commands. */
#define FUZZ_IMAP_MAX_COMMAND (64 * 1024 + IMAP_MAX_COMMAND_EXTRA)

static void check_quote_roundtrip(const char *s, size_t len)
{
	struct buf out;
	buf_init(&out, 4 * len + 64);
	imap_quote_string(&out, s, len);
	FUZZ_CHECK(out.len > 0);

	struct imap_arg *args = NULL;
	size_t count = 0;
	const char *error = NULL;
	FUZZ_CHECK(imap_parse_args(out.data, out.len, &args, &count, &error) == 0);
	FUZZ_CHECK(count == 1);
	FUZZ_CHECK(args[0].type == IMAP_ARG_QUOTED || args[0].type == IMAP_ARG_LITERAL);
	FUZZ_CHECK(!args[0].literal8);
	/* The expected text: the input without its NUL bytes. */
	size_t n = 0;
	char *want = malloc(len + 1);
	FUZZ_CHECK(want != NULL);
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\0')
			want[n++] = s[i];
	FUZZ_CHECK(args[0].len == n);
	FUZZ_CHECK(n == 0 || memcmp(args[0].str, want, n) == 0);
	free(want);
	imap_args_free(args, count);
	buf_free(&out);
}

static void check_args(const struct imap_arg *args, size_t count, int depth, size_t *total)
{
	FUZZ_CHECK(depth <= IMAP_MAX_LIST_DEPTH + 1);
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		FUZZ_CHECK(++*total <= IMAP_MAX_ARGS);
		if (a->type == IMAP_ARG_LIST) {
			FUZZ_CHECK(a->count == 0 || a->list != NULL);
			check_args(a->list, a->count, depth + 1, total);
			continue;
		}
		FUZZ_CHECK(a->str != NULL);
		FUZZ_CHECK(a->str[a->len] == '\0');
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_QUOTED) {
			FUZZ_CHECK(strlen(a->str) == a->len);
			FUZZ_CHECK(!a->literal8);
		}
		if (a->type == IMAP_ARG_ATOM)
			FUZZ_CHECK(a->len > 0);
		/* The helpers handlers use must agree with the type. */
		FUZZ_CHECK(imap_arg_is_string(a) ==
			   ((a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL) &&
			    !a->literal8));
		if (!a->literal8)
			check_quote_roundtrip(a->str, a->len);
	}
}

static void run_command(const char *wire, size_t len)
{
	struct imap_command_args cmd;
	const char *error = NULL;
	memset(&cmd, 0, sizeof(cmd));
	if (imap_parse_command(wire, len, &cmd, &error) < 0) {
		FUZZ_CHECK(error != NULL);
		/* The session then peeks for the tag of its BAD reply. */
		char *tag = NULL, *name = NULL;
		bool uid;
		if (imap_parser_peek(wire, len, &tag, &name, &uid) == 0)
			FUZZ_CHECK(tag != NULL);
		free(tag);
		free(name);
		return;
	}
	FUZZ_CHECK(cmd.tag != NULL && cmd.tag[0] != '\0' && strlen(cmd.tag) <= IMAP_MAX_TAG);
	FUZZ_CHECK(cmd.name != NULL && strlen(cmd.name) <= IMAP_MAX_COMMAND_NAME);
	for (const char *p = cmd.name; *p != '\0'; p++)
		FUZZ_CHECK(!(*p >= 'a' && *p <= 'z'));
	size_t total = 0;
	check_args(cmd.args, cmd.count, 0, &total);
	imap_command_args_clear(&cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	struct fuzz_line line;
	struct buf cmdbuf;
	size_t nliterals = 0;
	bool first = true;

	buf_init(&cmdbuf, FUZZ_IMAP_MAX_COMMAND);
	while (fuzz_next_line(data, size, &pos, &line)) {
		if (first) {
			if (line.len == 0) {
				free(line.text);
				continue; /* empty lines between commands */
			}
			char *tag = NULL, *name = NULL;
			bool uid;
			if (imap_parser_peek(line.text, line.len, &tag, &name, &uid) == 0) {
				FUZZ_CHECK(tag != NULL);
			}
			free(tag);
			free(name);
			first = false;
		}
		bool over = buf_append(&cmdbuf, line.text, line.len) < 0;
		struct imap_literal_info li;
		bool lit = imap_parser_line_literal(line.text, line.len, &li);
		free(line.text);
		if (over || !lit || li.size > IMAP_MAX_LITERAL || ++nliterals > IMAP_MAX_LITERALS ||
		    cmdbuf.len + 2 + li.size > cmdbuf.max) {
			/* Complete, or refused by a limit (then the session replies
			 * and starts over; parse what we have anyway). */
			run_command(cmdbuf.data != NULL ? cmdbuf.data : "", cmdbuf.len);
			buf_reset(&cmdbuf);
			nliterals = 0;
			first = true;
			continue;
		}
		buf_append(&cmdbuf, "\r\n", 2);
		/* The literal's bytes, raw (conn_read_bytes). */
		size_t n = size - pos < li.size ? size - pos : (size_t)li.size;
		buf_append(&cmdbuf, data + pos, n);
		pos += n;
		if (n < li.size)
			break; /* the connection would still be waiting */
	}
	buf_free(&cmdbuf);
	return 0;
}
