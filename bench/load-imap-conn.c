/*
 * load-imap-conn: the connection-level IMAP modes of roost-load, written
 * for bench/compare/compare.py so that Roost and Dovecot are
 * driven by exactly the same client.
 *
 *   imap-login      -c threads open -n connections in all, each: connect,
 *   imap-login-tls  greeting, LOGIN <user><i mod K>@<domain>, LOGOUT. One
 *                   sample per login, from connect() to the tagged OK of
 *                   LOGIN. The -tls form does a full TLS handshake (implicit
 *                   TLS, no session resumption) on every connection.
 *   imap-hold       opens -c connections (accounts round-robin), LOGIN,
 *   imap-hold-tls   SELECT INBOX, IDLE on each; prints "holding N" on
 *                   stdout and keeps them until stdin reaches EOF, so the
 *                   caller can measure the server's memory meanwhile.
 *   imap-search     one session as <user>0: SELECT INBOX, then -n times
 *                   SEARCH BODY of a word no message holds (every message
 *                   body is scanned); one sample per SEARCH.
 *
 * Blocking sockets throughout: these modes measure the server, and the
 * login storm gets its concurrency from threads (each keeps its own
 * samples; the main thread hands them to load_record() after the join).
 */
#include "load.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest server line we keep; a longer one is discarded whole. */
#define CONN_LOAD_LINE_MAX 65536
#define CONN_LOAD_MAX_THREADS 256
#define CONN_LOAD_MAX_HOLD 30000
/* Seconds a blocking read or connect may take before the attempt fails. */
#define CONN_LOAD_TIMEOUT_S 60

struct cconn {
	int fd;
	SSL *ssl;
	char buf[CONN_LOAD_LINE_MAX];
	size_t len;
};

