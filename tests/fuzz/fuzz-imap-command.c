/*
 * fuzz-imap-command: the real IMAP framing (imap/imap-framing.h, the code
 * imap-session.c runs) and parsing (imap/imap-parser.h). The first byte
 * may say whether the session is logged in; the rest is what a client sends:
 * lines, each complete or ending in a literal marker ({n}, {n+}, ~{n})
 * whose n bytes follow raw. Lines go to imap_frame_line() (or, past the
 * line limit, to the overlong-line path as lib/conn.c does), literal bytes
 * to imap_frame_bytes(), complete commands to imap_parse_command().
 * Framing invariants: the command buffer stays within its maximum; no
 * literal before login is accepted past IMAP_PRELOGIN_MAX_LITERAL.
 *
 * Invariants on every parsed command: tag and name within their limits,
 * name upper-case, strings NUL-terminated at len, no NUL in atoms or
 * quoted strings, lists no deeper than IMAP_MAX_LIST_DEPTH. And for every
 * string argument, imap_quote_string() (mail/imap-quote.h) must produce a
 * well-formed IMAP string that parses back to the same bytes, NULs
 * dropped (they cannot travel in IMAP strings).
 */
#include "fuzz.h"
#include "imap/imap-framing.h"
#include "imap/imap-parser.h"
#include "imap/imap-session.h"
#include "lib/buf.h"
#include "mail/imap-quote.h"


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

/* The conn layer's line limit in this target (imap.max_line_length). */
#define FUZZ_IMAP_MAX_LINE 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_framer f;
	struct fuzz_line line;
	size_t pos = 0;

	if (size == 0)
		return 0;
	/* A first byte 0x00 or 0x01 says whether the session is logged in
	 * (literal limits depend on it); any other input is a logged-in
	 * session's, so the seed corpus stays plain IMAP. */
	bool logged_in = data[0] > 1 || data[0] == 1;
	pos = data[0] <= 1 ? 1 : 0;
	imap_framer_init(&f, FUZZ_IMAP_MAX_LINE, 10 * 1024 * 1024);
	bool bye = false;
	while (!bye && fuzz_next_line(data, size, &pos, &line)) {
		struct imap_frame_action act;
		f.logged_in = logged_in;
		if (line.len > FUZZ_IMAP_MAX_LINE) {
			/* as conn does: notice, then the end with the last bytes */
			imap_frame_line_too_long(&f);
			size_t tail = line.len < 64 ? line.len : 64;
			imap_frame_line_discarded(&f, line.text + line.len - tail, tail, &act);
		} else {
			imap_frame_line(&f, line.text, line.len, &act);
		}
		free(line.text);
		FUZZ_CHECK(f.cmd.len <= f.cmd.max || f.cmd.max == 0);
		switch (act.kind) {
		case IMAP_FRAME_LITERAL:
			/* never a "+" for more than the login state allows */
			if (act.continuation)
				FUZZ_CHECK(act.literal <= (logged_in ? 10u * 1024 * 1024
								    : IMAP_PRELOGIN_MAX_LITERAL));
			if (!logged_in)
				FUZZ_CHECK(act.literal <= IMAP_PRELOGIN_MAX_LITERAL);
			{
				size_t n = size - pos < act.literal ? size - pos : (size_t)act.literal;
				imap_frame_bytes(&f, (const char *)data + pos, n);
				pos += n;
				if (n < act.literal)
					bye = true; /* the input ended inside the literal */
			}
			break;
		case IMAP_FRAME_COMMAND:
			run_command(f.cmd.data != NULL ? f.cmd.data : "", f.cmd.len);
			imap_framer_reset(&f);
			break;
		case IMAP_FRAME_REPLY:
			FUZZ_CHECK(act.status != NULL && act.text != NULL);
			FUZZ_CHECK(f.cmd.len == 0);
			break;
		case IMAP_FRAME_BYE:
			FUZZ_CHECK(act.text != NULL);
			bye = true;
			break;
		case IMAP_FRAME_NONE:
			break;
		}
		imap_frame_action_clear(&act);
	}
	imap_framer_free(&f);
	return 0;
}
