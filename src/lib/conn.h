/*
 * conn: one client connection, the only place that touches sockets and TLS.
 *
 * Protocol code sees whole lines (CRLF or LF stripped) or counted byte runs,
 * and writes bytes; TLS (implicit or STARTTLS) happens underneath with
 * OpenSSL inside libevent bufferevents. All callbacks run on the event loop
 * thread that owns the connection. The protocol session hangs off
 * conn_set_data(); it is freed in on_close.
 *
 * Flow control: conn_pause() stops delivering input (e.g. while a storage
 * write is in flight); conn_resume() continues with whatever the client had
 * already pipelined.
 *
 * Input is driven by output, one rule for every protocol: once the output
 * pending in all layers (conn_output_pending: our buffer, the deflate and
 * TLS filters, the socket's buffer) reaches CONN_OUTPUT_HIGH, no more
 * input is delivered (so the socket is no longer read either) and
 * conn_output_full() is true; when it falls to CONN_OUTPUT_LOW, on_drain
 * runs (a streamer such as FETCH or RETR queues its next piece) and input
 * flows again. Output pending with no byte leaving the socket for
 * conn_limits.output_stall_ms closes the connection (logged); input never
 * resets that clock. A handler may call conn_close() at any time; the
 * connection is flushed and freed later (deferred close), never under the
 * handler's feet.
 */
#ifndef ROOST_CONN_H
#define ROOST_CONN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include "lib/log.h"

struct conn;

#define CONN_DISCARD_TAIL 64

/* Output watermarks (bytes, over all layers; see the top comment). */
#define CONN_OUTPUT_HIGH (256 * 1024)
#define CONN_OUTPUT_LOW (64 * 1024)

struct conn_handler {
	const char *proto; /* "imap", "pop3", "smtp", "lmtp": logs and limits */
	/* Connection is ready (after the TLS handshake, for implicit TLS). */
	void (*on_connect)(struct conn *c);
	/* One input line, NUL-terminated at line[len], CR/LF removed. The line
	 * may contain NUL bytes: use len. Not called while paused. */
	void (*on_line)(struct conn *c, char *line, size_t len);
	/* A line exceeded the limit. Its bytes up to the next LF are discarded
	 * without being delivered; this is called once per such line. */
	void (*on_line_too_long)(struct conn *c);
	/* Optional: the LF ending such a line arrived. `tail` holds the last
	 * bytes of the discarded line (at most CONN_DISCARD_TAIL, CR removed),
	 * so a protocol can tell whether it ended in a length marker whose
	 * bytes will follow (IMAP literals). Called after on_line_too_long. */
	void (*on_line_discarded)(struct conn *c, const char *tail, size_t len);
	/* Byte mode (after conn_read_bytes): the next chunk of the n bytes;
	 * `last` on the final chunk, after which line mode resumes. */
	void (*on_bytes)(struct conn *c, const char *data, size_t len, bool last);
	/* Output was full (conn_output_full) and fell to CONN_OUTPUT_LOW:
	 * stream more. Optional. */
	void (*on_drain)(struct conn *c);
	/* Idle timeout expired. Optional; default closes the connection. */
	void (*on_timeout)(struct conn *c);
	/* STARTTLS handshake done; plaintext pipelined before it was discarded. */
	void (*on_tls_ready)(struct conn *c);
	/* Optional: the client's compressed stream (conn_start_deflate) is
	 * corrupt. Write a farewell (it goes out compressed); the connection
	 * closes right after. */
	void (*on_stream_error)(struct conn *c);
	/* The connection is gone (peer closed, error, or conn_close done).
	 * Free the session here. The conn is freed right after. Called exactly
	 * once for every connection that got on_connect (never for refused
	 * ones or failed implicit-TLS handshakes). */
	void (*on_close)(struct conn *c);
};

/* Session data owned by the protocol. */
void conn_set_data(struct conn *c, void *data);
void *conn_data(const struct conn *c);