static int wait_connected(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);
	if (poll(&p, 1, CONN_LOAD_TIMEOUT_S * 1000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
		return -1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = {.tv_sec = CONN_LOAD_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

static void c_close(struct cconn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static int c_open(const struct load_opts *o, struct cconn *c, SSL_CTX *ctx)
{
	c->len = 0;
	c->ssl = NULL;
	c->fd = load_connect(o);
	if (c->fd < 0)
		return -1;
	if (wait_connected(c->fd) < 0)
		goto fail;
	if (ctx != NULL) {
		c->ssl = SSL_new(ctx);
		SSL_set_fd(c->ssl, c->fd);
		if (SSL_connect(c->ssl) != 1)
			goto fail;
	}
	return 0;
fail:
	c_close(c);
	return -1;
}

static int c_write(struct cconn *c, const char *s, size_t n)
{
	if (c->ssl != NULL)
		return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -1;
	return write(c->fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* Read lines until one starts with `prefix` (0), or one starts with
 * `fail_prefix` or the connection ends (-1). */
static int c_wait(struct cconn *c, const char *prefix, const char *fail_prefix)
{
	size_t pl = strlen(prefix), fl = fail_prefix != NULL ? strlen(fail_prefix) : 0;
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t ll = (size_t)(nl - c->buf) + 1;
			int r = 1;
			if (ll >= pl && memcmp(c->buf, prefix, pl) == 0)
				r = 0;
			else if (fl > 0 && ll >= fl && memcmp(c->buf, fail_prefix, fl) == 0)
				r = -1;
			memmove(c->buf, c->buf + ll, c->len - ll);
			c->len -= ll;
			if (r <= 0)
				return r;
		}
		if (c->len == sizeof(c->buf))
			c->len = 0;
		ssize_t n = c->ssl != NULL
				    ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len))
				    : read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* every connection is a new client: no session resumption */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}

static const char *password(const struct load_opts *o)
{
	return o->password != NULL ? o->password : "secret";
}

/* --- imap-login, imap-login-tls --- */

struct storm {
	const struct load_opts *o;
	SSL_CTX *ctx;
	pthread_mutex_t lock;
	long next;		/* next login to start, under lock */
	long failures;		/* under lock */
	char first_error[256];	/* under lock */
};

struct storm_thread {
	struct storm *s;
	pthread_t tid;
	int64_t *samples;
	size_t n, cap;
	struct cconn conn;
};

static void storm_fail(struct storm *s, long i, const char *what)
{
	pthread_mutex_lock(&s->lock);
	if (s->failures++ == 0)
		snprintf(s->first_error, sizeof(s->first_error), "login %ld: %s", i, what);
	pthread_mutex_unlock(&s->lock);
}

static void *storm_main(void *arg)
{
	struct storm_thread *t = arg;
	struct storm *s = t->s;
	const struct load_opts *o = s->o;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		long i = s->next < o->messages ? s->next++ : -1;
		pthread_mutex_unlock(&s->lock);
		if (i < 0)
			break;
		int64_t t0 = load_now_us();
		struct cconn *c = &t->conn;
		if (c_open(o, c, s->ctx) < 0) {
			storm_fail(s, i, "connect or TLS handshake failed");
			continue;
		}
		char cmd[512];
		int n = snprintf(cmd, sizeof(cmd), "l LOGIN %s%ld@%s %s\r\n", o->user,
				 i % o->accounts, o->domain, password(o));
		if (c_wait(c, "* OK", "* BYE") < 0 || c_write(c, cmd, (size_t)n) < 0 ||
		    c_wait(c, "l OK", "l ") < 0) {
			storm_fail(s, i, "no greeting or LOGIN refused");
			c_close(c);
			continue;
		}
		int64_t dt = load_now_us() - t0;
		/* LOGOUT is part of a client's cycle, not of the sample */
		if (c_write(c, "z LOGOUT\r\n", 10) == 0)
			c_wait(c, "z ", NULL);
		c_close(c);
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 1024;
			t->samples = realloc(t->samples, t->cap * sizeof(*t->samples));
			if (t->samples == NULL)
				abort();
		}
		t->samples[t->n++] = dt;
	}
	return NULL;
}

static int run_storm(const struct load_opts *o, bool tls)
{
	if (o->sessions > CONN_LOAD_MAX_THREADS)
		return -1;
	struct storm s = {.o = o, .ctx = tls ? client_ctx() : NULL};
	pthread_mutex_init(&s.lock, NULL);
	struct storm_thread *ts = calloc((size_t)o->sessions, sizeof(*ts));
	if (ts == NULL)
		return -1;
	int started = 0;
	for (int i = 0; i < o->sessions; i++) {
		ts[i].s = &s;
		ts[i].conn.fd = -1;
		if (pthread_create(&ts[i].tid, NULL, storm_main, &ts[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(ts[i].tid, NULL);
		for (size_t k = 0; k < ts[i].n; k++)
			load_record(ts[i].samples[k]);
		free(ts[i].samples);
	}
	if (s.failures > 0)
		load_error("%ld of %ld logins failed; first: %s", s.failures, o->messages,
			   s.first_error);
	free(ts);
	if (s.ctx != NULL)
		SSL_CTX_free(s.ctx);
	pthread_mutex_destroy(&s.lock);
	return 0;
}

static int run_login(const struct load_opts *o)
{
	return run_storm(o, false);
}

static int run_login_tls(const struct load_opts *o)
{
	return run_storm(o, true);
}

/* --- imap-hold, imap-hold-tls --- */

static int run_hold_common(const struct load_opts *o, bool tls)
{
	if (o->sessions > CONN_LOAD_MAX_HOLD)
		return -1;
	SSL_CTX *ctx = tls ? client_ctx() : NULL;
	struct cconn *cs = calloc((size_t)o->sessions, sizeof(*cs));
	if (cs == NULL)
		return -1;
	int opened = 0, idling = 0;
	/* open and pipeline every session first, then collect the IDLE
	 * continuations: the server works on many logins at once */
	for (int i = 0; i < o->sessions; i++) {
		char cmd[512];
		int n = snprintf(cmd, sizeof(cmd), "l LOGIN %s%d@%s %s\r\ns SELECT INBOX\r\ni IDLE\r\n",
				 o->user, i % o->accounts, o->domain, password(o));
		if (c_open(o, &cs[i], ctx) < 0 || c_write(&cs[i], cmd, (size_t)n) < 0) {
			load_error("connection %d failed", i);
			c_close(&cs[i]);
			break;
		}
		opened++;
	}
	for (int i = 0; i < opened; i++) {
		int64_t t = load_now_us();
		if (c_wait(&cs[i], "+ ", "i ") == 0) {
			idling++;
			load_record(load_now_us() - t);
		} else {
			load_error("connection %d: no IDLE", i);
		}
	}
	printf("holding %d\n", idling);
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof(line), stdin) != NULL)
		;
	for (int i = 0; i < opened; i++) {
		c_write(&cs[i], "DONE\r\nz LOGOUT\r\n", 16);
		c_close(&cs[i]);
	}
	free(cs);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return 0;
}

static int run_hold(const struct load_opts *o)
{
	return run_hold_common(o, false);
}

static int run_hold_tls(const struct load_opts *o)
{
	return run_hold_common(o, true);
}

/* --- imap-search --- */

static int run_search(const struct load_opts *o)
{
	struct cconn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	char cmd[512];
	int n = snprintf(cmd, sizeof(cmd), "l LOGIN %s0@%s %s\r\ns SELECT INBOX\r\n", o->user,
			 o->domain, password(o));
	if (c_open(o, c, NULL) < 0 || c_wait(c, "* OK", "* BYE") < 0 ||
	    c_write(c, cmd, (size_t)n) < 0 || c_wait(c, "s OK", "s ") < 0) {
		load_error("login or SELECT failed");
		c_close(c);
		free(c);
		return -1;
	}
	long rounds = o->messages < 1000 ? o->messages : 1000;
	for (long i = 0; i < rounds; i++) {
		/* a word in no message: the server looks at every body */
		static const char q[] = "f SEARCH BODY \"zq7needlexj\"\r\n";
		int64_t t0 = load_now_us();
		if (c_write(c, q, sizeof(q) - 1) < 0 || c_wait(c, "f OK", "f ") < 0) {
			load_error("SEARCH %ld failed", i + 1);
			break;
		}
		load_record(load_now_us() - t0);
	}
	c_write(c, "z LOGOUT\r\n", 10);
	c_close(c);
	free(c);
	return 0;
}

LOAD_MODE(imap_login_mode) = {
	.name = "imap-login",
	.help = "login storm: -n connect+LOGIN+LOGOUT cycles from -c threads",
	.default_port = 143,
	.run = run_login,
};
LOAD_MODE(imap_login_tls_mode) = {
	.name = "imap-login-tls",
	.help = "imap-login over implicit TLS (full handshake each time)",
	.default_port = 993,
	.run = run_login_tls,
};
LOAD_MODE(imap_hold_mode) = {
	.name = "imap-hold",
	.help = "-c IDLE connections held until stdin closes (prints \"holding N\")",
	.default_port = 143,
	.run = run_hold,
};
LOAD_MODE(imap_hold_tls_mode) = {
	.name = "imap-hold-tls",
	.help = "imap-hold over implicit TLS",
	.default_port = 993,
	.run = run_hold_tls,
};
LOAD_MODE(imap_search_mode) = {
	.name = "imap-search",
	.help = "SEARCH BODY (a word in no message) on <user>0's INBOX, -n times",
	.default_port = 143,
	.run = run_search,
};
