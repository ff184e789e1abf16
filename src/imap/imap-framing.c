/*
 * imap-framing: lines and literals into complete commands, with limits
 * (see imap-framing.h). Pure: the caller does the I/O.
 */
#include "imap/imap-framing.h"
#include "imap/imap-parser.h"
#include "lib/alloc.h"
#include "lib/membudget.h"
#include <stdlib.h>
#include <string.h>

/* The reply to an APPEND literal the memory budget cannot hold. */
#define IMAP_BUDGET_REFUSED "[LIMIT] Server memory budget exhausted, try again later"

/* A released command buffer larger than this is freed, not kept. */
#define IMAP_FRAMER_KEEP_BUF 16384

void imap_framer_init(struct imap_framer *f, size_t max_line, int64_t max_message)
{
	memset(f, 0, sizeof(*f));
	f->max_line = max_line;
	f->max_message = max_message;
	buf_init(&f->cmd, max_line);
}

void imap_framer_reset(struct imap_framer *f)
{
	if (f->cmd.data != NULL)
		wipe(f->cmd.data, f->cmd.len);
	if (f->cmd.cap > IMAP_FRAMER_KEEP_BUF)
		buf_free(&f->cmd);
	buf_reset(&f->cmd);
	f->nliterals = 0;
	f->discarding = false;
	f->first_line_seen = false;
	f->is_append = false;
	f->budget_refused = false;
	membudget_give(f->budget_held);
	f->budget_held = 0;
}

size_t imap_framer_take_budget(struct imap_framer *f)
{
	size_t n = f->budget_held;
	f->budget_held = 0;
	return n;
}

void imap_framer_free(struct imap_framer *f)
{
	imap_framer_reset(f);
	buf_free(&f->cmd);
}

void imap_frame_action_clear(struct imap_frame_action *act)
{
	free(act->tag);
	memset(act, 0, sizeof(*act));
}

static uint64_t message_limit(const struct imap_framer *f)
{
	return f->max_message < 0 ? UINT32_MAX : (uint64_t)f->max_message;
}

/* Limit for one literal of the command being framed: the login state
 * first, then the command. */
static uint64_t literal_limit(const struct imap_framer *f)
{
	if (!f->logged_in)
		return IMAP_PRELOGIN_MAX_LITERAL;
	if (f->is_append)
		return message_limit(f);
	return IMAP_MAX_LITERAL;
}

static char *command_tag(const struct imap_framer *f)
{
	char *tag = NULL, *name = NULL;
	bool uid;
	imap_parser_peek(f->cmd.data != NULL ? f->cmd.data : "", f->cmd.len, &tag, &name, &uid);
	free(name);
	return tag;
}

/* Reply to the command (its tag as far as framed), then start over. */
static void reply(struct imap_framer *f, struct imap_frame_action *act, const char *status,
		  const char *text)
{
	act->kind = IMAP_FRAME_REPLY;
	act->tag = f->first_line_seen ? command_tag(f) : NULL;
	act->status = status;
	act->text = text;
	imap_framer_reset(f);
}

static void bye(struct imap_framer *f, struct imap_frame_action *act, const char *text)
{
	act->kind = IMAP_FRAME_BYE;
	act->text = text;
	imap_framer_reset(f);
}

static void refuse_literal(struct imap_framer *f, bool nonsync, struct imap_frame_action *act,
			   const char *text)
{
	/* A non-synchronizing literal's bytes are already coming: we cannot
	 * tell them from commands, so the session ends (RFC 7888 4). */
	if (nonsync)
		bye(f, act, text);
	else
		reply(f, act, "NO", text);
}