/* Output. Never blocks; data is queued. */
void conn_write(struct conn *c, const void *data, size_t len);
void conn_puts(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes queued but not yet sent, over every layer. */
size_t conn_output_pending(const struct conn *c);
/* Output reached CONN_OUTPUT_HIGH and has not yet drained to
 * CONN_OUTPUT_LOW: a streamer stops now and continues in on_drain. */
bool conn_output_full(const struct conn *c);

/* Input. Default line limit is 1000 bytes, excluding CRLF. */
void conn_set_line_max(struct conn *c, size_t max);
/* Deliver the next n bytes through on_bytes, then return to line mode. */
void conn_read_bytes(struct conn *c, uint64_t n);
/* Bytes received but not yet delivered (e.g. pipelined commands). */
size_t conn_input_pending(const struct conn *c);
/* Drop everything received but not yet delivered. */
void conn_discard_input(struct conn *c);
/* Inside on_line or on_line_too_long: true when the line just delivered
 * (or discarded) ended with a bare LF (no CR before it). SMTP DATA needs
 * this: only CRLF.CRLF ends a message, and "\n.\n" must not
 * (RFC 5321 2.3.8, 4.1.1.4; SMTP smuggling). */
bool conn_line_bare_lf(const struct conn *c);
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* The client logged in: cancel the login deadline that every connection
 * gets at connect (conn_limits.login_timeout_ms, not reset by input; on
 * expiry on_timeout runs, then the connection closes). */
void conn_authenticated(struct conn *c);

/* Idle timeout: reset by every byte received. 0 = none. Until the protocol
 * sets one, a connection has a 10 minute default. */
void conn_set_timeout(struct conn *c, int64_t ms);

/* Line deadline: once the first byte of a line has arrived, its LF must
 * arrive within ms, however steadily bytes trickle in (the idle timeout
 * alone never ends a client that sends one byte per second). On expiry
 * on_timeout runs (default: close). Not applied to byte runs
 * (conn_read_bytes) or while paused. 0 = none. Every connection starts
 * with conn_limits.line_timeout_ms. */
void conn_set_line_timeout(struct conn *c, int64_t ms);

/* STARTTLS: discards any buffered plaintext input, then handshakes.
 * Queue the protocol's "go ahead" reply before calling this: output
 * written afterwards is encrypted.
 * -1 when TLS is not configured or already active. on_tls_ready follows;
 * a failed handshake closes the connection. */
int conn_starttls(struct conn *c);
/* COMPRESS=DEFLATE (RFC 4978): from now on both directions are raw
 * deflate streams, between the protocol and TLS. Queue the protocol's OK
 * before calling this: it goes out uncompressed. Input the client
 * pipelined after the command is taken as compressed (RFC 4978 section 3).
 * -1 when already active or the connection is going away. A corrupt input
 * stream ends the connection (on_stream_error first). */
int conn_start_deflate(struct conn *c);
bool conn_deflate_active(const struct conn *c);
bool conn_tls_active(const struct conn *c);
bool conn_tls_available(const struct conn *c);
/* e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384"; NULL without TLS. */
const char *conn_tls_description(const struct conn *c);

/* Flush output, then close. Further input is ignored. */
/* Why the session ends, for the disconnect line: a static string; the
 * first one set wins ("logout", "kicked"...). */
void conn_set_close_reason(struct conn *c, const char *why);
void conn_close(struct conn *c);

/* Identity, for logs and policy. */
const char *conn_id(const struct conn *c);
/* The session's support trace (lib/trace.h), or NULL. */
struct trace *conn_trace(const struct conn *c);
/* The account the session logged in as (conn_login, lib/trace.h): its
 * trace switch is looked at now if a switch moved since the connection
 * began, and again before each command line whenever one moves. NULL:
 * none. */
void conn_set_account(struct conn *c, const char *address);
const char *conn_remote_ip(const struct conn *c);   /* "127.0.0.1", "::1", "unix" */
bool conn_is_loopback(const struct conn *c);        /* 127/8, ::1 or a unix socket */
/* Plaintext password login allowed per auth.allow_plaintext? */
bool conn_plaintext_auth_ok(const struct conn *c);
struct event_base *conn_base(const struct conn *c);

/* Logs "proto=P session=ID ip=ADDR <message>". */
void conn_log(const struct conn *c, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --- listening (daemon side) --- */

struct conn_limits {
	int64_t max_connections;	/* over all listeners */
	int64_t max_connections_per_ip;
	int allow_plaintext;		/* 0 = never, 1 = loopback only, 2 = always */
	int64_t line_timeout_ms;	/* conn_set_line_timeout() default; 0 = none */
	int64_t output_stall_ms;	/* output pending, nothing sent: close; 0 = none */
	int64_t login_timeout_ms;	/* connect to conn_authenticated(); 0 = none */
};

/* Why an accepted connection was refused (the protocol writes its own
 * refusal line, e.g. "421 4.7.0 ..." or "* BYE ...", then it is closed). */
enum conn_refusal { CONN_REFUSE_NONE, CONN_REFUSE_PER_IP, CONN_REFUSE_TOTAL };

struct conn_listener_spec {
	const char *proto;		 /* for logs */
	const char *listen;		 /* config value: "host:port,unix:/path" */
	const struct conn_handler *handler;
	bool implicit_tls;
	/* Called instead of on_connect when a limit refuses the connection:
	 * write the refusal; the conn then closes. Not called on implicit-TLS
	 * listeners (the socket is just closed, no handshake is spent). */
	void (*on_refused)(struct conn *c, enum conn_refusal why);
};

/* One-time setup: limits and the TLS context (NULL = no TLS).
 * Takes a reference on ssl_ctx. */
void conn_global_init(struct event_base *base, const struct conn_limits *limits, SSL_CTX *ssl_ctx);
/* The loop given to conn_global_init() (NULL before it): for a protocol's
 * own server-wide timers, started before any connection exists. */
struct event_base *conn_global_base(void);
/* Bind and listen on every address in spec->listen. -1 with error_r naming
 * the address on failure. Empty listen value = nothing, returns 0. */
int conn_listen(const struct conn_listener_spec *spec, char **error_r);
/* Stop accepting (graceful shutdown). */
void conn_listen_stop_all(void);
/* Port bound by the most recent TCP address conn_listen() opened (useful
 * with port 0, e.g. in tests); 0 when none. */
int conn_listen_last_port(void);
/* Split a listen address in place: "host:port", "[v6]:port", "*:port" or
 * ":port" (*host_r NULL = every address); the port is 1-5 digits, at most
 * 65535. 0, or -1 when malformed (a bare IPv6 address needs brackets). */
int conn_split_host_port(char *s, char **host_r, char **port_r);
/* Number of open client connections. */
size_t conn_count(void);
/* Close every connection after flushing (shutdown). */
void conn_close_all(void);

/* Build a server SSL_CTX from PEM files (TLS 1.2+, SSL_MODE_RELEASE_BUFFERS). */
SSL_CTX *tls_server_ctx_new(const char *cert_path, const char *key_path, char **error_r);
#endif
