/*
 * conn: one client connection (see conn.h for the contract).
 *
 * Owns the socket bufferevent, TLS on top of it (implicit TLS: an OpenSSL
 * socket bufferevent; STARTTLS: an OpenSSL filter stacked on the socket
 * bufferevent), COMPRESS=DEFLATE (a zlib filter, lib/compress.c, stacked on
 * top of whatever is below: compress, then encrypt), line framing, counted
 * byte runs, pause/resume, the idle timer, the line deadline and the
 * deferred close.
 *
 * Reentrancy rules, so that no handler ever runs on a freed connection:
 * - every bufferevent uses BEV_OPT_DEFER_CALLBACKS, so libevent never calls
 *   us back from inside conn_write() or another call a handler makes;
 * - handler calls are bracketed by c->busy; input processing never nests;
 * - the connection is freed only from its own deferred event (conn_kick),
 *   which runs from the event loop, never under a handler.
 */
#include "lib/conn.h"
#include "lib/conn-internal.h"
#include "lib/alloc.h"
#include "lib/compress.h"
#include "lib/metrics.h"
#include "lib/trace.h"
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

/* Default line limit, excluding CRLF (RFC 5321 4.5.3.1.6 allows 1000
 * including CRLF; protocols that need more call conn_set_line_max). */
#define CONN_LINE_MAX_DEFAULT 1000
/* Input buffered per connection before libevent stops reading the socket
 * (backpressure while paused or while a byte run is being consumed). */
#define CONN_INPUT_HIGH (64 * 1024)
/* Write watermark of the socket under a STARTTLS filter: the filter keeps
 * records above it in its own buffer (still counted as pending). */
#define CONN_DRAIN_LOWAT (64 * 1024)
/* How long a closing connection may take to flush its output. */
#define CONN_CLOSE_FLUSH_MS 10000
/* Poll interval for the TLS filter's underlying output while closing. */
#define CONN_CLOSE_POLL_MS 10
/* An implicit-TLS handshake must finish within this. */
#define CONN_HANDSHAKE_TIMEOUT_MS 30000
/* Idle timeout until the protocol sets its own. */
#define CONN_DEFAULT_TIMEOUT_MS (10 * 60 * 1000)
#define CONN_ID_LEN 8
/* Biggest chunk handed to on_bytes at once. */
#define CONN_BYTES_CHUNK_MAX (64 * 1024)
/* Compressed input: inflate refills of the input buffer per pass over a
 * connection before the loop serves others (a small compressed burst can
 * expand to megabytes of pipelined commands). */
#define CONN_INFLATE_ROUNDS 16

struct conn {
	const struct conn_handler *h;
	struct trace *trace;	      /* support trace (trace.h), or NULL */
	char *account;		      /* the logged-in account's address (trace.h) */
	uint64_t trace_gen;	      /* trace_generation() when last looked at */
	struct event_base *base;
	struct bufferevent *bev;      /* top: plain socket, TLS socket or TLS filter */
	struct bufferevent *sock_bev; /* the socket under a STARTTLS filter, else NULL */
	struct bufferevent *z_under;  /* what the deflate filter sits on, else NULL */
	struct compress *z;	      /* COMPRESS=DEFLATE state, owned by the filter */
	struct event *z_flush;	      /* sync flush after a batch of writes */
	struct event *deferred;	      /* input processing and the final close */
	struct event *timer;	      /* idle timeout; flush deadline while closing */
	struct event *line_timer;     /* line deadline (conn_set_line_timeout) */
	struct event *stall_timer;    /* output stall: pending output, no progress */
	struct event *login_timer;    /* deadline armed at connect (conn_authenticated) */
	struct evbuffer *out_bottom;  /* output of the bufferevent that owns the socket */
	struct evbuffer_cb_entry *out_cb; /* our progress watch on out_bottom */
	struct evbuffer *in_bottom;	  /* input of the bufferevent made at accept */
	struct evbuffer_cb_entry *in_cb;  /* counts bytes_in */
	uint64_t bytes_in, bytes_out;	  /* for the disconnect line */
	int64_t started_ms;		  /* accept time, for the disconnect line */
	const char *close_reason;	  /* static string; first cause wins */
	void *data;
	char *tls_desc;
	struct conn *prev, *next; /* all connections */
	uint64_t bytes_left;	  /* byte mode: still to deliver */
	size_t line_max;
	size_t scanned; /* leading input bytes known to hold no LF */
	int64_t timeout_ms;
	int64_t line_timeout_ms;
	int64_t close_deadline_ms;
	int64_t last_progress_ms; /* when out_bottom last lost bytes to the socket */
	int64_t stall_ms;	  /* conn_limits.output_stall_ms; 0 = none */
	int port;
	int busy; /* handler calls in progress */
	bool admitted, per_ip;
	bool notified; /* on_connect ran: on_close is owed */
	bool byte_mode, discarding, paused;
	bool out_full;	  /* pending output reached CONN_OUTPUT_HIGH: input stopped */
	bool stall_armed; /* stall_timer runs */
	bool line_timing; /* line_timer runs for the partial line buffered now */
	char discard_tail[CONN_DISCARD_TAIL]; /* last bytes of the line being discarded */
	size_t discard_tail_len;
	bool line_bare_lf; /* the line being delivered ended in LF without CR */
	bool eof, closing, dead, finished;
	bool tls_active, tls_handshaking, tls_shutdown_sent;
	bool is_unix, loopback;
	char id[CONN_ID_LEN + 1];
	char ip[INET6_ADDRSTRLEN];
};

