/*
 * proxy-proto: the PROXY protocol parser, its settings and the reader
 * that takes the header off an accepted socket (see proxy-proto.h).
 * The format is HAProxy's "The PROXY protocol" versions 1 and 2.
 */
#include "lib/proxy-proto.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spec 2.2: the twelve bytes that open every v2 header. */
static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_sig[] = "PROXY ";
#define V1_SIG_LEN 6
/* Longest token of a v1 line we copy (an IPv6 address is at most 39). */
#define V1_TOKEN_MAX 46

/* --- parser --------------------------------------------------------- */

/* Next space-separated token of [*p, end) into tok (NUL-terminated);
 * exactly one space between tokens (spec 2.1). -1 when empty or long. */
static int v1_token(const char **p, const char *end, char *tok, size_t tokmax)
{
	const char *s = *p;
	const char *e = memchr(s, ' ', (size_t)(end - s));
	if (e == NULL)
		e = end;
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= tokmax)
		return -1;
	memcpy(tok, s, n);
	tok[n] = '\0';
	*p = e < end ? e + 1 : e;
	return 0;
}

/* Spec 2.1: a decimal port, 0..65535. */
static int v1_port(const char *s, uint16_t *port_r)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
		return -1;
	unsigned long v = strtoul(s, NULL, 10);
	if (v > 65535)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

static void set_inet(struct sockaddr_storage *ss, socklen_t *len_r, int family,
		     const void *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
		*len_r = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons(port);
		*len_r = sizeof(*sin6);
	}
}

/* One whole v1 line: buf[0..len) ends in CRLF. */
static enum proxy_parse_result v1_line(const char *buf, size_t len, struct proxy_header *h,
				       const char **error_r)
{
	const char *p = buf + V1_SIG_LEN, *end = buf + len - 2; /* before CRLF */
	char proto[V1_TOKEN_MAX], a[V1_TOKEN_MAX], b[V1_TOKEN_MAX];
	char sp[V1_TOKEN_MAX], dp[V1_TOKEN_MAX];
	if (memchr(buf, '\r', len - 2) != NULL || memchr(buf, '\0', len) != NULL) {
		*error_r = "v1: stray CR or NUL in the line";
		return PROXY_PARSE_ERROR;
	}
	if (v1_token(&p, end, proto, sizeof(proto)) < 0) {
		*error_r = "v1: no protocol";
		return PROXY_PARSE_ERROR;
	}
	h->version = 1;
	h->len = len;
	if (strcmp(proto, "UNKNOWN") == 0) {
		/* Spec 2.1: the rest of the line is ignored. */
		h->local = true;
		return PROXY_PARSE_DONE;
	}
	int family = strcmp(proto, "TCP4") == 0 ? AF_INET
		   : strcmp(proto, "TCP6") == 0 ? AF_INET6 : AF_UNSPEC;
	if (family == AF_UNSPEC) {
		*error_r = "v1: protocol is not TCP4, TCP6 or UNKNOWN";
		return PROXY_PARSE_ERROR;
	}
	if (v1_token(&p, end, a, sizeof(a)) < 0 || v1_token(&p, end, b, sizeof(b)) < 0 ||
	    v1_token(&p, end, sp, sizeof(sp)) < 0 || v1_token(&p, end, dp, sizeof(dp)) < 0 ||
	    p != end || end[-1] == ' ') {
		*error_r = "v1: expected source, destination, source port, destination port";
		return PROXY_PARSE_ERROR;
	}
	unsigned char src[16], dst[16];
	uint16_t sport, dport;
	if (inet_pton(family, a, src) != 1 || inet_pton(family, b, dst) != 1) {
		*error_r = "v1: malformed address";
		return PROXY_PARSE_ERROR;
	}
	if (v1_port(sp, &sport) < 0 || v1_port(dp, &dport) < 0) {
		*error_r = "v1: malformed port";
		return PROXY_PARSE_ERROR;
	}
	h->local = false;
	set_inet(&h->src, &h->src_len, family, src, sport);
	set_inet(&h->dst, &h->dst_len, family, dst, dport);
	return PROXY_PARSE_DONE;
}

