/*
 * pop3-private: what the files of src/pop3/ share. One session per
 * connection; the command table (pop3-commands.c) drives dispatch; each
 * command group lives in its own file:
 *   pop3.c           settings, listeners, the expire timer
 *   pop3-session.c   connection callbacks, line parsing, dispatch, replies
 *   pop3-commands.c  the command table and command-line parsing (no I/O)
 *   pop3-auth.c      USER, PASS, AUTH, login, failure delay
 *   pop3-lock.c      one POP3 session per account (in-process table,
 *                    then the node lock on a shared database)
 *   pop3-maildrop.c  the snapshot (pop3.mailboxes): STAT, LIST, UIDL, DELE,
 *                    RSET, NOOP; LIST and UIDL streamed on drain
 *   pop3-retr.c      RETR and TOP, streamed with byte-stuffing
 *   pop3-format.c    CRLF conversion and sizes (no I/O; unit tested)
 *   pop3-quit.c      QUIT and the UPDATE state's one store commit
 *   pop3-capa.c      CAPA, STLS, UTF8
 *   pop3-expire.c    pop3.expire_days
 */
#ifndef ROOST_POP3_PRIVATE_H
#define ROOST_POP3_PRIVATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

struct conn;
struct event;
struct store;
struct registry_entry;

/* RFC 2449 section 4: command lines are at most 255 octets, but an AUTH
 * initial response (RFC 5034 section 4) and SASL responses may be longer;
 * allow a full SASL response plus the command. */
#define POP3_MAX_LINE 4200
/* Longest argument of USER/PASS (RFC 1939 gives none; auth.h limits). */
#define POP3_MAX_ARGS 2
/* Stream RETR output in steps of this much input (conn_output_full says
 * when to stop). */
#define POP3_CHUNK_INPUT (64 * 1024)

/* Protocol states (RFC 1939 section 3), as bits for the command table. */
enum pop3_state {
	POP3_STATE_AUTH = 0x1,	/* AUTHORIZATION */
	POP3_STATE_TRANS = 0x2, /* TRANSACTION */
	POP3_STATE_UPDATE = 0x4,/* QUIT received, committing */
};

struct pop3_settings {
	bool delete_hide;	/* pop3.delete = hide */
	bool retr_marks_seen;
	int64_t expire_days;	/* 0 = never */
	bool concurrent;	/* pop3.concurrent_sessions */
	int64_t login_delay_ms;	/* 0 = not advertised */
	int64_t timeout_ms;
	int64_t max_errors;
	bool mailboxes_all;	/* pop3.mailboxes = all */
};

struct pop3_server {
	struct store *store;
	struct pop3_settings set;
	struct event *expire_timer;
};
/* The one POP3 server of the process (pop3.c). */
extern struct pop3_server pop3_server;

/* One message of the snapshot taken at login. Numbers are index + 1. */
struct pop3_msg {
	int64_t mailbox_id;	/* where it is (pop3.mailboxes = all: any folder) */
	uint32_t uid;
	int64_t stored_size;	/* octets as stored (may use bare LF) */
	int64_t size;		/* octets RETR sends (CRLF form); -1 = not yet known */
	char *uidl;
	bool deleted;		/* DELE'd in this session */
	bool retrieved;		/* RETR'd in this session */
};

/* Another row of the store that is the same message as msgs[msg] (a COPY
 * carries the UIDL and EMAILID): not listed, but DELE and RETR of msg
 * apply to it too. */
struct pop3_dup {
	size_t msg;
	int64_t mailbox_id;
	uint32_t uid;
};

/* A multi-line LIST or UIDL being sent (on drain, like RETR). */
enum pop3_listing { POP3_LISTING_NONE, POP3_LISTING_LIST, POP3_LISTING_UIDL };

enum pop3_sasl_step {
	POP3_SASL_NONE,
	POP3_SASL_PLAIN,	/* waiting for the PLAIN response */
	POP3_SASL_LOGIN_USER,	/* waiting for the LOGIN user name */
	POP3_SASL_LOGIN_PASS,	/* waiting for the LOGIN password */
};

struct pop3_commit;
struct pop3_lock_job;

struct pop3_session {
	struct conn *conn;
	struct pop3_server *server;
	enum pop3_state state;
	int64_t errors;

	/* AUTHORIZATION */
	char *user;		/* from USER, or the SASL LOGIN user name */
	enum pop3_sasl_step sasl;
	struct auth_request *auth_req;	/* password check in flight */
	struct pop3_lock_job *lock_job;	/* node lock being taken (pop3-auth.c) */
	char *login_user;	/* the user name being checked */
	const char *auth_method; /* "USER", "PLAIN", "LOGIN": the login line */
	bool utf8;		/* RFC 6856 UTF8 issued */

