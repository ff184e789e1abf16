/*
 * http-server: the listeners and the request path. Two evhttp servers
 * (plain and TLS) share the route table; each accepted connection gets
 * its bufferevent from http_bev_new (evhttp_set_bevcb): an OpenSSL one
 * on HTTPS, a socket one on HTTP; the connection's close callback tells
 * us it is gone. That is how the connection limit and the lifetime
 * deadline are kept: evhttp itself
 * (libevent 2.1) has setters for header size, body size and idle
 * timeout, but none for a connection count or a total deadline.
 *
 * Limits, each from a key (http-config.c):
 *   http.max_header_size  evhttp_set_max_headers_size (400 past it)
 *   http.max_body_size    evhttp_set_max_body_size (413 past it)
 *   http.timeout          evhttp_set_timeout_tv (idle read/write)
 *   http.max_connections  the listeners stop accepting at the limit
 *   http.connection_timeout  the socket is shut down at the deadline
 * Methods other than GET, HEAD and POST are refused by evhttp
 * (evhttp_set_allowed_methods: 501) before any route runs.
 *
 * PROXY protocol (proxy.protocol names http/https): evhttp accepts the
 * socket itself, so the header is taken in http_conn_attach, which runs
 * before the loop first polls the new socket: evhttp's reading (and the
 * TLS handshake) is switched off until lib/proxy-proto has read exactly
 * the header; the per-address limit and the access log then use the
 * header's client address.
 */
#include "http/http-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/proxy-proto.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* Longest listener value and one address in it. */
#define HTTP_LISTEN_VALUE_MAX 4096
#define HTTP_LISTEN_ADDR_MAX 300
#define HTTP_LISTEN_BACKLOG 511
#define HTTP_MAX_LISTENERS 16
/* Longest path shown in the access log. */
#define HTTP_LOG_PATH_MAX 200
/* Buckets of the per-address connection counts; chains grow past it. */
#define HTTP_IP_BUCKETS 256

struct http_server;

/* One evhttp (plain or TLS) and what its connections need. */
struct http_side {
	struct http_server *srv;
	struct evhttp *eh;
	bool tls;
	const char *proto; /* "http", "https": logs and metrics */
};

struct http_conn {
	struct http_conn *prev, *next;
	struct http_side *side;
	struct bufferevent *bev; /* evhttp owns it */
	struct event *deadline;
	struct event *attach;
	struct http_ip_count *ip; /* counted against http.max_connections_per_ip */
	bool proxy_wait;	  /* reading the PROXY header (lib/proxy-proto.h) */
	char client_ip[INET6_ADDRSTRLEN]; /* from the PROXY header; "" = evhttp's peer */
};

struct http_ip_count {
	struct http_ip_count *next;
	int64_t n;
	char ip[];
};

struct http_server {
	struct config *cfg;
	struct store *store;
	SSL_CTX *ssl_ctx;
	struct event_base *base;
	struct http_side plain, secure;
	struct evconnlistener *levs[HTTP_MAX_LISTENERS];
	size_t nlevs;
	struct http_conn *conns;
	int64_t nconns, max_conns, max_per_ip, lifetime_ms;
	struct http_ip_count *ips[HTTP_IP_BUCKETS];
	bool paused, stopping;
};

/* Static, never freed: libevent may finish freeing a connection (and
 * call http_conn_closed) after http_stop, up to event_base_free. */
static struct http_server the_server;
static struct http_server *server;

/* --- connections ---------------------------------------------------- */

static void accepting(struct http_server *srv, bool on)
{
	if (srv->paused == !on)
		return;
	srv->paused = !on;
	for (size_t i = 0; i < srv->nlevs; i++) {
		if (on)
			evconnlistener_enable(srv->levs[i]);
		else
			evconnlistener_disable(srv->levs[i]);
	}
	if (!on)
		log_warn("proto=http %lld connections open (http.max_connections): not accepting "
			 "until one closes", (long long)srv->nconns);
}