struct conn_global conn_global;

static pthread_mutex_t conn_all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *conn_all;
static size_t conn_all_count;
static uint64_t conn_id_next;
static bool conn_id_seeded;

static void conn_deferred_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_line_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_stall_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_login_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_out_progress_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
				 void *arg);
static void conn_in_count_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
			     void *arg);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timer_arm_ev(struct event *ev, int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	event_add(ev, &tv);
}

static void timer_arm(struct conn *c, int64_t ms)
{
	timer_arm_ev(c->timer, ms);
}

/* Run the deferred event soon, from the loop. */
static void conn_kick(struct conn *c)
{
	if (!c->finished)
		event_active(c->deferred, EV_TIMEOUT, 0);
}

/* The bufferevent TLS runs in (under the deflate filter, if any). */
static struct bufferevent *conn_tls_bev(const struct conn *c)
{
	return c->z_under != NULL ? c->z_under : c->bev;
}

/* Input buffered on the top bufferevent before we stop filling it. */
static size_t conn_input_high(const struct conn *c)
{
	size_t high = CONN_INPUT_HIGH;
	/* An incomplete line of up to line_max bytes must fit, or we would
	 * stop reading while waiting for its LF. */
	if (c->line_max + 64 > high)
		high = c->line_max + 64;
	return high;
}

/* Session ids: a counter with a random start, 8 base32 characters (40
 * bits), so ids are unique within a process and rarely repeat across
 * restarts. */
static void conn_make_id(struct conn *c)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t v;
	pthread_mutex_lock(&conn_all_lock);
	if (!conn_id_seeded) {
		unsigned char seed[8];
		if (RAND_bytes(seed, sizeof(seed)) == 1)
			memcpy(&conn_id_next, seed, sizeof(seed));
		conn_id_seeded = true;
	}
	v = conn_id_next++;
	pthread_mutex_unlock(&conn_all_lock);
	for (int i = CONN_ID_LEN - 1; i >= 0; i--) {
		c->id[i] = alphabet[v & 31];
		v >>= 5;
	}
	c->id[CONN_ID_LEN] = '\0';
}

static void conn_describe_peer(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	if (sa == NULL || salen < sizeof(sa_family_t) || sa->sa_family == AF_UNIX) {
		c->is_unix = true;
		c->loopback = true;
		snprintf(c->ip, sizeof(c->ip), "unix");
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, c->ip, sizeof(c->ip));
		c->port = ntohs(sin->sin_port);
		c->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = sin6->sin6_addr.s6_addr;
		c->port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* Log ::ffff:a.b.c.d as a.b.c.d: one client, one per-IP count. */
			inet_ntop(AF_INET, b + 12, c->ip, sizeof(c->ip));
			c->loopback = b[12] == 127;
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, c->ip, sizeof(c->ip));
			c->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		}
	} else {
		snprintf(c->ip, sizeof(c->ip), "unknown");
	}
}

static void conn_setup_bev(struct conn *c)
{
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, conn_input_high(c));
	/* on_drain is driven by conn_output_check(), not by this layer's
	 * watermark: under a deflate or TLS filter the top buffer empties at
	 * once while the bytes wait below it. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

static void conn_link(struct conn *c)
{
	pthread_mutex_lock(&conn_all_lock);
	c->next = conn_all;
	if (conn_all != NULL)
		conn_all->prev = c;
	conn_all = c;
	conn_all_count++;
	pthread_mutex_unlock(&conn_all_lock);
}

static void conn_unlink(struct conn *c)
{
	pthread_mutex_lock(&conn_all_lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conn_all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_all_count--;
	pthread_mutex_unlock(&conn_all_lock);
}

/* The session begins: idle timer, login deadline, on_connect. */
static void conn_session_start(struct conn *c)
{
	c->notified = true;
	conn_set_timeout(c, CONN_DEFAULT_TIMEOUT_MS);
	int64_t login_ms = conn_global.limits.login_timeout_ms;
	if (login_ms > 0) {
		struct timeval tv = {.tv_sec = login_ms / 1000, .tv_usec = (login_ms % 1000) * 1000};
		event_add(c->login_timer, &tv);
	}
	metrics_conn_opened(c->h->proto);
	/* one line per session start, the same for every protocol (its end
	 * is the "disconnected" line of conn_finish) */
	conn_log(c, LOG_INFO, "connected%s", conn_tls_active(c) ? " tls" : "");
	c->busy++;
	c->h->on_connect(c);
	c->busy--;
}