static enum proxy_parse_result v1_parse(const unsigned char *buf, size_t len,
					struct proxy_header *h, const char **error_r)
{
	size_t scan = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	const unsigned char *lf = memchr(buf, '\n', scan);
	if (lf == NULL) {
		if (len >= PROXY_V1_MAX) {
			*error_r = "v1: no CRLF within 107 bytes";
			return PROXY_PARSE_ERROR;
		}
		return PROXY_PARSE_MORE;
	}
	size_t n = (size_t)(lf - buf) + 1;
	if (n < V1_SIG_LEN + 2 || buf[n - 2] != '\r') {
		*error_r = "v1: line does not end in CRLF";
		return PROXY_PARSE_ERROR;
	}
	return v1_line((const char *)buf, n, h, error_r);
}

static enum proxy_parse_result v2_parse(const unsigned char *buf, size_t len,
					struct proxy_header *h, const char **error_r)
{
	if (len < PROXY_V2_FIXED)
		return PROXY_PARSE_MORE;
	if ((buf[12] >> 4) != 2) {
		*error_r = "v2: version is not 2";
		return PROXY_PARSE_ERROR;
	}
	int cmd = buf[12] & 0x0F;
	if (cmd > 1) {
		*error_r = "v2: command is neither LOCAL nor PROXY";
		return PROXY_PARSE_ERROR;
	}
	size_t block = (size_t)buf[14] << 8 | buf[15];
	if (block > PROXY_V2_BLOCK_MAX) {
		*error_r = "v2: header longer than 536 bytes";
		return PROXY_PARSE_ERROR;
	}
	/* Spec 2.2: 0x00 UNSPEC, 0x11 TCP/IPv4, 0x21 TCP/IPv6, 0x31 UNIX
	 * stream; datagram and unknown families are refused. LOCAL ignores
	 * the family and its block (the balancer speaks for itself, e.g. a
	 * health check) and keeps the connection's own addresses. */
	unsigned fam = cmd == 0 ? 0x00 : buf[13];
	if (fam != 0x00 && fam != 0x11 && fam != 0x21 && fam != 0x31) {
		*error_r = "v2: family/transport is not UNSPEC, TCP4, TCP6 or UNIX stream";
		return PROXY_PARSE_ERROR;
	}
	size_t need = fam == 0x11 ? 12 : fam == 0x21 ? 36 : fam == 0x31 ? 216 : 0;
	if (block < need) {
		*error_r = "v2: address block shorter than its family needs";
		return PROXY_PARSE_ERROR;
	}
	if (len < PROXY_V2_FIXED + block)
		return PROXY_PARSE_MORE;
	h->version = 2;
	h->len = PROXY_V2_FIXED + block;
	/* TLVs after the addresses are skipped: nothing here needs them. */
	if (fam == 0x00 || fam == 0x31) {
		h->local = true;
		return PROXY_PARSE_DONE;
	}
	const unsigned char *a = buf + PROXY_V2_FIXED;
	int family = fam == 0x11 ? AF_INET : AF_INET6;
	size_t alen = family == AF_INET ? 4 : 16;
	uint16_t sport = (uint16_t)(a[2 * alen] << 8 | a[2 * alen + 1]);
	uint16_t dport = (uint16_t)(a[2 * alen + 2] << 8 | a[2 * alen + 3]);
	h->local = false;
	set_inet(&h->src, &h->src_len, family, a, sport);
	set_inet(&h->dst, &h->dst_len, family, a + alen, dport);
	return PROXY_PARSE_DONE;
}

enum proxy_parse_result proxy_parse(const unsigned char *buf, size_t len,
				    struct proxy_header *h_r, const char **error_r)
{
	memset(h_r, 0, sizeof(*h_r));
	*error_r = NULL;
	if (len == 0)
		return PROXY_PARSE_MORE;
	/* The first byte tells the versions apart: 'P' or CR. */
	if (buf[0] == v1_sig[0]) {
		size_t n = len < V1_SIG_LEN ? len : V1_SIG_LEN;
		if (memcmp(buf, v1_sig, n) != 0) {
			*error_r = "not a PROXY header";
			return PROXY_PARSE_ERROR;
		}
		return len < V1_SIG_LEN ? PROXY_PARSE_MORE : v1_parse(buf, len, h_r, error_r);
	}
	size_t n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
	if (memcmp(buf, v2_sig, n) != 0) {
		*error_r = "not a PROXY header";
		return PROXY_PARSE_ERROR;
	}
	return v2_parse(buf, len, h_r, error_r);
}