/* The count of connections from ip, created at 0. */
static struct http_ip_count *ip_count(struct http_server *srv, const char *ip)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)ip; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	struct http_ip_count **pp = &srv->ips[h % HTTP_IP_BUCKETS];
	while (*pp != NULL && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	if (*pp == NULL) {
		size_t len = strlen(ip) + 1;
		*pp = xcalloc(1, sizeof(**pp) + len);
		memcpy((*pp)->ip, ip, len);
	}
	return *pp;
}

static void ip_release(struct http_server *srv, struct http_ip_count *c)
{
	if (--c->n > 0)
		return;
	for (size_t b = 0; b < HTTP_IP_BUCKETS; b++)
		for (struct http_ip_count **pp = &srv->ips[b]; *pp != NULL; pp = &(*pp)->next)
			if (*pp == c) {
				*pp = c->next;
				free(c);
				return;
			}
}

static void http_conn_free(struct http_conn *hc)
{
	struct http_server *srv = hc->side->srv;
	if (hc->proxy_wait)
		proxy_cancel(hc);
	if (hc->ip != NULL)
		ip_release(srv, hc->ip);
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		srv->conns = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	event_free(hc->deadline);
	event_free(hc->attach);
	metrics_conn_closed(hc->side->proto);
	srv->nconns--;
	if (!srv->stopping && srv->nconns < srv->max_conns)
		accepting(srv, true);
	free(hc);
}

/* evhttp is freeing the connection (its close callback). */
static void http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *hc = arg;
	evhttp_connection_set_closecb(evcon, NULL, NULL); /* exactly once */
	/* a client that gave up on the certificate sends no request: say why
	 * at debug, as the mail listeners do (lib/conn.c) */
	SSL *ssl = hc->side->tls ? bufferevent_openssl_get_ssl(hc->bev) : NULL;
	if (ssl != NULL && !SSL_is_init_finished(ssl) && log_enabled(LOG_DEBUG)) {
		unsigned long e = bufferevent_get_openssl_error(hc->bev);
		char reason[256] = "";
		if (e != 0)
			ERR_error_string_n(e, reason, sizeof(reason));
		char *peer = NULL;
		ev_uint16_t port = 0;
		evhttp_connection_get_peer(evcon, &peer, &port);
		log_debug("proto=%s ip=%s connection TLS handshake failed%s%s", hc->side->proto,
			  hc->client_ip[0] != '\0' ? hc->client_ip : peer != NULL ? peer : "-",
			  e != 0 ? ": " : "", reason);
	}
	ERR_clear_error();
	http_conn_free(hc);
}

/* http.max_connections_per_ip: the peer is known only now; one over the
 * limit is shut at once (evhttp then frees it). */
static void http_count_peer(struct http_conn *hc, const char *peer)
{
	struct http_server *srv = hc->side->srv;
	if (peer == NULL || srv->max_per_ip <= 0)
		return;
	hc->ip = ip_count(srv, peer);
	if (++hc->ip->n > srv->max_per_ip) {
		log_info("proto=%s ip=%s refused: more than %lld connections from this address "
			 "(http.max_connections_per_ip)", hc->side->proto, peer,
			 (long long)srv->max_per_ip);
		evutil_socket_t sock = bufferevent_getfd(hc->bev);
		if (sock >= 0)
			shutdown(sock, SHUT_RDWR);
	}
}

/* The PROXY header named the client: count it, let evhttp read on. */
static void http_proxy_done(evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
			    void *arg)
{
	struct http_conn *hc = arg;
	hc->proxy_wait = false;
	const unsigned char *a6 = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, hc->client_ip,
			  sizeof(hc->client_ip));
	else if (sa->sa_family == AF_INET6 &&
		 IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr))
		inet_ntop(AF_INET, a6 + 12, hc->client_ip, sizeof(hc->client_ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, a6, hc->client_ip, sizeof(hc->client_ip));
	http_count_peer(hc, hc->client_ip[0] != '\0' ? hc->client_ip : NULL);
	bufferevent_enable(hc->bev, EV_READ);
}

/* No valid header: evhttp sees the end of the stream and frees the
 * connection itself. */
static void http_proxy_failed(evutil_socket_t fd, void *arg)
{
	struct http_conn *hc = arg;
	hc->proxy_wait = false;
	shutdown(fd, SHUT_RDWR);
	bufferevent_enable(hc->bev, EV_READ);
}