void conn_accept(const struct conn_listener_info *li, evutil_socket_t fd,
		 const struct sockaddr *sa, socklen_t salen)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->h = li->handler;
	c->base = conn_global.base;
	c->line_max = CONN_LINE_MAX_DEFAULT;
	c->line_timeout_ms = conn_global.limits.line_timeout_ms;
	c->stall_ms = conn_global.limits.output_stall_ms;
	conn_describe_peer(c, sa, salen);
	c->per_ip = !c->is_unix;
	conn_make_id(c);

	enum conn_refusal why = conn_admit(c->ip, c->per_ip);
	c->admitted = why == CONN_REFUSE_NONE;
	if (!c->admitted && (li->implicit_tls || li->on_refused == NULL)) {
		/* Nothing to say in clear text on a TLS port, and a handshake
		 * just to refuse would hand a flooder our CPU. */
		log_msg(LOG_INFO, "proto=%s session=%s ip=%s refused: %s", li->proto, c->id, c->ip,
			why == CONN_REFUSE_PER_IP ? "too many connections from this address"
						  : "too many connections");
		evutil_closesocket(fd);
		free(c);
		return;
	}
	if (!c->is_unix) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	if (li->implicit_tls && conn_global.ssl_ctx != NULL) {
		SSL *ssl = SSL_new(conn_global.ssl_ctx);
		if (ssl != NULL)
			c->bev = bufferevent_openssl_socket_new(c->base, fd, ssl,
								BUFFEREVENT_SSL_ACCEPTING, opts);
		if (c->bev != NULL) {
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
			c->tls_handshaking = true;
		}
	} else if (!li->implicit_tls) {
		c->bev = bufferevent_socket_new(c->base, fd, opts);
	}
	if (c->bev == NULL) {
		log_msg(LOG_ERROR, "proto=%s session=%s ip=%s cannot set up the connection%s",
			li->proto, c->id, c->ip,
			li->implicit_tls && conn_global.ssl_ctx == NULL ? ": TLS not configured" : "");
		ERR_clear_error();
		evutil_closesocket(fd);
		if (c->admitted)
			conn_release(c->ip, c->per_ip);
		free(c);
		return;
	}
	c->deferred = event_new(c->base, -1, 0, conn_deferred_cb, c);
	c->timer = event_new(c->base, -1, 0, conn_timer_cb, c);
	c->line_timer = event_new(c->base, -1, 0, conn_line_timer_cb, c);
	c->stall_timer = event_new(c->base, -1, 0, conn_stall_timer_cb, c);
	c->login_timer = event_new(c->base, -1, 0, conn_login_timer_cb, c);
	/* Every byte leaves through this buffer, whatever filters (STARTTLS,
	 * COMPRESS) are stacked on top later: its drains are the progress. */
	c->out_bottom = bufferevent_get_output(c->bev);
	c->out_cb = evbuffer_add_cb(c->out_bottom, conn_out_progress_cb, c);
	c->in_bottom = bufferevent_get_input(c->bev);
	c->in_cb = evbuffer_add_cb(c->in_bottom, conn_in_count_cb, c);
	c->started_ms = now_ms();
	c->trace_gen = trace_generation(); /* before the set is read */
	c->trace = trace_conn_new(c->h->proto, c->id);
	conn_setup_bev(c);
	conn_link(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	if (!c->admitted) {
		conn_log(c, LOG_INFO, "refused: %s",
			 why == CONN_REFUSE_PER_IP ? "too many connections from this address"
						   : "too many connections");
		c->busy++;
		li->on_refused(c, why);
		c->busy--;
		conn_close(c);
	} else if (c->tls_handshaking) {
		timer_arm(c, CONN_HANDSHAKE_TIMEOUT_MS);
	} else {
		conn_session_start(c);
	}
}

/* --- input ---------------------------------------------------------- */

/* A handler gets input that has already left the connection's buffer, so
 * nothing it does (conn_discard_input, conn_starttls, writes that make the
 * TLS layer read) can move or free the bytes under it. One per loop
 * thread: input processing never nests. */
static _Thread_local struct evbuffer *conn_scratch;

static struct evbuffer *scratch_take(struct evbuffer *in, size_t n)
{
	if (conn_scratch == NULL)
		conn_scratch = evbuffer_new();
	/* Whole chains move without copying; a partial one is copied. */
	evbuffer_remove_buffer(in, conn_scratch, n);
	return conn_scratch;
}

/* Keep the last CONN_DISCARD_TAIL bytes of an overlong line as it is
 * dropped: `n` more bytes at the front of `buf` belong to it. */