	/* TRANSACTION */
	int64_t account_id;
	int64_t mailbox_id;	/* INBOX: its absence means the account is gone */
	bool maildrop_all;	/* effective pop3.mailboxes for this account */
	bool delete_hide;	/* effective pop3.delete for this account */
	bool locked;		/* holds the account lock */
	struct registry_entry *reg;	/* in the account's live sessions (lib/registry.h) */
	struct pop3_msg *msgs;
	size_t nmsgs;
	struct pop3_dup *dups;
	size_t ndups;

	/* LIST/UIDL streaming */
	enum pop3_listing listing;
	size_t listing_pos;

	/* RETR/TOP streaming */
	char *out_data;
	size_t out_len, out_pos;
	bool out_active;
	size_t out_budget;	/* memory budget drawn for out_data */
	bool out_top;		/* TOP: stop after the header and out_lines body lines */
	bool out_in_body;
	uint64_t out_lines;

	/* UPDATE: the commit in flight (survives the session if it closes). */
	struct pop3_commit *commit;
};

/* pop3-session.c */
extern const struct conn_handler pop3_conn_handler;
/* Reply "+OK text". */
void pop3_ok(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reply "-ERR text" and count an error; closes after pop3.max_errors. */
void pop3_err(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reply "-ERR text" for a failure that is not the client's fault. */
void pop3_err_nocount(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* pop3-store-err.c: a store error as "[CODE] " (RFC 3206), and as the
 * reply "-ERR [CODE] text" (not counted as a client error). */
const char *pop3_store_err_code(enum store_err err);
void pop3_store_err(struct pop3_session *s, enum store_err err, const char *text);
/* Parse a message number argument: 1..nmsgs, digits only. Replies -ERR and
 * returns NULL when it is bad, out of range, or DELE'd. */
struct pop3_msg *pop3_msg_arg(struct pop3_session *s, const char *arg);
/* Parse a non-negative decimal; -1 if not digits or too large. */
int pop3_parse_number(const char *arg, uint64_t max, uint64_t *n_r);
void pop3_session_free_msgs(struct pop3_session *s);
/* End the session: "-ERR reason" and close, without entering UPDATE (so
 * nothing is deleted, RFC 1939 section 6). For `user del|passwd|disable`
 * (registry.h) and a maildrop that no longer exists. A session already in
 * UPDATE finishes its commit and closes by itself. */
void pop3_session_end(void *session, const char *reason);

/* pop3-commands.c */
typedef void pop3_cmd_fn(struct pop3_session *s, char **args, int nargs);
#define POP3_CMD_REST 0x1	/* the one argument is the rest of the line (PASS) */
#define POP3_CMD_SECRET 0x2	/* never log the arguments */
struct pop3_command {
	const char *name;
	pop3_cmd_fn *fn;
	unsigned states;	/* enum pop3_state bits */
	int min_args, max_args;
	unsigned flags;
};
const struct pop3_command *pop3_command_find(const char *name);

/* RFC 2449 section 4: keywords are 3 or 4 characters; allow a little more
 * so that a long unknown keyword gets "unknown command", not "bad syntax". */
#define POP3_MAX_KEYWORD 16

/* What pop3_parse_command() found wrong with a line, in the order it
 * checks; each has its -ERR text (pop3_parse_error_text()). */
enum pop3_parse_result {
	POP3_PARSE_OK,
	POP3_PARSE_TOO_LONG,	/* over POP3_MAX_LINE (lib/conn.c drops such lines) */
	POP3_PARSE_NUL,		/* a NUL byte in the line */
	POP3_PARSE_UNKNOWN,	/* no such keyword, or one over POP3_MAX_KEYWORD */
	POP3_PARSE_WRONG_STATE,	/* known, but not valid in this state */
	POP3_PARSE_TOO_MANY_ARGS,
	POP3_PARSE_MISSING_ARG,
};

/* One command line, split. args point into the line given. */
struct pop3_command_line {
	const struct pop3_command *cmd;	/* NULL for TOO_LONG, NUL, UNKNOWN */
	char *args[POP3_MAX_ARGS];
	int nargs;
};

/* Split and check one command line (CRLF removed, line[len] == '\0') the
 * way the session does before running a handler: the keyword up to the
 * first space, looked up case-insensitively (RFC 1939 section 3); its
 * state; the arguments separated by spaces (empty ones skipped), or for a
 * POP3_CMD_REST command the rest of the line as one argument; their count
 * against the table. Spaces in `line` are overwritten with NULs. Pure: no
 * I/O, no session; pop3-session.c and tests/fuzz/fuzz-pop3.c call it. */
enum pop3_parse_result pop3_parse_command(char *line, size_t len, enum pop3_state state,
					  struct pop3_command_line *out);
/* The -ERR text for a result other than POP3_PARSE_OK. */
const char *pop3_parse_error_text(enum pop3_parse_result r);

/* Command handlers. */
pop3_cmd_fn pop3_cmd_user, pop3_cmd_pass, pop3_cmd_auth, pop3_cmd_capa, pop3_cmd_stls,
	pop3_cmd_utf8, pop3_cmd_stat, pop3_cmd_list, pop3_cmd_uidl, pop3_cmd_dele,
	pop3_cmd_rset, pop3_cmd_noop, pop3_cmd_retr, pop3_cmd_top, pop3_cmd_quit;

/* pop3-auth.c */
/* A line received while a SASL exchange waits for a response. */
void pop3_auth_sasl_line(struct pop3_session *s, const char *line, size_t len);
void pop3_auth_cancel_delay(struct pop3_session *s);

/* pop3-maildrop.c */
/* Take the snapshot for s->account_id (INBOX, or with pop3.mailboxes =
 * all every mailbox but Trash, Junk and Sent): STORE_OK or the store's
 * error (with a detail for the log in *error_r). Rows without a stored
 * UIDL get one, written to the store in the background. */
enum store_err pop3_maildrop_open(struct pop3_session *s, char **error_r);
/* Continue a LIST/UIDL listing (on drain). */
void pop3_listing_continue(struct pop3_session *s);
/* After a read found a message missing: is the maildrop itself gone
 * (its account deleted)? Then the session has been ended: return true. */
bool pop3_maildrop_gone(struct pop3_session *s);
/* Fill msg->size (reading the message once if needed). */
int64_t pop3_maildrop_size(struct pop3_session *s, struct pop3_msg *m);

/* pop3-retr.c */
/* Continue streaming a RETR/TOP reply (on drain). */
void pop3_retr_continue(struct pop3_session *s);
void pop3_retr_abort(struct pop3_session *s);

/* pop3-quit.c */
/* The connection is going away: detach a commit in flight, drop the lock. */
void pop3_quit_session_gone(struct pop3_session *s);

/* pop3-expire.c: start the pop3.expire_days timer on this loop (once;
 * nothing when expire_days is 0 or base is NULL). */
struct event_base;
void pop3_expire_start(struct event_base *base);

/* pop3-lock.c */
enum pop3_lock_result { POP3_LOCK_OK, POP3_LOCK_IN_USE, POP3_LOCK_TOO_SOON, POP3_LOCK_TEMP };
/* A login's lock between its two halves. */
struct pop3_lock_attempt {
	int64_t account_id;
	bool node;		/* the node lock is still to take */
	int64_t prev_login_ms;	/* restored if the node lock fails */
	enum store_err node_err;
};
/* Take the lock for an account (or just count it when concurrent) in
 * this process (event loop; no I/O). login_delay_ms > 0 refuses a login
 * sooner than that after the last one (on this node). POP3_LOCK_OK with
 * a_r->node set: on a shared database, pop3_lock_take_node() must follow
 * (off the event loop: it waits for the database), then, on the event
 * loop, pop3_lock_take_finish() with the outcome (POP3_LOCK_TEMP: the
 * database could not say), which undoes this take on failure. */
struct store;
enum pop3_lock_result pop3_lock_take(struct store *store, int64_t account_id, bool concurrent,
				     int64_t login_delay_ms, struct pop3_lock_attempt *a_r);
void pop3_lock_take_node(struct store *store, struct pop3_lock_attempt *a);
enum pop3_lock_result pop3_lock_take_finish(struct pop3_lock_attempt *a);
void pop3_lock_release(struct store *store, int64_t account_id);

/* pop3-format.c: a stored message as POP3 sends it (RFC 1939 section 3):
 * every line ends in CRLF (bare LF becomes CRLF; a last line without LF
 * gets one), and lines starting with '.' get one more (byte-stuffing).
 * The "size" is the octets of the CRLF form without the stuffing: what the
 * client holds after removing it, as RFC 1939 section 11 asks of LIST/STAT. */
int64_t pop3_format_size(const char *data, size_t len);
struct buf;
/* Append the CRLF, byte-stuffed form of data[*pos..] to out, consuming at
 * most `max_in` input bytes (whole lines, at least one). For TOP, when
 * `top` is set, stops after the header and *lines_left body lines
 * (decremented; *in_body tracks the blank line). Returns true when done. */
bool pop3_format_chunk(const char *data, size_t len, size_t *pos, size_t max_in,
		       struct buf *out, bool top, bool *in_body, uint64_t *lines_left);
#endif