/* --- settings ------------------------------------------------------- */

struct proxy_net {
	int family;
	unsigned char addr[16];
	unsigned bits;
};

/* Written once at start-up, before any loop thread runs; read-only after. */
static const char *const listener_names[] = {
	"imap", "imaps", "pop3", "pop3s", "smtp", "submission", "submissions", "lmtp",
	"http", "https", NULL,
};
static bool enabled[sizeof(listener_names) / sizeof(listener_names[0])];
static struct proxy_net trusted[PROXY_TRUSTED_MAX];
static size_t ntrusted;

static int parse_net(const char *s, struct proxy_net *net)
{
	char copy[64];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(copy))
		return -1;
	memcpy(copy, s, n + 1);
	char *slash = strchr(copy, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, copy, net->addr) == 1) {
		net->family = AF_INET;
		net->bits = 32;
	} else if (inet_pton(AF_INET6, copy, net->addr) == 1) {
		net->family = AF_INET6;
		net->bits = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		const char *b = slash + 1;
		size_t bl = strlen(b);
		if (bl == 0 || bl > 3 || strspn(b, "0123456789") != bl)
			return -1;
		unsigned long v = strtoul(b, NULL, 10);
		if (v > net->bits)
			return -1;
		net->bits = (unsigned)v;
	}
	return 0;
}

/* Comma or space separated items: calls fn on each; -1 stops. */
static int each_item(const char *list, int (*fn)(const char *item, void *arg), void *arg)
{
	char *copy = xstrdup(list), *save = NULL;
	int ret = 0;
	for (char *it = strtok_r(copy, ", \t", &save); it != NULL && ret == 0;
	     it = strtok_r(NULL, ", \t", &save))
		ret = fn(it, arg);
	free(copy);
	return ret;
}

struct set_ctx {
	char **error_r;
	size_t n;
	struct proxy_net nets[PROXY_TRUSTED_MAX];
};

static int add_trusted(const char *item, void *arg)
{
	struct set_ctx *ctx = arg;
	if (ctx->n == PROXY_TRUSTED_MAX) {
		*ctx->error_r = xasprintf("proxy.trusted: more than %d networks", PROXY_TRUSTED_MAX);
		return -1;
	}
	if (parse_net(item, &ctx->nets[ctx->n]) < 0) {
		*ctx->error_r = xasprintf("proxy.trusted: '%.64s' is not an address or CIDR network",
					  item);
		return -1;
	}
	ctx->n++;
	return 0;
}

int proxy_set_trusted(const char *list, char **error_r)
{
	struct set_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->error_r = error_r;
	int ret = each_item(list, add_trusted, ctx);
	if (ret == 0) {
		memcpy(trusted, ctx->nets, sizeof(trusted));
		ntrusted = ctx->n;
	}
	free(ctx);
	return ret;
}

struct enable_ctx {
	char **error_r;
	bool on[sizeof(listener_names) / sizeof(listener_names[0])];
};

static int add_listener(const char *item, void *arg)
{
	struct enable_ctx *ctx = arg;
	bool all = strcmp(item, "all") == 0;
	if (strcmp(item, "off") == 0)
		return 0;
	for (size_t i = 0; listener_names[i] != NULL; i++) {
		if (all || strcmp(item, listener_names[i]) == 0) {
			ctx->on[i] = true;
			if (!all)
				return 0;
		}
	}
	if (all)
		return 0;
	*ctx->error_r = xasprintf("proxy.protocol: '%.64s' is not a listener (imap, imaps, pop3, "
				  "pop3s, smtp, submission, submissions, lmtp, http, https, all)",
				  item);
	return -1;
}