static void discard_tail_keep(struct conn *c, struct evbuffer *buf, size_t n)
{
	size_t take = n < CONN_DISCARD_TAIL ? n : CONN_DISCARD_TAIL;
	size_t keep = c->discard_tail_len;
	if (keep + take > CONN_DISCARD_TAIL)
		keep = CONN_DISCARD_TAIL - take;
	memmove(c->discard_tail, c->discard_tail + c->discard_tail_len - keep, keep);
	struct evbuffer_ptr at;
	evbuffer_ptr_set(buf, &at, n - take, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(buf, &at, c->discard_tail + keep, take);
	c->discard_tail_len = keep + take;
}

static void discarded_line_done(struct conn *c)
{
	size_t len = c->discard_tail_len;
	if (len > 0 && c->discard_tail[len - 1] == '\r')
		len--;
	c->discard_tail_len = 0;
	if (c->h->on_line_discarded != NULL)
		c->h->on_line_discarded(c, c->discard_tail, len);
}

/* Deliver at most one unit of input (a line, a byte chunk, an overlong
 * line's notice). False when nothing more can be delivered now. */
static bool conn_step(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail = evbuffer_get_length(in);

	if (c->byte_mode) {
		if (c->bytes_left == 0) {
			c->byte_mode = false;
			if (c->h->on_bytes != NULL)
				c->h->on_bytes(c, "", 0, true);
			return true;
		}
		if (avail == 0)
			return false;
		/* As much as the first contiguous piece holds: no copy when it
		 * is a whole chain. */
		struct evbuffer_iovec v;
		size_t n = 0;
		if (evbuffer_peek(in, -1, NULL, &v, 1) >= 1)
			n = v.iov_len;
		if (n == 0 || n > CONN_BYTES_CHUNK_MAX)
			n = avail < CONN_BYTES_CHUNK_MAX ? avail : CONN_BYTES_CHUNK_MAX;
		if (n > c->bytes_left)
			n = (size_t)c->bytes_left;
		struct evbuffer *piece = scratch_take(in, n);
		const char *p = (const char *)evbuffer_pullup(piece, (ev_ssize_t)n);
		c->bytes_left -= n;
		bool last = c->bytes_left == 0;
		if (last)
			c->byte_mode = false;
		if (c->h->on_bytes != NULL)
			c->h->on_bytes(c, p, n, last);
		evbuffer_drain(piece, evbuffer_get_length(piece));
		return true;
	}

	if (c->discarding) {
		/* The rest of an overlong line: drop it as it arrives. */
		struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);
		if (lf.pos < 0) {
			discard_tail_keep(c, in, avail);
			evbuffer_drain(in, avail);
			return false;
		}
		discard_tail_keep(c, in, (size_t)lf.pos);
		evbuffer_drain(in, (size_t)lf.pos + 1);
		c->discarding = false;
		c->scanned = 0;
		c->line_timing = false;
		discarded_line_done(c);
		return true;
	}

	if (avail == 0 || c->scanned >= avail)
		return false;
	struct evbuffer_ptr start, lf;
	evbuffer_ptr_set(in, &start, c->scanned, EVBUFFER_PTR_SET);
	lf = evbuffer_search(in, "\n", 1, &start);
	if (lf.pos < 0) {
		/* line_max bytes plus a CR still waiting for its LF is fine;
		 * one more byte and the line is too long whatever follows. */
		if (avail <= c->line_max + 1) {
			c->scanned = avail;
			return false;
		}
		c->discard_tail_len = 0;
		discard_tail_keep(c, in, avail);
		evbuffer_drain(in, avail);
		c->scanned = 0;
		c->discarding = true;
		c->line_bare_lf = false; /* not known yet */
		goto too_long;
	}
	c->scanned = 0;
	c->line_timing = false; /* a line ended: the next one gets its own deadline */
	size_t pos = (size_t)lf.pos;
	if (pos > c->line_max + 1) {
		c->discard_tail_len = 0;
		discard_tail_keep(c, in, pos);
		evbuffer_drain(in, pos + 1);
		c->line_bare_lf = false; /* not looked at */
		goto too_long_whole;
	}
	struct evbuffer *piece = scratch_take(in, pos + 1);
	char *line = (char *)evbuffer_pullup(piece, (ev_ssize_t)pos + 1);
	size_t len = pos;
	c->line_bare_lf = !(len > 0 && line[len - 1] == '\r');
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > c->line_max) {
		c->discard_tail_len = 0;
		discard_tail_keep(c, piece, len);
		evbuffer_drain(piece, pos + 1);
		goto too_long_whole;
	}
	/* The CR or LF being dropped makes room for the terminator. */
	line[len] = '\0';
	if (c->account != NULL && c->trace_gen != trace_generation()) {
		/* a switch moved: the trace starts or stops at this command */
		c->trace_gen = trace_generation();
		c->trace = trace_conn_update(c, c->trace, c->h->proto, c->account);
	}
	if (c->trace != NULL)
		trace_client_line(c->trace, line, len);
	c->h->on_line(c, line, len);
	evbuffer_drain(piece, pos + 1);
	return true;

too_long:
	if (c->h->on_line_too_long != NULL)
		c->h->on_line_too_long(c);
	else
		conn_log(c, LOG_INFO, "input line too long, discarded");
	return true;
too_long_whole:
	/* the whole line, LF included, was dropped at once */
	if (c->h->on_line_too_long != NULL)
		c->h->on_line_too_long(c);
	else
		conn_log(c, LOG_INFO, "input line too long, discarded");
	if (!c->dead && !c->closing)
		discarded_line_done(c);
	return true;
}

static bool conn_can_deliver(const struct conn *c)
{
	/* out_full: input driven by output. A client that sends commands but
	 * does not read the replies is not read from either. */
	return c->notified && !c->paused && !c->out_full && !c->closing && !c->dead &&
	       !c->finished && !c->tls_handshaking;
}

