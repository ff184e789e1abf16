/*
 * conn-internal: what conn.c (one connection), conn-listen.c (listeners,
 * admission limits) and tls.c share. Not for protocol code: use conn.h.
 */
#ifndef ROOST_CONN_INTERNAL_H
#define ROOST_CONN_INTERNAL_H
#include "lib/conn.h"
#include <sys/socket.h>

/* Set by conn_global_init(); read by every connection. */
struct conn_global {
	struct event_base *base;
	struct conn_limits limits;
	SSL_CTX *ssl_ctx;
};
extern struct conn_global conn_global;

/* What a listener hands to each connection it accepts. */
struct conn_listener_info {
	char *proto;
	const struct conn_handler *handler;
	bool implicit_tls;
	bool proxy; /* a PROXY header comes first (lib/proxy-proto.h) */
	void (*on_refused)(struct conn *c, enum conn_refusal why);
};

/* conn.c: take over an accepted, nonblocking socket. */
void conn_accept(const struct conn_listener_info *li, evutil_socket_t fd,
		 const struct sockaddr *sa, socklen_t salen);

/* conn-listen.c: admission against conn_global.limits. A connection that
 * was admitted (CONN_REFUSE_NONE) is counted until conn_release(). Unix
 * socket peers (per_ip false) only count against the total. */
enum conn_refusal conn_admit(const char *ip, bool per_ip);
void conn_release(const char *ip, bool per_ip);
#endif
