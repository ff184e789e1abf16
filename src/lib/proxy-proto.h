/*
 * proxy-proto: the HAProxy PROXY protocol, versions 1 (text) and 2
 * (binary), so that nodes behind a load balancer see the client's address
 * instead of the balancer's (throttling, per-IP limits, logs, `roost who`,
 * Received: headers all key on conn_remote_ip()).
 *
 * Three parts: the parser (pure, fuzzed: proxy_parse), the settings (which
 * listeners expect a header, which sources may send one) and the reader
 * that takes the header off a freshly accepted socket before anything
 * else reads it (before TLS on implicit-TLS ports, before the greeting on
 * plain ones). The reader never reads a byte past the header: it peeks,
 * then consumes exactly the header's bytes, so the client's first bytes
 * after it reach the protocol (or the TLS handshake) untouched.
 */
#ifndef ROOST_PROXY_PROTO_H
#define ROOST_PROXY_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <event2/event.h>

/* Spec 2.1: the longest v1 line, "PROXY TCP6 <39> <39> 65535 65535\r\n". */
#define PROXY_V1_MAX 107
/* Spec 2.2: the fixed part of a v2 header (signature, ver/cmd, family,
 * length). */
#define PROXY_V2_FIXED 16
/* Address block plus TLVs we accept after the fixed part: the UNIX block
 * (216 bytes) and room for TLVs; longer headers are refused. */
#define PROXY_V2_BLOCK_MAX 520
#define PROXY_HEADER_MAX (PROXY_V2_FIXED + PROXY_V2_BLOCK_MAX)
/* A trusted source must send its whole header within this. */
#define PROXY_HEADER_TIMEOUT_MS 5000
/* Connections awaiting their header at once (they are not yet counted
 * against server.max_connections); more are closed at accept. */
#define PROXY_PENDING_MAX 4096
/* Networks in proxy.trusted. */
#define PROXY_TRUSTED_MAX 64

enum proxy_parse_result {
	PROXY_PARSE_DONE,  /* a whole valid header: h_r filled */
	PROXY_PARSE_MORE,  /* a valid prefix: every byte given is header */
	PROXY_PARSE_ERROR, /* not a valid header: *error_r says why */
};

struct proxy_header {
	int version; /* 1 or 2 */
	/* No client address to take: v2 LOCAL (the balancer's own health
	 * check), v2 UNSPEC or AF_UNIX, v1 UNKNOWN. The connection keeps its
	 * own peer address. */
	bool local;
	struct sockaddr_storage src, dst; /* when !local: AF_INET or AF_INET6 */
	socklen_t src_len, dst_len;
	size_t len; /* bytes of the header, TLVs included */
};

/* Parse the start of a connection's input. `buf` holds the first `len`
 * bytes received. MORE promises that all `len` bytes belong to the header
 * (none may be handed on to the protocol). */
enum proxy_parse_result proxy_parse(const unsigned char *buf, size_t len,
				    struct proxy_header *h_r, const char **error_r);

/* Settings, once at start-up before any listener opens.
 * `listeners`: comma/space separated listener names ("imap, imaps, pop3,
 * pop3s, smtp, submission, submissions, lmtp, http, https"), "all", or
 * empty/"off" for none. `trusted`: CIDR list ("127.0.0.1/32, ::1/128"; a
 * bare address is one host). -1 with error_r on a bad value. */
int proxy_configure(const char *listeners, const char *trusted, char **error_r);
/* Does the listener `proto` ("imap", "pop3s"...) expect a header? */
bool proxy_enabled(const char *proto);
/* Is this peer allowed to send a header (in proxy.trusted)? */
bool proxy_trusted(const struct sockaddr *sa, socklen_t salen);
/* Parse one CIDR list into the table (exposed for unit tests): -1 on a
 * malformed entry or more than PROXY_TRUSTED_MAX. */
int proxy_set_trusted(const char *trusted, char **error_r);

/* The header arrived: sa is the client's address (or the connection's own
 * peer when the header carried none). The callee owns fd. */
typedef void proxy_done_fn(evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
			   void *arg);

/* Take the PROXY header off an accepted nonblocking socket, then call
 * done. A peer outside proxy.trusted, a malformed header, the peer closing
 * PROXY_PENDING_MAX already waiting, or PROXY_HEADER_TIMEOUT_MS passing:
 * logged (with `proto` and the peer
 * address) and the socket closed; done is not called. */
void proxy_accept(struct event_base *base, const char *proto, evutil_socket_t fd,
		  const struct sockaddr *sa, socklen_t salen, proxy_done_fn *done, void *arg);
/* The same for a socket another library owns (evhttp): on failure, after
 * the log line, fail(fd, arg) runs instead of the socket being closed. */
typedef void proxy_fail_fn(evutil_socket_t fd, void *arg);
void proxy_read(struct event_base *base, const char *proto, evutil_socket_t fd,
		const struct sockaddr *sa, socklen_t salen, proxy_done_fn *done,
		proxy_fail_fn *fail, void *arg);
/* Drop every header still awaited for `arg` (a listener or connection
 * going away); sockets read with proxy_read are left to their owner. */
void proxy_cancel(void *arg);
#endif