/* After input processing: start the line deadline when we now wait for
 * the client to finish a line it began (part of a line is buffered, or an
 * overlong one is being dropped); stop it when we do not. */
static void conn_line_deadline_update(struct conn *c)
{
	bool waiting = c->line_timeout_ms > 0 && conn_can_deliver(c) && !c->byte_mode &&
		       (c->discarding || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0);
	if (waiting && !c->line_timing) {
		c->line_timing = true;
		struct timeval tv = {.tv_sec = c->line_timeout_ms / 1000,
				     .tv_usec = (c->line_timeout_ms % 1000) * 1000};
		event_add(c->line_timer, &tv);
	} else if (!waiting) {
		c->line_timing = false;
		event_del(c->line_timer);
	}
}

/* Compressed input: move more inflated bytes from the layer below into
 * the top input buffer, up to its limit (zip bombs stay bounded: the rest
 * waits, compressed, under the socket's own read watermark). True when
 * bytes arrived. */
static bool conn_inflate_more(struct conn *c)
{
	if (c->z == NULL)
		return false;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in), high = conn_input_high(c);
	if (have >= high)
		return false;
	return compress_pull(c->z, bufferevent_get_input(c->z_under), in, high - have) > 0;
}

static void conn_process(struct conn *c)
{
	if (c->busy > 0) {
		conn_kick(c);
		return;
	}
	if (!conn_can_deliver(c))
		return;
	c->busy++;
	bool more = true;
	for (int rounds = 0;; rounds++) {
		while (conn_can_deliver(c) && (more = conn_step(c)))
			;
		if (more || !conn_can_deliver(c) || !conn_inflate_more(c))
			break;
		if (rounds >= CONN_INFLATE_ROUNDS) {
			more = true; /* not all served: no EOF close yet */
			conn_kick(c);
			break;
		}
	}
	c->busy--;
	if (c->z != NULL && compress_failed(c->z) && !c->closing && !c->dead &&
	    !c->finished) {
		conn_log(c, LOG_INFO, "malformed compressed input, closing");
		if (c->h->on_stream_error != NULL && c->notified) {
			c->busy++;
			c->h->on_stream_error(c);
			c->busy--;
		}
		conn_close(c);
	}
	/* The peer stopped sending and everything it sent has been served. */
	if (!more && c->eof && conn_can_deliver(c))
		conn_close(c);
	conn_line_deadline_update(c);
}

static void conn_idle_reset(struct conn *c)
{
	if (c->closing || c->dead || !c->notified)
		return;
	if (c->timeout_ms > 0)
		timer_arm(c, c->timeout_ms);
	else
		event_del(c->timer);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->closing) {
		/* Keep reading and dropping while the last replies flush:
		 * closing a socket with unread input sends a RST, which can
		 * destroy those replies at the client. */
		struct evbuffer *in = bufferevent_get_input(c->bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	conn_idle_reset(c);
	conn_process(c);
}

/* --- output backpressure ------------------------------------------ */

/* After a write: at the high-water mark the connection stops taking input
 * (conn_can_deliver) and streamers stop (conn_output_full); the stall
 * clock starts when output becomes pending. */
static void conn_output_update(struct conn *c)
{
	size_t n = conn_output_pending(c);
	if (n >= CONN_OUTPUT_HIGH)
		c->out_full = true;
	if (n > 0 && !c->stall_armed && c->stall_ms > 0 && !c->closing && !c->dead) {
		c->stall_armed = true;
		c->last_progress_ms = now_ms();
		timer_arm_ev(c->stall_timer, c->stall_ms);
	}
}

/* The bottom buffer changed. Runs inside libevent's write path: only
 * note the time and schedule; conn_output_check acts. */
static void conn_out_progress_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
				 void *arg)
{
	struct conn *c = arg;
	if (info->n_deleted == 0 || c->finished)
		return;
	c->bytes_out += info->n_deleted;
	c->last_progress_ms = now_ms();
	if (c->out_full && conn_output_pending(c) <= CONN_OUTPUT_LOW)
		conn_kick(c);
}

/* Input arrived in the accept-time buffer: count it for the
 * disconnect line. */
static void conn_in_count_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
			     void *arg)
{
	struct conn *c = arg;
	c->bytes_in += info->n_added;
}

/* From the deferred event: below the low-water mark again, let the
 * streamer (FETCH, RETR) queue more, then input flows again. */
static void conn_output_check(struct conn *c)
{
	if (!c->out_full || c->busy > 0 || conn_output_pending(c) > CONN_OUTPUT_LOW)
		return;
	c->out_full = false;
	if (c->h->on_drain != NULL && c->notified && !c->tls_handshaking && !c->closing &&
	    !c->dead && !c->finished) {
		c->busy++;
		c->h->on_drain(c);
		c->busy--;
	}
}