/* proxy.protocol names this listener: nothing has been read yet (this
 * runs before the loop polls the new socket); evhttp's reading, and the
 * TLS handshake with it, waits until the header is off the socket. */
static void http_proxy_start(struct http_conn *hc)
{
	evutil_socket_t fd = bufferevent_getfd(hc->bev);
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		return;
	}
	/* On HTTPS both events drive the handshake: neither may fire. evhttp
	 * itself keeps EV_WRITE off until it has a reply to send. */
	bufferevent_disable(hc->bev, EV_READ | EV_WRITE);
	hc->proxy_wait = true;
	proxy_read(hc->side->srv->base, hc->side->proto, fd, (struct sockaddr *)&ss, sslen,
		   http_proxy_done, http_proxy_failed, hc);
}

/* The client address a request's access line shows: the PROXY header's
 * when the listener takes one. */
static void http_client_ip(struct http_side *side, struct evhttp_connection *evcon,
			   const char **ip_r)
{
	if (!proxy_enabled(side->proto))
		return;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	for (struct http_conn *hc = side->srv->conns; hc != NULL; hc = hc->next)
		if (hc->bev == bev) {
			*ip_r = hc->client_ip[0] != '\0' ? hc->client_ip : "-";
			return;
		}
}

/* Runs right after evhttp made the connection for our bufferevent
 * (http_bev_new is called before the connection exists). evhttp sets
 * the connection as its bufferevent's callback argument; it is taken
 * only when it really owns this bufferevent. */
static void http_conn_attach(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *hc = arg;
	void *cbarg = NULL;
	bufferevent_getcb(hc->bev, NULL, NULL, NULL, &cbarg);
	struct evhttp_connection *evcon = cbarg;
	if (evcon == NULL || evhttp_connection_get_bufferevent(evcon) != hc->bev) {
		log_error("proto=%s cannot track an HTTP connection: limits not applied to it",
			  hc->side->proto);
		http_conn_free(hc);
		return;
	}
	evhttp_connection_set_closecb(evcon, http_conn_closed, hc);
	if (proxy_enabled(hc->side->proto)) {
		http_proxy_start(hc);
		return;
	}
	char *peer = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(evcon, &peer, &port);
	http_count_peer(hc, peer);
}

/* http.connection_timeout: shut the socket; evhttp then sees the end of
 * the stream and frees the connection itself. */
static void http_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *hc = arg;
	evutil_socket_t sock = bufferevent_getfd(hc->bev);
	log_info("proto=%s connection open longer than http.connection_timeout: closing",
		 hc->side->proto);
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);
}

