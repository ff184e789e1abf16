/*
 * trace: per-account protocol traces for support (`roost user trace
 * ADDRESS on|off`). While an account's switch is on, each of its sessions
 * (IMAP, POP3, submission) writes what the client sent ("C: ") and what
 * the server answered ("S: ") to DATADIR/trace/ADDRESS-<time>-<session>.log.
 *
 * The switch is a flag file, DATADIR/trace/ADDRESS.on: no schema change,
 * visible with ls, and never reachable by the user (IMAP METADATA would
 * be). The daemon reads the flags at start; `roost user trace` runs inside
 * the daemon through the control socket when it runs, so the change takes
 * effect at once: at the account's next login, and in its sessions already
 * logged in at their next command line (a generation counter the switch
 * bumps, compared per line: no lock, no stat()).
 *
 * A session knows its account only after login: until then its lines go
 * to a small bounded buffer (only while some account is traced, and not
 * for SMTP/LMTP, which never log in), written at the head of the file when
 * the account turns out to be traced and freed at login otherwise.
 * Secrets never reach the file: LOGIN's password, PASS's argument, an AUTH
 * or AUTHENTICATE initial response and every SASL continuation line are
 * replaced by "[redacted]". Literal and DATA bytes are counted, not
 * copied; long server output is cut after its first line.
 *
 * Output is buffered in memory and written when TRACE_FLUSH_BYTES gather,
 * a second after the first unwritten line, and at the end of the session
 * (small appends to a local file: no noticeable wait on the loop). Each
 * file stops at trace.max_bytes.
 */
#ifndef ROOST_TRACE_H
#define ROOST_TRACE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct trace;

/* Lines kept per session before its login, at most. */
#define TRACE_PRELOGIN_MAX (16 * 1024)
/* Write when this much is buffered. */
#define TRACE_FLUSH_BYTES (16 * 1024)
/* Accounts traced at once, at most. */
#define TRACE_MAX_ACCOUNTS 1000
/* A server write longer than this is traced by its first line only. */
#define TRACE_SERVER_CHUNK_MAX 512

/* The daemon, at start: trace under DATADIR/trace, read the flags. */
void trace_start(const char *datadir, int64_t max_bytes);
/* Set or clear an account's switch (the flag file; and this process's
 * set when trace_start ran here, i.e. in the daemon). 0, or -1 with
 * error_r. Any thread. */
int trace_switch(const char *datadir, const char *address, bool on, char **error_r);
/* Is the account's switch on (in the daemon's set)? Any thread. */
bool trace_enabled(const char *address);
/* Moves on every change of the daemon's set. Any thread; one atomic load. */
uint64_t trace_generation(void);
/* A logged-in session whose trace_generation() moved, before its next
 * command line: returns its trace, started (a new file whose first line
 * says it began mid-session) when `address` is now traced, or NULL when
 * it is not (a running trace ends with a line saying so). Loop thread of
 * the connection. */
struct trace *trace_conn_update(struct conn *c, struct trace *t, const char *proto,
				const char *address);

/* conn.c's hooks (each one line there). */
struct trace *trace_conn_new(const char *proto, const char *session);
void trace_client_line(struct trace *t, const char *line, size_t len);
void trace_client_bytes(struct trace *t, size_t n);
void trace_server(struct trace *t, const void *data, size_t len);
void trace_free(struct trace **t);

/* The protocols' successful login: the login line ("login user=U
 * method=M tls=T [extra]", tls=none without TLS; U as the client sent
 * it), then the trace starts when `address` (the account's own address,
 * which a login without a domain or in other case does not spell) is
 * traced; else the pre-login lines are dropped. */
void conn_login(struct conn *c, const char *user, const char *address, const char *method,
		const char *extra);

/* Redact a client line for the trace (exposed for the unit tests):
 * writes at most out_max - 1 bytes and a NUL; *sasl is the SASL state of
 * the session (true: this line is a continuation). */
size_t trace_redact(const char *line, size_t len, bool *sasl, char *out, size_t out_max);
#endif