static void conn_stall_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->stall_armed = false;
	if (c->closing || c->dead || c->finished)
		return; /* the close flush deadline takes over */
	size_t n = conn_output_pending(c);
	if (n == 0)
		return; /* all sent; the next write starts a new clock */
	int64_t quiet = now_ms() - c->last_progress_ms;
	if (quiet < c->stall_ms) {
		c->stall_armed = true;
		timer_arm_ev(c->stall_timer, c->stall_ms - quiet);
		return;
	}
	/* The peer has not read for stall_ms: nothing we write can reach it,
	 * so there is no farewell either. */
	conn_log(c, LOG_INFO, "output stalled: peer port %d read nothing for %lld ms, "
		 "%zu bytes pending; closing", c->port, (long long)quiet, n);
	conn_set_close_reason(c, "output stall");
	c->dead = true;
	conn_kick(c);
}

static void conn_login_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->closing || c->dead || c->finished)
		return;
	conn_log(c, LOG_INFO, "no login within %lld ms of connecting; closing",
		 (long long)conn_global.limits.login_timeout_ms);
	conn_set_close_reason(c, "login timeout");
	if (c->h->on_timeout != NULL) {
		c->busy++;
		c->h->on_timeout(c);
		c->busy--;
	}
	conn_close(c);
}

bool conn_output_full(const struct conn *c)
{
	return c->out_full;
}

void conn_authenticated(struct conn *c)
{
	event_del(c->login_timer);
}

/* --- close ---------------------------------------------------------- */

static void conn_finish(struct conn *c)
{
	c->finished = true;
	if (c->notified && c->h->on_close != NULL) {
		c->busy++;
		c->h->on_close(c);
		c->busy--;
	}
	if (c->notified) {
		metrics_conn_closed(c->h->proto);
		/* One line per session for every protocol (issue 16 point 6). */
		conn_log(c, LOG_INFO, "disconnected reason=\"%s\" duration_ms=%lld bytes_in=%llu "
			 "bytes_out=%llu", c->close_reason != NULL ? c->close_reason : "server closed",
			 (long long)(now_ms() - c->started_ms), (unsigned long long)c->bytes_in,
			 (unsigned long long)c->bytes_out);
	}
	trace_free(&c->trace);
	conn_unlink(c);
	if (c->admitted)
		conn_release(c->ip, c->per_ip);
	event_free(c->deferred);
	event_free(c->timer);
	event_free(c->line_timer);
	event_free(c->stall_timer);
	event_free(c->login_timer);
	/* libevent may free the buffers later than now: never call us then. */
	evbuffer_remove_cb_entry(c->out_bottom, c->out_cb);
	evbuffer_remove_cb_entry(c->in_bottom, c->in_cb);
	if (c->z_flush != NULL)
		event_free(c->z_flush);
	if (c->z != NULL)
		compress_detach(c->z);
	/* Frees the bufferevents under the deflate and STARTTLS filters too. */
	bufferevent_free(c->bev);
	ERR_clear_error();
	free(c->tls_desc);
	free(c->account);
	free(c);
}

static bool conn_top_flushed(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/* From the deferred event only: free the connection when its time came. */
static void conn_check_done(struct conn *c)
{
	if (c->busy > 0 || c->finished)
		return;
	if (!c->dead && c->closing && c->z != NULL)
		compress_flush(c->z, bufferevent_get_output(c->bev),
			       bufferevent_get_output(c->z_under));
	if (!c->dead && (!c->closing || !conn_top_flushed(c)))
		return;
	if (!c->dead && c->tls_active && !c->tls_shutdown_sent) {
		/* close_notify (RFC 8446 6.1), best effort. */
		c->tls_shutdown_sent = true;
		SSL *ssl = bufferevent_openssl_get_ssl(conn_tls_bev(c));
		if (ssl != NULL)
			SSL_shutdown(ssl);
		ERR_clear_error();
	}
	if (!c->dead && ((c->sock_bev != NULL &&
			  evbuffer_get_length(bufferevent_get_output(c->sock_bev)) > 0) ||
			 (c->z_under != NULL &&
			  evbuffer_get_length(bufferevent_get_output(c->z_under)) > 0))) {
		/* A filter's output still sits on the bufferevent below,
		 * whose callbacks belong to the filter: poll until sent. */
		int64_t left = c->close_deadline_ms - now_ms();
		if (left > 0) {
			timer_arm(c, left < CONN_CLOSE_POLL_MS ? left : CONN_CLOSE_POLL_MS);
			return;
		}
	}
	conn_finish(c);
}

static void conn_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	conn_output_check(c);
	conn_process(c);
	conn_check_done(c);
}

void conn_set_close_reason(struct conn *c, const char *why)
{
	if (c->close_reason == NULL)
		c->close_reason = why;
}

void conn_close(struct conn *c)
{
	if (c->closing || c->finished)
		return;
	c->closing = true;
	conn_discard_input(c);
	c->close_deadline_ms = now_ms() + CONN_CLOSE_FLUSH_MS;
	timer_arm(c, CONN_CLOSE_FLUSH_MS);
	conn_kick(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->closing || c->dead) {
		/* Flush deadline, or a poll of the STARTTLS socket's output. */
		if (now_ms() >= c->close_deadline_ms) {
			conn_log(c, LOG_DEBUG, "output not flushed before close");
			c->dead = true;
		}
		conn_kick(c);
		return;
	}
	conn_set_close_reason(c, "timeout");
	if (!c->notified || c->tls_handshaking) {
		conn_log(c, LOG_INFO, "TLS handshake timed out");
		c->dead = true;
		conn_kick(c);
		return;
	}
	if (c->h->on_timeout != NULL) {
		c->busy++;
		c->h->on_timeout(c);
		c->busy--;
	} else {
		conn_log(c, LOG_INFO, "idle timeout");
		conn_close(c);
	}
}