static struct bufferevent *http_bev_new(struct event_base *base, void *arg)
{
	struct http_side *side = arg;
	struct http_server *srv = side->srv;
	struct bufferevent *bev = NULL;
	if (side->tls) {
		SSL *ssl = SSL_new(srv->ssl_ctx);
		if (ssl != NULL)
			bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
							     BEV_OPT_CLOSE_ON_FREE);
		if (bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		ERR_clear_error();
	} else {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (bev == NULL)
		return NULL; /* evhttp falls back to a plain socket (and fails TLS) */
	struct http_conn *hc = xcalloc(1, sizeof(*hc));
	hc->side = side;
	hc->bev = bev;
	hc->deadline = evtimer_new(base, http_conn_deadline, hc);
	hc->attach = event_new(base, -1, 0, http_conn_attach, hc);
	event_active(hc->attach, EV_TIMEOUT, 0);
	if (srv->lifetime_ms > 0) {
		struct timeval tv = {srv->lifetime_ms / 1000, (srv->lifetime_ms % 1000) * 1000};
		evtimer_add(hc->deadline, &tv);
	}
	hc->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = hc;
	srv->conns = hc;
	srv->nconns++;
	metrics_conn_opened(side->proto);
	if (srv->max_conns > 0 && srv->nconns >= srv->max_conns)
		accepting(srv, false);
	return bev;
}

/* --- replies -------------------------------------------------------- */

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void http_reply(struct http_req *r, int code, const char *content_type, const void *body,
		size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
	if (content_type != NULL)
		evhttp_add_header(out, "Content-Type", content_type);
	/* Generated from the live settings: never cached stale. */
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	struct evbuffer *b = evbuffer_new();
	if (evhttp_request_get_command(r->ev) == EVHTTP_REQ_HEAD) {
		/* RFC 9110 9.3.2: the length GET would have, and no body (evhttp
		 * would send one, unframed, which desyncs the next request) */
		char n[24];
		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(out, "Content-Length", n);
	} else if (body != NULL && len > 0) {
		evbuffer_add(b, body, len);
	}
	evhttp_send_reply(r->ev, code, reason(code), b);
	evbuffer_free(b);
	r->code = code;
	r->bytes = len;
}

void http_reply_error(struct http_req *r, int code, const char *text)
{
	char *body = xasprintf("%s\n", text != NULL ? text : reason(code));
	http_reply(r, code, "text/plain; charset=utf-8", body, strlen(body));
	free(body);
}

const char *http_query(struct http_req *r, const char *name)
{
	return evhttp_find_header(&r->query, name);
}

char *http_body_dup(struct http_req *r, size_t *len_r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t n = evbuffer_get_length(in);
	char *s = xmalloc(n + 1);
	evbuffer_copyout(in, s, n);
	s[n] = '\0';
	*len_r = n;
	return s;
}

/* --- requests ------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	default: return "OTHER";
	}
}

/* Host header, lowercased, without its port ("[::1]:8080" -> "[::1]"). */
static void request_host(struct evhttp_request *ev, char *host, size_t cap)
{
	host[0] = '\0';
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(ev), "Host");
	if (h == NULL || strlen(h) >= cap)
		return;
	size_t n = strlen(h);
	const char *colon = strrchr(h, ':');
	if (colon != NULL && (h[0] != '[' || colon > strchr(h, ']')))
		n = (size_t)(colon - h);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		/* a name or an address literal, nothing else (it is logged) */
		if (!isalnum(c) && strchr(".-_[]:", c) == NULL) {
			host[0] = '\0';
			return;
		}
		host[i] = (char)tolower(c);
	}
	host[n] = '\0';
	if (n > 0 && host[n - 1] == '.') /* "example.com." names the same host */
		host[n - 1] = '\0';
}

/* The path as the client sent it (still percent-encoded), cut at
 * HTTP_LOG_PATH_MAX, with anything but printable ASCII and what a log
 * parser splits on shown as '?': one request, one log line. */
static void log_path(const char *raw, char *out, size_t cap)
{
	size_t n = 0;
	for (; raw != NULL && *raw != '\0' && n + 4 < cap; raw++) {
		unsigned char c = (unsigned char)*raw;
		out[n++] = c > 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
	}
	if (raw != NULL && *raw != '\0')
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
}

static void access_log(const struct http_side *side, struct http_req *r, const char *raw_path,
		       const char *method, int64_t start_us)
{
	char path[HTTP_LOG_PATH_MAX + 4];
	log_path(raw_path, path, sizeof(path));
	log_info("proto=%s ip=%s method=%s host=%s path=%s status=%d bytes=%zu ms=%.1f",
		 side->proto, r->ip, method, r->host[0] ? r->host : "-", path, r->code, r->bytes,
		 (double)(metrics_now_us() - start_us) / 1000.0);
}

/* Anything not printable (after percent-decoding) is refused: no route
 * has a use for it and the log line must stay one line. */