void imap_frame_line(struct imap_framer *f, const char *line, size_t len,
		     struct imap_frame_action *act)
{
	memset(act, 0, sizeof(*act));
	if (!f->first_line_seen) {
		if (len == 0)
			return; /* tolerate empty lines between commands */
		f->first_line_seen = true;
		char *tag = NULL, *name = NULL;
		bool uid;
		if (f->logged_in && imap_parser_peek(line, len, &tag, &name, &uid) == 0 &&
		    name != NULL)
			f->is_append = strcmp(name, "APPEND") == 0 || strcmp(name, "REPLACE") == 0;
		free(tag);
		free(name);
		uint64_t max = f->max_line;
		if (!f->logged_in)
			max += IMAP_PRELOGIN_MAX_COMMAND_EXTRA;
		else if (f->is_append)
			max += IMAP_MAX_COMMAND_EXTRA + message_limit(f);
		else
			max += IMAP_MAX_COMMAND_EXTRA;
		f->cmd.max = max > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)max;
	}
	if (!f->discarding && buf_append(&f->cmd, line, len) < 0)
		f->discarding = true;
	struct imap_literal_info li;
	if (!imap_parser_line_literal(line, len, &li)) {
		if (f->budget_refused)
			reply(f, act, "NO", IMAP_BUDGET_REFUSED);
		else if (f->discarding)
			reply(f, act, "BAD", "[LIMIT] Command too large");
		else
			act->kind = IMAP_FRAME_COMMAND;
		return;
	}
	if (li.size > literal_limit(f)) {
		refuse_literal(f, li.nonsync, act,
			       f->logged_in ? "[TOOBIG] Literal too large"
					    : "[TOOBIG] Literal too large before login");
		return;
	}
	if (++f->nliterals > IMAP_MAX_LITERALS || f->cmd.len + 2 + li.size > f->cmd.max) {
		if (!li.nonsync) {
			refuse_literal(f, false, act,
				       "[TOOBIG] Too many or too large literals in one command");
			return;
		}
		f->discarding = true;
	}
	/* The message literal is the one big buffer a client makes us hold:
	 * it draws from the daemon-wide budget before "+" is sent. */
	if (f->is_append && !f->discarding) {
		if (!membudget_take((size_t)li.size)) {
			if (!li.nonsync) {
				reply(f, act, "NO", IMAP_BUDGET_REFUSED);
				return;
			}
			/* Its bytes are coming and are within message.max_size:
			 * reading and dropping them keeps the session. */
			f->discarding = true;
			f->budget_refused = true;
			membudget_give(f->budget_held);
			f->budget_held = 0;
		} else {
			f->budget_held += (size_t)li.size;
		}
	}
	if (!f->discarding)
		buf_append(&f->cmd, "\r\n", 2);
	act->kind = IMAP_FRAME_LITERAL;
	act->continuation = !li.nonsync;
	act->literal = li.size;
}

void imap_frame_bytes(struct imap_framer *f, const char *data, size_t len)
{
	if (!f->discarding && buf_append(&f->cmd, data, len) < 0)
		f->discarding = true;
}

void imap_frame_line_too_long(struct imap_framer *f)
{
	/* The reply waits for the end of the line: only then do we know
	 * whether a literal's bytes follow it. */
	f->overlong = true;
}

/* The end of an overlong line (RFC 9051 2.2.1 has no way to refuse one).
 * If it ended in a literal marker, its bytes are coming (LITERAL+) or the
 * client waits for "+" (synchronizing): either way they must never be read
 * as commands. A non-synchronizing literal within limits is read and
 * dropped with the rest of the command, then BAD; one over the limits ends
 * the session (BYE [TOOBIG]); a synchronizing one is refused without "+". */
void imap_frame_line_discarded(struct imap_framer *f, const char *tail, size_t len,
			       struct imap_frame_action *act)
{
	memset(act, 0, sizeof(*act));
	if (!f->overlong)
		return;
	f->overlong = false;
	struct imap_literal_info li;
	if (imap_parser_line_literal(tail, len, &li)) {
		if (li.size > literal_limit(f) || !li.nonsync) {
			refuse_literal(f, li.nonsync, act, "[TOOBIG] Command line too long");
			return;
		}
		/* drop the literal and every later line of this command */
		f->first_line_seen = true;
		f->discarding = true;
		if (++f->nliterals > IMAP_MAX_LITERALS) {
			bye(f, act, "[TOOBIG] Too many literals");
			return;
		}
		act->kind = IMAP_FRAME_LITERAL;
		act->literal = li.size;
		return;
	}
	reply(f, act, "BAD", "[TOOBIG] Command line too long");
}
