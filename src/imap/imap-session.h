/*
 * imap-session: one IMAP connection: state machine, command framing
 * (lines + literals), dispatch through the command table, and the helpers
 * every cmd-*.c uses to reply. A command either finishes inside its
 * handler (imap_cmd_ok/no/bad) or later (a store op, a login delay, IDLE),
 * in which case the session pauses input until it finishes.
 */
#ifndef ROOST_IMAP_SESSION_H
#define ROOST_IMAP_SESSION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap/imap-framing.h"
#include "imap/imap-parser.h"
#include "lib/buf.h"

struct conn;
struct config;
struct store;
struct imap_view;

/* BAD replies before login after which the session ends: a client that
 * has not logged in has no business sending junk. */
#define IMAP_PRELOGIN_MAX_BAD 5

enum imap_state {
	IMAP_STATE_NOAUTH = 1,
	IMAP_STATE_AUTH = 2,
	IMAP_STATE_SELECTED = 4,
	IMAP_STATE_LOGOUT = 8,
};
#define IMAP_STATES_AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATES_ANY (IMAP_STATE_NOAUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* Server-wide settings, read once from the config by imap_start(). */
struct imap_server {
	struct config *cfg;
	struct store *store;
	size_t max_line;
	int64_t max_errors;
	int64_t timeout_ms;
	int64_t max_message;		/* APPENDLIMIT; -1 = unlimited */
	uint32_t message_limit;		/* MESSAGELIMIT (imap-messagelimit.h); 0 = none */
};

struct imap_cmd;

struct imap_session {
	struct conn *conn;		/* NULL once the connection is gone */
	struct imap_server *srv;
	enum imap_state state;
	int64_t account_id;
	char *user;
	bool rev2;			/* ENABLE IMAP4rev2 done (RFC 9051 6.3.1) */
	bool utf8_names;		/* mailbox names in UTF-8, not modified UTF-7 */
	bool utf8_accept;		/* ENABLE UTF8=ACCEPT done (RFC 6855 3) */
	bool condstore;			/* CONDSTORE enabled (RFC 7162 3.1): MODSEQ in FETCH */
	bool qresync;			/* QRESYNC enabled (RFC 7162 3.2): VANISHED, not EXPUNGE */
	bool uidonly;			/* UIDONLY enabled (RFC 9586, imap-uidonly.h) */
	int64_t bad_count;

	struct imap_framer framer;	/* the command being received (imap-framing.h) */

	struct imap_cmd *cmd;		/* running command, or NULL */
	struct imap_view *view;		/* selected mailbox, or NULL */
	struct imap_notify *notify;	/* NOTIFY SET state (imap-notify.h), or NULL */
	struct imap_context *contexts;	/* SEARCH RETURN (UPDATE) results (imap-context.h) */
	struct registry_entry *reg;	/* in the account's live sessions (lib/registry.h) */
	int refs;			/* the conn and each pending async op */
};

/* Handler for a line received while a command runs (AUTHENTICATE, IDLE). */
typedef void imap_cmd_line_fn(struct imap_cmd *cmd, const char *line, size_t len);

struct imap_command_def;

struct imap_cmd {
	struct imap_session *s;
	const struct imap_command_def *def;
	struct imap_command_args a;	/* a.tag, a.name, a.uid, a.args */
	imap_cmd_line_fn *on_line;	/* set: input lines go here */
	void (*cleanup)(struct imap_cmd *cmd); /* frees ctx */
	void (*on_drain)(struct imap_cmd *cmd); /* output drained: stream more */
	void *ctx;
	size_t budget_held;	/* memory budget of its literals (APPEND), given back when freed */
	int64_t started_us;	/* metrics_now_us() at arrival: the latency histogram */
	bool done;
};

/* --- replies --- */
void imap_printf(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_write(struct imap_session *s, const void *data, size_t len);
/* Finish the command with a tagged reply. `text` may start with a
 * response code "[...] ". Runs the mailbox sync first. */
void imap_cmd_finish(struct imap_cmd *cmd, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define imap_cmd_ok(cmd, ...) imap_cmd_finish((cmd), "OK", __VA_ARGS__)
#define imap_cmd_no(cmd, ...) imap_cmd_finish((cmd), "NO", __VA_ARGS__)
#define imap_cmd_bad(cmd, ...) imap_cmd_finish((cmd), "BAD", __VA_ARGS__)
/* Append an IMAP string (quoted when safe, else a literal) to b. */
void imap_buf_astring(struct buf *b, const char *s, size_t len);
void imap_buf_string(struct buf *b, const char *s, size_t len);
/* A string for this session's client: once it enabled UTF8=ACCEPT or
 * IMAP4rev2, UTF-8 text goes as a quoted string (RFC 6855 3, RFC 9051 9);
 * otherwise as imap_buf_string. */
void imap_session_buf_string(const struct imap_session *s, struct buf *b, const char *str,
			     size_t len);

/* --- sessions and async ops --- */
/* An async operation starts: keeps the session alive past a disconnect. */
void imap_session_ref(struct imap_session *s);
/* Returns false when the session is gone (connection closed meanwhile):
 * the caller must then stop touching it. */
bool imap_session_unref(struct imap_session *s);
/* Capability list for the current state, without "CAPABILITY". */
void imap_capabilities(struct imap_session *s, struct buf *b);
/* Close the session after writing "* BYE text". */
void imap_session_bye(struct imap_session *s, const char *text);
/* Name of the mailbox as the client writes it (mUTF-7 for rev1). */
char *imap_mailbox_to_wire(struct imap_session *s, const char *name);
/* Client's name to store form; -1 with a reply text when invalid. */
int imap_mailbox_from_wire(struct imap_session *s, const struct imap_arg *arg, char **name_r,
			   const char **error_r);

/* Called by imap.c: the conn handler. */
extern const struct conn_handler imap_conn_handler;
extern struct imap_server imap_server_settings;
#endif