static bool path_printable(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Exact, or a prefix for a route path ending in '/' (the ACME token
 * under /.well-known/acme-challenge/ is the only such route). */
static bool http_route_matches(const char *route, const char *path)
{
	size_t n = strlen(route);
	if (n > 0 && route[n - 1] == '/')
		return strncmp(route, path, n) == 0 && path[n] != '\0';
	return strcmp(route, path) == 0;
}

static void http_request_cb(struct evhttp_request *ev, void *arg)
{
	struct http_side *side = arg;
	struct http_server *srv = side->srv;
	int64_t start = metrics_now_us();
	struct http_req r = {.ev = ev, .cfg = srv->cfg, .store = srv->store,
			     .ssl_ctx = srv->ssl_ctx, .tls = side->tls, .ip = "-"};
	r.query.tqh_first = NULL;
	r.query.tqh_last = &r.query.tqh_first;
	char *peer = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	if (peer != NULL)
		r.ip = peer;
	if (evcon != NULL)
		http_client_ip(side, evcon, &r.ip);
	request_host(ev, r.host, sizeof(r.host));
	const char *method = method_name(evhttp_request_get_command(ev));
	const char *route_name = "none";

	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *raw_path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *raw_query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	char *path = NULL;
	if (raw_path == NULL || (raw_query != NULL && strlen(raw_query) > HTTP_URI_MAX) ||
	    strlen(raw_path) > HTTP_URI_MAX) {
		http_reply_error(&r, raw_path == NULL ? 400 : 414, NULL);
		goto done;
	}
	size_t path_len = 0;
	path = evhttp_uridecode(raw_path, 0, &path_len);
	r.path = path;
	/* a decoded NUL would cut "/metrics%00" to "/metrics": refused */
	if (path == NULL || strlen(path) != path_len || !path_printable(path) ||
	    (raw_query != NULL && evhttp_parse_query_str(raw_query, &r.query) < 0)) {
		http_reply_error(&r, 400, NULL);
		goto done;
	}
	const struct http_route *route = http_routes;
	while (route->path != NULL && !http_route_matches(route->path, path))
		route++;
	if (route->path == NULL) {
		http_reply_error(&r, 404, NULL);
		goto done;
	}
	route_name = route->name;
	if ((evhttp_request_get_command(ev) & route->methods) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow",
				  (route->methods & EVHTTP_REQ_POST) ? "GET, HEAD, POST" : "GET, HEAD");
		http_reply_error(&r, 405, NULL);
		goto done;
	}
	route->fn(&r);
	if (r.code == 0)
		http_reply_error(&r, 500, NULL); /* a route must answer */
done:
	access_log(side, &r, raw_path, method, start);
	char code[8];
	snprintf(code, sizeof(code), "%d", r.code);
	metrics_inc("roost_http_requests_total", route_name, code);
	evhttp_clear_headers(&r.query);
	free(path);
}

/* --- listeners ------------------------------------------------------ */

static int side_init(struct http_server *srv, struct http_side *side, bool tls)
{
	struct config *cfg = srv->cfg;
	side->srv = srv;
	side->tls = tls;
	side->proto = tls ? "https" : "http";
	side->eh = evhttp_new(srv->base);
	if (side->eh == NULL)
		return -1;
	evhttp_set_max_headers_size(side->eh, (ev_ssize_t)config_size(cfg, "http.max_header_size"));
	evhttp_set_max_body_size(side->eh, (ev_ssize_t)config_size(cfg, "http.max_body_size"));
	int64_t ms = config_ms(cfg, "http.timeout");
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	if (ms > 0) /* 0: evhttp's own default (50 s), never "none" */
		evhttp_set_timeout_tv(side->eh, &tv);
	evhttp_set_allowed_methods(side->eh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_bevcb(side->eh, http_bev_new, side);
	evhttp_set_gencb(side->eh, http_request_cb, side);
	return 0;
}

static int bind_one(struct http_server *srv, struct http_side *side, const char *addr,
		    char **error_r)
{
	char copy[HTTP_LISTEN_ADDR_MAX];
	char *host, *port;
	if (strlen(addr) >= sizeof(copy) || strncmp(addr, "unix:", 5) == 0) {
		*error_r = xasprintf("%s.listen: %s: expected host:port or [ipv6]:port", side->proto,
				     addr);
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", addr);
	if (conn_split_host_port(copy, &host, &port) < 0) {
		*error_r = xasprintf("%s.listen: %s: expected host:port or [ipv6]:port", side->proto,
				     addr);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		*error_r = xasprintf("%s: %s", addr, gai_strerror(gai));
		return -1;
	}
	int ret = 0;
	for (struct addrinfo *ai = res; ai != NULL && ret == 0; ai = ai->ai_next) {
		if (srv->nlevs == HTTP_MAX_LISTENERS) {
			*error_r = xasprintf("%s: more than %d HTTP listening sockets", addr,
					     HTTP_MAX_LISTENERS);
			ret = -1;
			break;
		}
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		int one = 1;
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		}
		if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			*error_r = xasprintf("%s: bind: %s", addr, strerror(errno));
			if (fd >= 0)
				close(fd);
			ret = -1;
			break;
		}
		struct evconnlistener *lev = evconnlistener_new(
			srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
			HTTP_LISTEN_BACKLOG, fd);
		if (lev == NULL) {
			*error_r = xasprintf("%s: listen: %s", addr, strerror(errno));
			close(fd);
			ret = -1;
			break;
		}
		/* evhttp takes the listener over (its accept callback);
		 * we keep it only to pause it at http.max_connections. */
		if (evhttp_bind_listener(side->eh, lev) == NULL) {
			evconnlistener_free(lev);
			*error_r = xasprintf("%s: cannot serve HTTP on it", addr);
			ret = -1;
			break;
		}
		srv->levs[srv->nlevs++] = lev;
	}
	freeaddrinfo(res);
	return ret;
}

