/*
 * imap-framing: splitting a client's input into IMAP commands (RFC 9051
 * sections 2.2 and 4.3, RFC 7888 literals), with every limit, and nothing
 * else: no I/O, no replies written. imap-session.c feeds it the lines and
 * literal bytes lib/conn.c delivers and carries out the action it returns;
 * tests/fuzz/fuzz-imap-command.c drives the same functions.
 *
 * A command is one line, or several when lines end in a literal marker;
 * it is kept in wire form in f->cmd and parsed once complete. Limits:
 * - a line over imap.max_line_length: BAD, the session continues;
 * - a synchronizing literal over its limit: NO [TOOBIG] at once, before
 *   the client sends it ("+" is never sent, so no byte of it arrives);
 * - a non-synchronizing literal over its limit: BYE [TOOBIG] and close,
 *   since its bytes are already on the way (RFC 7888 section 4);
 * - too many literals: the rest of the command is read and dropped, BAD.
 * - an APPEND/REPLACE literal draws its size from the daemon-wide memory
 *   budget (lib/membudget.h) when announced; refused, a synchronizing one
 *   gets NO [LIMIT] without "+", a non-synchronizing one is read and
 *   dropped (it is within message.max_size), then NO [LIMIT]. What the
 *   framer holds is given back by imap_framer_reset(), or handed to the
 *   command with imap_framer_take_budget().
 * The limit of a literal is chosen from the login state first: before
 * login no literal exceeds IMAP_PRELOGIN_MAX_LITERAL, whatever the command
 * (an APPEND before login is refused by the command table anyway); after
 * login APPEND and REPLACE literals may reach message.max_size.
 */
#ifndef ROOST_IMAP_FRAMING_H
#define ROOST_IMAP_FRAMING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/buf.h"

/* Literal limits (RFC 7888: the server names its own). */
#define IMAP_MAX_LITERAL (1024 * 1024)	/* one literal of a non-APPEND command */
#define IMAP_MAX_LITERALS 1000		/* literals in one command */
#define IMAP_MAX_COMMAND_EXTRA (2 * 1024 * 1024) /* all literals of a non-APPEND command */
/* Before login the only literals a client needs are a user name and a
 * password (LOGIN): a few bytes each. */
#define IMAP_PRELOGIN_MAX_LITERAL (8 * 1024)
#define IMAP_PRELOGIN_MAX_COMMAND_EXTRA (32 * 1024)

struct imap_framer {
	struct buf cmd;		/* the command so far, wire form */
	size_t max_line;	/* imap.max_line_length */
	int64_t max_message;	/* APPEND/REPLACE literal limit; -1 = unlimited */
	bool logged_in;		/* set by the session when login succeeds */
	size_t nliterals;
	bool discarding;	/* over a limit: read the rest, then BAD */
	bool first_line_seen;
	bool is_append;
	bool overlong;		/* dropping a line over the limit */
	bool budget_refused;	/* discarding because the memory budget is spent */
	size_t budget_held;	/* bytes drawn from the memory budget */
};

enum imap_frame_kind {
	IMAP_FRAME_NONE,	/* nothing to do now */
	IMAP_FRAME_LITERAL,	/* send "+ OK" if continuation, then read `literal` bytes */
	IMAP_FRAME_COMMAND,	/* f->cmd holds a complete command: parse and run it */
	IMAP_FRAME_REPLY,	/* `status text` to `tag` (NULL: "*"); framing was reset */
	IMAP_FRAME_BYE,		/* "* BYE text", then close; framing was reset */
};

struct imap_frame_action {
	enum imap_frame_kind kind;
	uint64_t literal;	/* LITERAL: bytes to read (may be 0) */
	bool continuation;	/* LITERAL: a synchronizing literal: send "+" */
	const char *status;	/* REPLY: "BAD" or "NO" */
	const char *text;	/* REPLY, BYE: static text */
	char *tag;		/* REPLY: malloc'd tag or NULL */
};

void imap_framer_init(struct imap_framer *f, size_t max_line, int64_t max_message);
/* Forget the command being framed; its bytes are wiped (they may hold a
 * password) and a large buffer is released. */
void imap_framer_reset(struct imap_framer *f);
void imap_framer_free(struct imap_framer *f);
/* The budget the framed command's literals hold, now the caller's to give
 * back (membudget_give()) when the command that uses them ends. */
size_t imap_framer_take_budget(struct imap_framer *f);
/* Free what an action holds (its tag). */
void imap_frame_action_clear(struct imap_frame_action *act);

/* One input line (CRLF removed) while no command is running. */
void imap_frame_line(struct imap_framer *f, const char *line, size_t len,
		     struct imap_frame_action *act);
/* Bytes of the literal a LITERAL action asked for. */
void imap_frame_bytes(struct imap_framer *f, const char *data, size_t len);
/* conn dropped a line over the limit; the action comes with its end: */
void imap_frame_line_too_long(struct imap_framer *f);
/* ... here, with the last bytes of the dropped line (CONN_DISCARD_TAIL). */
void imap_frame_line_discarded(struct imap_framer *f, const char *tail, size_t len,
			       struct imap_frame_action *act);
#endif
