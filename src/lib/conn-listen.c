/*
 * conn-listen: the daemon side of conn. Parses listener values
 * ("host:port", "[v6]:port", "*:port", "unix:/path", comma separated),
 * binds and listens with evconnlistener, and admits accepted connections
 * against the total and per-IP limits (a small hash table of counts).
 */
#include "lib/conn.h"
#include "lib/conn-internal.h"
#include "lib/alloc.h"
#include "lib/proxy-proto.h"
#include <errno.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Longest listener value and longest single address in it. */
#define CONN_LISTEN_VALUE_MAX 4096
#define CONN_LISTEN_ADDR_MAX 300
#define CONN_LISTEN_BACKLOG 511
/* After accept() fails (e.g. EMFILE), pause the listener this long
 * instead of spinning on a readable socket we cannot accept from. */
#define CONN_ACCEPT_RETRY_MS 100
/* Per-IP count table; chains grow past this, which stays correct. */
#define CONN_IP_BUCKETS 1024

struct conn_listener {
	struct conn_listener *next;
	struct evconnlistener *lev;
	struct event *retry;
	struct conn_listener_info info;
	char *addr;	 /* as configured, for logs */
	char *unix_path; /* removed on stop */
};

struct ip_count {
	struct ip_count *next;
	int64_t n;
	char ip[];
};

static struct conn_listener *listeners;
static int last_port;

static pthread_mutex_t admit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ip_count *ip_table[CONN_IP_BUCKETS];
static int64_t admitted_total;

void conn_global_init(struct event_base *base, const struct conn_limits *limits, SSL_CTX *ssl_ctx)
{
	if (ssl_ctx != NULL)
		SSL_CTX_up_ref(ssl_ctx);
	if (conn_global.ssl_ctx != NULL)
		SSL_CTX_free(conn_global.ssl_ctx);
	conn_global.base = base;
	conn_global.limits = *limits;
	conn_global.ssl_ctx = ssl_ctx;
}

/* --- admission ------------------------------------------------------ */

static unsigned ip_hash(const char *ip)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)ip; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h % CONN_IP_BUCKETS;
}

static struct ip_count **ip_find(const char *ip)
{
	struct ip_count **pp = &ip_table[ip_hash(ip)];
	while (*pp != NULL && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

enum conn_refusal conn_admit(const char *ip, bool per_ip)
{
	const struct conn_limits *l = &conn_global.limits;
	enum conn_refusal why = CONN_REFUSE_NONE;
	pthread_mutex_lock(&admit_lock);
	struct ip_count **pp = per_ip ? ip_find(ip) : NULL;
	if (l->max_connections > 0 && admitted_total >= l->max_connections)
		why = CONN_REFUSE_TOTAL;
	else if (pp != NULL && *pp != NULL && l->max_connections_per_ip > 0 &&
		 (*pp)->n >= l->max_connections_per_ip)
		why = CONN_REFUSE_PER_IP;
	if (why == CONN_REFUSE_NONE) {
		admitted_total++;
		if (pp != NULL) {
			if (*pp == NULL) {
				size_t len = strlen(ip) + 1;
				*pp = xcalloc(1, sizeof(**pp) + len);
				memcpy((*pp)->ip, ip, len);
			}
			(*pp)->n++;
		}
	}
	pthread_mutex_unlock(&admit_lock);
	return why;
}

void conn_release(const char *ip, bool per_ip)
{
	pthread_mutex_lock(&admit_lock);
	admitted_total--;
	if (per_ip) {
		struct ip_count **pp = ip_find(ip);
		if (*pp != NULL && --(*pp)->n <= 0) {
			struct ip_count *dead = *pp;
			*pp = dead->next;
			free(dead);
		}
	}
	pthread_mutex_unlock(&admit_lock);
}

/* --- listeners ------------------------------------------------------ */

/* The PROXY header named the client: the connection starts as if it had
 * been accepted from there (limits, logs, policy all see the client). */
static void listener_proxied_cb(evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
				void *arg)
{
	struct conn_listener *l = arg;
	conn_accept(&l->info, fd, sa, salen);
}

static void listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
			       struct sockaddr *sa, int salen, void *arg)
{
	struct conn_listener *l = arg;
	if (l->info.proxy)
		proxy_accept(conn_global.base, l->info.proto, fd, sa, (socklen_t)salen,
			     listener_proxied_cb, l);
	else
		conn_accept(&l->info, fd, sa, (socklen_t)salen);
}

static void listener_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_listener *l = arg;
	evconnlistener_enable(l->lev);
}

static void listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct conn_listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	log_msg(LOG_WARN, "proto=%s listen=%s accept failed: %s", l->info.proto, l->addr,
		evutil_socket_error_to_string(err));
	evconnlistener_disable(lev);
	struct timeval tv = {0, CONN_ACCEPT_RETRY_MS * 1000};
	event_add(l->retry, &tv);
}

static void listener_free(struct conn_listener *l)
{
	proxy_cancel(l);
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	if (l->retry != NULL)
		event_free(l->retry);
	if (l->unix_path != NULL)
		unlink(l->unix_path);
	free(l->unix_path);
	free(l->addr);
	free(l->info.proto);
	free(l);
}