int proxy_configure(const char *listeners, const char *trusted_list, char **error_r)
{
	struct enable_ctx ctx = {.error_r = error_r};
	if (each_item(listeners, add_listener, &ctx) < 0)
		return -1;
	if (proxy_set_trusted(trusted_list, error_r) < 0)
		return -1;
	memcpy(enabled, ctx.on, sizeof(enabled));
	return 0;
}

bool proxy_enabled(const char *proto)
{
	for (size_t i = 0; listener_names[i] != NULL; i++)
		if (strcmp(proto, listener_names[i]) == 0)
			return enabled[i];
	return false;
}

static bool net_match(const struct proxy_net *net, int family, const unsigned char *addr)
{
	if (net->family != family)
		return false;
	unsigned full = net->bits / 8, rest = net->bits % 8;
	if (memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xFF << (8 - rest));
	return (net->addr[full] & mask) == (addr[full] & mask);
}

bool proxy_trusted(const struct sockaddr *sa, socklen_t salen)
{
	int family;
	const unsigned char *addr;
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		family = AF_INET;
		addr = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		family = AF_INET6;
		addr = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			/* ::ffff:a.b.c.d is the IPv4 peer a.b.c.d. */
			family = AF_INET;
			addr += 12;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < ntrusted; i++)
		if (net_match(&trusted[i], family, addr))
			return true;
	return false;
}

/* --- reader --------------------------------------------------------- */

struct proxy_wait {
	struct proxy_wait *prev, *next;
	struct event *ev;
	evutil_socket_t fd;
	const char *proto; /* the listener's, outlives us (proxy_cancel) */
	proxy_done_fn *done;
	proxy_fail_fn *fail; /* NULL: we own fd and close it on failure */
	void *arg;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char ip[INET6_ADDRSTRLEN];
	struct timeval deadline;
	size_t have;
	unsigned char buf[PROXY_HEADER_MAX];
};

static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static struct proxy_wait *waits;
static size_t nwaits;

static void wait_unlink(struct proxy_wait *w)
{
	pthread_mutex_lock(&wait_lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		waits = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	nwaits--;
	pthread_mutex_unlock(&wait_lock);
}

static void wait_free(struct proxy_wait *w, bool close_fd)
{
	wait_unlink(w);
	if (w->ev != NULL)
		event_free(w->ev);
	if (close_fd)
		evutil_closesocket(w->fd);
	free(w);
}

static void describe(const struct sockaddr *sa, char *out, size_t outlen)
{
	snprintf(out, outlen, "unknown");
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)outlen);
}

/* The socket is done with: closed, or handed back to its owner. */
static void wait_end(struct proxy_wait *w)
{
	proxy_fail_fn *fail = w->fail;
	evutil_socket_t fd = w->fd;
	void *arg = w->arg;
	wait_free(w, fail == NULL);
	if (fail != NULL)
		fail(fd, arg);
}

static void wait_fail(struct proxy_wait *w, const char *why)
{
	log_msg(LOG_INFO, "proto=%s ip=%s PROXY header refused: %s; closing", w->proto, w->ip,
		why);
	wait_end(w);
}

static int wait_arm(struct proxy_wait *w)
{
	struct timeval now, left;
	evutil_gettimeofday(&now, NULL);
	if (!evutil_timercmp(&now, &w->deadline, <))
		return -1;
	evutil_timersub(&w->deadline, &now, &left);
	event_add(w->ev, &left);
	return 0;
}

/* Take exactly n bytes that a peek showed are there. */
static int consume(struct proxy_wait *w, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(w->fd, w->buf + w->have, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		w->have += (size_t)r;
		n -= (size_t)r;
	}
	return 0;
}