static void conn_line_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->line_timing = false;
	/* Only a client that still owes us the end of a line is at fault. */
	if (c->closing || c->dead || c->busy > 0 || !conn_can_deliver(c) || c->byte_mode)
		return;
	conn_log(c, LOG_INFO, "line not completed within %lld ms", (long long)c->line_timeout_ms);
	if (c->h->on_timeout != NULL) {
		c->busy++;
		c->h->on_timeout(c);
		c->busy--;
	} else {
		conn_close(c);
	}
	conn_kick(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->closing || c->dead) {
		conn_kick(c);
		return;
	}
	/* Progress and on_drain: conn_out_progress_cb, conn_output_check. */
}

static void conn_tls_done(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	c->tls_handshaking = false;
	c->tls_active = true;
	if (ssl != NULL)
		c->tls_desc = xasprintf("%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	if (!c->notified) {
		/* Implicit TLS: the session starts now. */
		conn_session_start(c);
	} else {
		conn_idle_reset(c);
		if (c->h->on_tls_ready != NULL) {
			c->busy++;
			c->h->on_tls_ready(c);
			c->busy--;
		}
	}
	conn_kick(c); /* input that followed the handshake */
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->tls_handshaking && !c->closing && !c->dead)
			conn_tls_done(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->tls_handshaking) {
		/* Maybe only half closed: serve what was sent, then close. */
		conn_set_close_reason(c, "client closed");
		c->eof = true;
		conn_kick(c);
		return;
	}
	if (log_enabled(LOG_DEBUG)) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char reason[256] = "";
		if (e != 0)
			ERR_error_string_n(e, reason, sizeof(reason));
		conn_log(c, LOG_DEBUG, "connection %s%s%s%s",
			 c->tls_handshaking ? "TLS handshake failed" : "error",
			 (what & BEV_EVENT_EOF) ? " (eof)" : "", e != 0 ? ": " : "",
			 e != 0 ? reason : (errno != 0 ? strerror(errno) : ""));
	} else if (c->tls_handshaking && c->notified) {
		conn_log(c, LOG_INFO, "STARTTLS handshake failed");
	}
	ERR_clear_error();
	conn_set_close_reason(c, "error");
	c->dead = true;
	conn_kick(c);
}

/* --- public API ----------------------------------------------------- */

void conn_set_data(struct conn *c, void *data)
{
	c->data = data;
}

void *conn_data(const struct conn *c)
{
	return c->data;
}

/* Compressed output: one sync flush after the writes a handler makes in
 * this loop pass, so replies go out at once without a flush per write. */
static void conn_zflush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (!c->finished && !c->dead)
		compress_flush(c->z, bufferevent_get_output(c->bev),
			       bufferevent_get_output(c->z_under));
}

static void conn_wrote(struct conn *c)
{
	if (c->z_flush != NULL)
		event_active(c->z_flush, EV_TIMEOUT, 0);
	conn_output_update(c);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->finished || c->dead || len == 0)
		return;
	if (c->trace != NULL)
		trace_server(c->trace, data, len);
	bufferevent_write(c->bev, data, len);
	conn_wrote(c);
}

void conn_puts(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *traced = NULL;
	if (c->trace != NULL && !c->finished && !c->dead) {
		int n = vasprintf(&traced, fmt, ap); /* through conn_write: traced */
		if (n >= 0) {
			conn_write(c, traced, (size_t)n);
			free(traced);
		}
	} else if (!c->finished && !c->dead) {
		evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
		conn_wrote(c);
	}
	va_end(ap);
}

size_t conn_output_pending(const struct conn *c)
{
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (c->sock_bev != NULL)
		n += evbuffer_get_length(bufferevent_get_output(c->sock_bev));
	if (c->z_under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(c->z_under));
	return n;
}

void conn_set_line_max(struct conn *c, size_t max)
{
	c->line_max = max;
	conn_setup_bev(c);
}

void conn_read_bytes(struct conn *c, uint64_t n)
{
	if (c->trace != NULL)
		trace_client_bytes(c->trace, (size_t)n);
	c->byte_mode = true;
	c->bytes_left = n;
	c->scanned = 0;
	if (c->busy == 0)
		conn_kick(c);
}

bool conn_line_bare_lf(const struct conn *c)
{
	return c->line_bare_lf;
}

size_t conn_input_pending(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_input(c->bev));
}

void conn_discard_input(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	c->scanned = 0;
}

void conn_pause(struct conn *c)
{
	c->paused = true;
}

void conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	/* Not from here: the caller may be a handler of this connection. */
	conn_kick(c);
}

void conn_set_timeout(struct conn *c, int64_t ms)
{
	c->timeout_ms = ms < 0 ? 0 : ms;
	conn_idle_reset(c);
}