/* Wrap a bound socket; takes ownership of fd. */
static int listener_add(const struct conn_listener_spec *spec, const char *addr, int fd,
			const char *unix_path, char **error_r)
{
	struct conn_listener *l = xcalloc(1, sizeof(*l));
	l->info.proto = xstrdup(spec->proto != NULL ? spec->proto : "-");
	l->info.handler = spec->handler;
	l->info.implicit_tls = spec->implicit_tls;
	l->info.on_refused = spec->on_refused;
	/* Unix sockets are local peers, never behind a balancer. */
	l->info.proxy = unix_path == NULL && proxy_enabled(l->info.proto);
	l->addr = xstrdup(addr);
	l->lev = evconnlistener_new(conn_global.base, listener_accept_cb, l,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    CONN_LISTEN_BACKLOG, fd);
	if (l->lev == NULL) {
		*error_r = xasprintf("%s: listen: %s", addr, strerror(errno));
		close(fd);
		listener_free(l);
		return -1;
	}
	l->unix_path = unix_path != NULL ? xstrdup(unix_path) : NULL;
	l->retry = evtimer_new(conn_global.base, listener_retry_cb, l);
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	l->next = listeners;
	listeners = l;
	return 0;
}

static int listen_unix(const struct conn_listener_spec *spec, const char *addr,
		       const char *path, char **error_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = xasprintf("%s: unix socket path must be absolute and under %zu bytes",
				     addr, sizeof(sun.sun_path));
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*error_r = xasprintf("%s: exists and is not a socket", addr);
			return -1;
		}
		/* A socket file left by a previous run is stale unless someone
		 * still answers on it. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0) {
			int r = connect(probe, (struct sockaddr *)&sun, sizeof(sun));
			close(probe);
			if (r == 0) {
				*error_r = xasprintf("%s: in use by a running server", addr);
				return -1;
			}
		}
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = xasprintf("%s: socket: %s", addr, strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = xasprintf("%s: bind: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	/* Owner and group (e.g. the front MTA's group for LMTP). */
	if (chmod(path, 0660) < 0) {
		*error_r = xasprintf("%s: chmod: %s", addr, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (listener_add(spec, addr, fd, path, error_r) < 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

/* conn.h */
int conn_split_host_port(char *s, char **host_r, char **port_r)
{
	char *colon;
	if (s[0] == '[') {
		char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		*close = '\0';
		*host_r = s + 1;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1; /* a bare IPv6 address needs brackets */
		*colon = '\0';
		*host_r = s;
	}
	*port_r = colon + 1;
	if (**host_r == '\0' || strcmp(*host_r, "*") == 0)
		*host_r = NULL;
	const char *p = *port_r;
	if (*p == '\0' || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p) ||
	    strtol(p, NULL, 10) > 65535)
		return -1;
	return 0;
}

static int listen_inet(const struct conn_listener_spec *spec, const char *addr, char **error_r)
{
	char copy[CONN_LISTEN_ADDR_MAX];
	char *host, *port;
	snprintf(copy, sizeof(copy), "%s", addr);
	if (conn_split_host_port(copy, &host, &port) < 0) {
		*error_r = xasprintf("%s: expected host:port, [ipv6]:port or unix:/path", addr);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		*error_r = xasprintf("%s: %s", addr, gai_strerror(gai));
		return -1;
	}
	int ret = 0;
	for (ai = res; ai != NULL && ret == 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd < 0) {
			*error_r = xasprintf("%s: socket: %s", addr, strerror(errno));
			ret = -1;
			break;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* One socket per family, so "*:143" can bind 0.0.0.0 and ::. */
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			*error_r = xasprintf("%s: bind: %s", addr, strerror(errno));
			close(fd);
			ret = -1;
			break;
		}
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
			if (ss.ss_family == AF_INET)
				last_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			else if (ss.ss_family == AF_INET6)
				last_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
		ret = listener_add(spec, addr, fd, NULL, error_r);
	}
	freeaddrinfo(res);
	return ret;
}

int conn_listen(const struct conn_listener_spec *spec, char **error_r)
{
	if (spec->listen == NULL || spec->listen[0] == '\0')
		return 0;
	if (strlen(spec->listen) > CONN_LISTEN_VALUE_MAX) {
		*error_r = xasprintf("listener value longer than %d bytes", CONN_LISTEN_VALUE_MAX);
		return -1;
	}
	if (spec->implicit_tls && conn_global.ssl_ctx == NULL) {
		*error_r = xasprintf("%s: implicit TLS needs tls.cert and tls.key", spec->listen);
		return -1;
	}
	struct conn_listener *before = listeners;
	char *value = xstrdup(spec->listen), *save = NULL;
	int ret = 0;
	for (char *item = strtok_r(value, ",", &save); item != NULL && ret == 0;
	     item = strtok_r(NULL, ",", &save)) {
		item += strspn(item, " \t");
		size_t n = strlen(item);
		while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
			item[--n] = '\0';
		if (n == 0)
			continue;
		if (n >= CONN_LISTEN_ADDR_MAX) {
			*error_r = xasprintf("%.40s...: address too long", item);
			ret = -1;
		} else if (strncmp(item, "unix:", 5) == 0) {
			ret = listen_unix(spec, item, item + 5, error_r);
		} else {
			ret = listen_inet(spec, item, error_r);
		}
	}
	free(value);
	if (ret < 0) {
		/* All or nothing: drop what this call managed to open. */
		while (listeners != before) {
			struct conn_listener *l = listeners;
			listeners = l->next;
			listener_free(l);
		}
	}
	return ret;
}

int conn_listen_last_port(void)
{
	return last_port;
}

void conn_listen_stop_all(void)
{
	while (listeners != NULL) {
		struct conn_listener *l = listeners;
		listeners = l->next;
		listener_free(l);
	}
}