static void wait_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait *w = arg;
	if (what & EV_TIMEOUT) {
		wait_fail(w, "no complete header within the timeout");
		return;
	}
	/* Peek, never read: the bytes past the header belong to the
	 * protocol (or the TLS handshake) and must stay in the socket. */
	ssize_t n = recv(fd, w->buf + w->have, sizeof(w->buf) - w->have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		if (wait_arm(w) < 0)
			wait_fail(w, "no complete header within the timeout");
		return;
	}
	if (n == 0 && w->have == 0) {
		/* A bare connect and close: a balancer's TCP health check. */
		log_msg(LOG_DEBUG, "proto=%s ip=%s closed before sending anything", w->proto, w->ip);
		wait_end(w);
		return;
	}
	if (n <= 0) {
		wait_fail(w, n == 0 ? "peer closed before the header ended" : strerror(errno));
		return;
	}
	struct proxy_header h;
	const char *error;
	switch (proxy_parse(w->buf, w->have + (size_t)n, &h, &error)) {
	case PROXY_PARSE_ERROR:
		wait_fail(w, error);
		return;
	case PROXY_PARSE_MORE:
		/* All of it is header: take it off the socket, so that the
		 * next readiness means new bytes (no busy loop on a peek). */
		if (consume(w, (size_t)n) < 0) {
			wait_fail(w, "read error");
			return;
		}
		if (w->have == sizeof(w->buf)) {
			wait_fail(w, "header too long");
			return;
		}
		if (wait_arm(w) < 0)
			wait_fail(w, "no complete header within the timeout");
		return;
	case PROXY_PARSE_DONE:
		break;
	}
	if (consume(w, h.len - w->have) < 0) {
		wait_fail(w, "read error");
		return;
	}
	const struct sockaddr *sa = (const struct sockaddr *)&w->peer;
	socklen_t salen = w->peer_len;
	if (!h.local) {
		sa = (const struct sockaddr *)&h.src;
		salen = h.src_len;
	}
	if (log_enabled(LOG_DEBUG)) {
		char client[INET6_ADDRSTRLEN];
		describe(sa, client, sizeof(client));
		log_msg(LOG_DEBUG, "proto=%s ip=%s PROXY v%d header: client %s%s", w->proto, w->ip,
			h.version, client, h.local ? " (connection's own address)" : "");
	}
	proxy_done_fn *done = w->done;
	void *done_arg = w->arg;
	struct sockaddr_storage client;
	memcpy(&client, sa, salen);
	wait_free(w, false);
	done(fd, (const struct sockaddr *)&client, salen, done_arg);
}

void proxy_accept(struct event_base *base, const char *proto, evutil_socket_t fd,
		  const struct sockaddr *sa, socklen_t salen, proxy_done_fn *done, void *arg)
{
	proxy_read(base, proto, fd, sa, salen, done, NULL, arg);
}

void proxy_read(struct event_base *base, const char *proto, evutil_socket_t fd,
		const struct sockaddr *sa, socklen_t salen, proxy_done_fn *done,
		proxy_fail_fn *fail, void *arg)
{
	struct proxy_wait *w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->proto = proto;
	w->done = done;
	w->fail = fail;
	w->arg = arg;
	if (sa != NULL && salen <= sizeof(w->peer)) {
		memcpy(&w->peer, sa, salen);
		w->peer_len = salen;
		describe(sa, w->ip, sizeof(w->ip));
	} else {
		snprintf(w->ip, sizeof(w->ip), "unknown");
	}
	pthread_mutex_lock(&wait_lock);
	w->next = waits;
	if (waits != NULL)
		waits->prev = w;
	waits = w;
	bool full = ++nwaits > PROXY_PENDING_MAX;
	pthread_mutex_unlock(&wait_lock);
	if (full) {
		wait_fail(w, "too many connections awaiting their header");
		return;
	}
	if (!proxy_trusted(sa, salen)) {
		wait_fail(w, "source not in proxy.trusted");
		return;
	}
	w->ev = event_new(base, fd, EV_READ, wait_read_cb, w);
	struct timeval now, span = {PROXY_HEADER_TIMEOUT_MS / 1000,
				    (PROXY_HEADER_TIMEOUT_MS % 1000) * 1000};
	evutil_gettimeofday(&now, NULL);
	evutil_timeradd(&now, &span, &w->deadline);
	if (w->ev == NULL || wait_arm(w) < 0)
		wait_fail(w, "cannot wait for the header");
}

void proxy_cancel(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&wait_lock);
		struct proxy_wait *w = waits;
		while (w != NULL && w->arg != arg)
			w = w->next;
		pthread_mutex_unlock(&wait_lock);
		if (w == NULL)
			return;
		wait_free(w, w->fail == NULL);
	}
}
