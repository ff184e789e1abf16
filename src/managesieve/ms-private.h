/*
 * ms-private: what the files of src/managesieve/ share. One session per
 * connection; input is lines with string literals between them
 * (RFC 5804 4: {n+} and {n}), assembled by ms-session.c into one command
 * (at most MS_MAX_ARGS strings) before the table in ms-commands.c
 * checks its name, state and argument count and runs its handler:
 *   managesieve.c    settings, the listener, the config keys
 *   ms-parse.c       the framing: strings and literals of a command (no I/O)
 *   ms-session.c     connection callbacks, literal bytes, replies
 *   ms-commands.c    the table; CAPABILITY, STARTTLS, NOOP, LOGOUT, HAVESPACE
 *   ms-auth.c        AUTHENTICATE PLAIN, UNAUTHENTICATE
 *   ms-scripts.c     PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS, SETACTIVE,
 *                    GETSCRIPT, DELETESCRIPT, RENAMESCRIPT
 * Input is driven by output: while a reply is being written or a store
 * op or login check is in flight, the connection is paused.
 */
#ifndef ROOST_MS_PRIVATE_H
#define ROOST_MS_PRIVATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"
#include "store/store-sieve.h"

struct conn;
struct auth_request;
struct registry_entry;

/* One command line without its literals. */
#define MS_MAX_LINE 8192
/* Strings after the command name (PUTSCRIPT and RENAMESCRIPT take 2). */
#define MS_MAX_ARGS 3
/* A literal before login (an AUTHENTICATE response): RFC 5804 2.1 lets
 * the server bound what an unauthenticated client may send. */
#define MS_MAX_LITERAL_PRELOGIN 8192
/* Octets of all strings of one command (the script plus its name). */
#define MS_MAX_COMMAND(max_script) ((max_script) + 4096)
/* Protocol errors before the connection is closed. */
#define MS_MAX_ERRORS 20

struct ms_settings {
	int64_t max_scripts;	 /* managesieve.max_scripts (0 = no limit) */
	size_t max_script_size;	 /* sieve.max_script_size */
	unsigned max_redirects;	 /* sieve.max_redirects (MAXREDIRECTS) */
	int64_t timeout_ms;	 /* managesieve.timeout */
};

struct ms_server {
	struct store *store;
	struct ms_settings set;
};
extern struct ms_server ms_server;

struct ms_string {
	char *s;		/* NUL-terminated (may hold NULs: use len) */
	size_t len;
	bool atom;		/* was an atom, not a quoted string or literal */
};

/* The strings of one command as they arrive (ms-parse.c). */
struct ms_words {
	struct ms_string words[MS_MAX_ARGS + 1];
	int nwords;
	size_t bytes;		/* of every string so far */
	bool overflow;		/* more than MS_MAX_ARGS + 1: refused when complete */
};
enum ms_parse {
	MS_PARSE_DONE,		/* the command is complete */
	MS_PARSE_LITERAL,	/* *literal_r octets follow; then the next line */
	MS_PARSE_BAD_QUOTED,
	MS_PARSE_BAD_LITERAL,	/* a malformed {n+}, or text after it */
	MS_PARSE_TOO_LARGE,	/* past `max` octets (a literal's announced size too) */
};
/* Add one line's strings to `w`. On an error `w` holds what came before
 * (the caller resets it). */
enum ms_parse ms_parse_line(struct ms_words *w, const char *line, size_t len, size_t max,
			    uint64_t *literal_r);
/* Take `str` (malloc'd) as the next string. */
void ms_words_add(struct ms_words *w, char *str, size_t len, bool atom);
void ms_words_reset(struct ms_words *w);

enum ms_sasl_step {
	MS_SASL_NONE = 0,
	MS_SASL_PLAIN,		/* the PLAIN response */
	MS_SASL_SCRAM_FIRST,	/* SCRAM-SHA-256 client-first-message */
	MS_SASL_SCRAM_FINAL,	/* client-final-message */
};
struct auth_scram;

struct ms_session {
	struct conn *conn;
	bool authed;
	int64_t account_id;
	char *user;
	struct registry_entry *reg;	/* in the account's live sessions (lib/registry.h) */
	unsigned errors;
	/* the command being assembled */
	struct ms_words cmd;
	char *literal;		/* being read (conn_read_bytes) */
	size_t literal_len, literal_want;
	/* AUTHENTICATE waiting for the client's next SASL string */
	enum ms_sasl_step sasl_wait;
	struct auth_scram *scram;
	struct auth_request *auth_req;
	/* a store op in flight: the session outlives its connection */
	bool busy, closed;
	struct store_op op;
	struct store_sieve_put put;
	struct store_sieve_name name;
	char *arg1, *arg2;	/* the op's inputs, owned */
	void (*op_done)(struct ms_session *s);
};

/* Replies (RFC 5804 1.3): OK/NO/BYE [(CODE)] ["text"]. */
void ms_ok(struct ms_session *s, const char *code, const char *text);
void ms_no(struct ms_session *s, const char *code, const char *text);
void ms_bye(struct ms_session *s, const char *code, const char *text);
/* A protocol error: NO, counted against MS_MAX_ERRORS. */
void ms_error(struct ms_session *s, const char *text);
/* A string as a quoted string, or a literal {n} when it must be. */
void ms_write_string(struct ms_session *s, const char *str, size_t len);
void ms_send_capabilities(struct ms_session *s);
/* Run `op` (set up in s->op) through the store; `done` replies. */
void ms_op_submit(struct ms_session *s, void (*done)(struct ms_session *s));
void ms_session_free(struct ms_session *s);
/* A store error's reply (NO with TRYLATER for transient ones). */
void ms_store_err(struct ms_session *s, enum store_err err);

/* The command table (ms-commands.c). */
struct ms_command {
	const char *name;
	int min_args, max_args;
	bool need_auth, before_auth;	/* allowed states */
	void (*fn)(struct ms_session *s, struct ms_string *args, int nargs);
};
const struct ms_command *ms_command_find(const char *name);
/* The SASL response line of AUTHENTICATE (ms-auth.c). */
void ms_auth_response(struct ms_session *s, struct ms_string *str);
void ms_auth_cancel(struct ms_session *s);

void ms_cmd_capability(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_starttls(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_noop(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_logout(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_havespace(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_authenticate(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_unauthenticate(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_putscript(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_checkscript(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_listscripts(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_setactive(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_getscript(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_deletescript(struct ms_session *s, struct ms_string *a, int n);
void ms_cmd_renamescript(struct ms_session *s, struct ms_string *a, int n);
#endif