void conn_set_line_timeout(struct conn *c, int64_t ms)
{
	c->line_timeout_ms = ms < 0 ? 0 : ms;
	c->line_timing = false;
	if (c->busy == 0)
		conn_line_deadline_update(c);
}

int conn_starttls(struct conn *c)
{
	if (conn_global.ssl_ctx == NULL || c->tls_active || c->tls_handshaking || c->closing ||
	    c->dead || c->finished || c->z != NULL)
		return -1;
	/* Whatever the client pipelined after STARTTLS was sent in clear
	 * text and must never be taken as coming over TLS (CVE-2011-0411;
	 * RFC 3207 4.2, RFC 2595 3.1). */
	conn_discard_input(c);
	c->discarding = false;
	c->byte_mode = false;
	SSL *ssl = SSL_new(conn_global.ssl_ctx);
	if (ssl == NULL) {
		ERR_clear_error();
		return -1;
	}
	struct bufferevent *sock = c->bev;
	struct bufferevent *top = bufferevent_openssl_filter_new(
		c->base, sock, ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (top == NULL) {
		SSL_free(ssl);
		ERR_clear_error();
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(top, 1);
	/* The filter set its own callbacks on the socket; bound what it
	 * buffers there (ciphertext in, records out). */
	bufferevent_setwatermark(sock, EV_READ, 0, CONN_INPUT_HIGH);
	bufferevent_setwatermark(sock, EV_WRITE, 0, CONN_DRAIN_LOWAT);
	c->sock_bev = sock;
	c->bev = top;
	c->tls_handshaking = true;
	conn_setup_bev(c);
	bufferevent_enable(top, EV_READ | EV_WRITE);
	return 0;
}

static void conn_z_error_cb(void *arg)
{
	/* From inside libevent's filter: only schedule; conn_process acts. */
	conn_kick(arg);
}

int conn_start_deflate(struct conn *c)
{
	if (c->z != NULL || c->tls_handshaking || c->closing || c->dead || c->finished)
		return -1;
	struct bufferevent *under = c->bev;
	struct compress *z = NULL;
	struct bufferevent *top = compress_filter_new(
		under, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, conn_z_error_cb, c, &z);
	if (top == NULL)
		return -1;
	/* The filter took over the callbacks of the layer below; what that
	 * layer holds now (the tagged OK, the client's pipelined bytes) stays
	 * there: output goes out uncompressed, ahead of anything we write
	 * next; input is compressed data (RFC 4978 section 3) that
	 * conn_inflate_more() pulls up when the line framer needs it. */
	bufferevent_setwatermark(under, EV_READ, 0, CONN_INPUT_HIGH);
	c->z_under = under;
	c->z = z;
	c->z_flush = event_new(c->base, -1, 0, conn_zflush_cb, c);
	c->bev = top;
	c->scanned = 0;
	conn_setup_bev(c);
	bufferevent_enable(top, EV_READ | EV_WRITE);
	conn_kick(c);
	return 0;
}

bool conn_deflate_active(const struct conn *c)
{
	return c->z != NULL;
}

bool conn_tls_active(const struct conn *c)
{
	return c->tls_active;
}

bool conn_tls_available(const struct conn *c)
{
	return conn_global.ssl_ctx != NULL && !c->tls_active && !c->tls_handshaking;
}

const char *conn_tls_description(const struct conn *c)
{
	return c->tls_active ? c->tls_desc : NULL;
}

struct trace *conn_trace(const struct conn *c)
{
	return c->trace;
}

void conn_set_account(struct conn *c, const char *address)
{
	free(c->account);
	c->account = address != NULL ? xstrdup(address) : NULL;
	if (c->account != NULL && c->trace_gen != trace_generation()) {
		c->trace_gen = trace_generation();
		c->trace = trace_conn_update(c, c->trace, c->h->proto, c->account);
	}
}

const char *conn_id(const struct conn *c)
{
	return c->id;
}

const char *conn_remote_ip(const struct conn *c)
{
	return c->ip;
}

bool conn_is_loopback(const struct conn *c)
{
	return c->loopback;
}

bool conn_plaintext_auth_ok(const struct conn *c)
{
	int allow = conn_global.limits.allow_plaintext;
	return c->tls_active || allow == 2 || (allow == 1 && c->loopback);
}

struct event_base *conn_base(const struct conn *c)
{
	return c->base;
}

struct event_base *conn_global_base(void)
{
	return conn_global.base;
}

void conn_log(const struct conn *c, enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_msg(level, "proto=%s session=%s ip=%s %s", c->h->proto != NULL ? c->h->proto : "-",
		c->id, c->ip, msg);
	free(msg);
}

size_t conn_count(void)
{
	pthread_mutex_lock(&conn_all_lock);
	size_t n = conn_all_count;
	pthread_mutex_unlock(&conn_all_lock);
	return n;
}

void conn_close_all(void)
{
	/* Connections live on the loop thread that calls this; closing is
	 * deferred, so the list stays intact while we walk it. */
	for (struct conn *c = conn_all; c != NULL; c = c->next) {
		conn_set_close_reason(c, "server shutdown");
		conn_close(c);
	}
}