static int bind_side(struct http_server *srv, struct http_side *side, const char *value,
		     char **error_r)
{
	if (strlen(value) > HTTP_LISTEN_VALUE_MAX) {
		*error_r = xasprintf("%s.listen: longer than %d bytes", side->proto,
				     HTTP_LISTEN_VALUE_MAX);
		return -1;
	}
	char *copy = xstrdup(value), *save = NULL;
	int ret = 0;
	for (char *item = strtok_r(copy, ",", &save); item != NULL && ret == 0;
	     item = strtok_r(NULL, ",", &save)) {
		item += strspn(item, " \t");
		size_t n = strlen(item);
		while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
			item[--n] = '\0';
		if (n > 0)
			ret = bind_one(srv, side, item, error_r);
	}
	free(copy);
	return ret;
}

int http_start(struct config *cfg, struct store *store, SSL_CTX *ssl_ctx, char **error_r)
{
	const char *plain = config_str(cfg, "http.listen");
	const char *secure = config_str(cfg, "https.listen");
	if (*plain == '\0' && *secure == '\0')
		return 0;
	if (*secure != '\0' && ssl_ctx == NULL) {
		*error_r = xasprintf("https.listen needs tls.cert and tls.key");
		return -1;
	}
	struct http_server *srv = &the_server;
	*srv = (struct http_server){0};
	srv->cfg = cfg;
	srv->store = store;
	srv->base = conn_global_base();
	srv->max_conns = config_int(cfg, "http.max_connections");
	srv->max_per_ip = config_int(cfg, "http.max_connections_per_ip");
	srv->lifetime_ms = config_ms(cfg, "http.connection_timeout");
	if (ssl_ctx != NULL) {
		SSL_CTX_up_ref(ssl_ctx);
		srv->ssl_ctx = ssl_ctx;
	}
	server = srv;
	if (side_init(srv, &srv->plain, false) < 0 || side_init(srv, &srv->secure, true) < 0) {
		*error_r = xstrdup("cannot create the HTTP server");
		http_stop();
		return -1;
	}
	if (bind_side(srv, &srv->plain, plain, error_r) < 0 ||
	    bind_side(srv, &srv->secure, secure, error_r) < 0) {
		http_stop();
		return -1;
	}
	http_metrics_collectors(srv->store);
	return 0;
}

void http_set_ssl_ctx(SSL_CTX *ctx)
{
	struct http_server *srv = server;
	if (srv == NULL || ctx == NULL)
		return;
	SSL_CTX_up_ref(ctx);
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = ctx;
}

void http_stop(void)
{
	struct http_server *srv = server;
	if (srv == NULL)
		return;
	srv->stopping = true;
	/* evhttp_free closes its listeners and frees every connection (each
	 * runs http_conn_closed). */
	if (srv->plain.eh != NULL)
		evhttp_free(srv->plain.eh);
	if (srv->secure.eh != NULL)
		evhttp_free(srv->secure.eh);
	srv->plain.eh = srv->secure.eh = NULL;
	SSL_CTX_free(srv->ssl_ctx); /* each SSL holds its own reference */
	srv->ssl_ctx = NULL;
	server = NULL;
}
