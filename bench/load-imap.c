/*
 * load-imap: the IMAP modes of roost-load (docs/PERFORMANCE.md).
 *
 *   imap-mixed     -c N sessions log in as <user>0..<user>K-1 (-a K) and
 *                  run -n commands in all, drawn from a mix of SELECT,
 *                  FETCH 1:* (FLAGS UID ENVELOPE), FETCH BODY[] of a random
 *                  message, STORE, SEARCH, APPEND, EXPUNGE and IDLE+DONE;
 *                  one latency sample per command (send to tagged reply).
 *   imap-big       one session: SELECT INBOX then UID FETCH 1:* (UID FLAGS),
 *                  -n times; one sample per SELECT+FETCH pair.
 *   imap-idle      -c N connections: LOGIN, SELECT, IDLE on each, then the
 *   imap-idle-tls  daemon's resident memory (VmRSS of $ROOST_PID) before and
 *                  after, per connection. The -tls form uses implicit TLS.
 *
 * Sessions in imap-mixed share one epoll loop; the other modes use
 * blocking sockets (they measure the server, not the client).
 */
#include "load.h"
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IMAP_LOAD_MAX_SESSIONS 20000

/* --- imap-mixed --- */

enum op { OP_SELECT, OP_FETCH_ALL, OP_FETCH_BODY, OP_STORE, OP_SEARCH, OP_APPEND, OP_EXPUNGE,
	  OP_IDLE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"SELECT", "FETCH 1:*", "FETCH BODY[]", "STORE",
					       "SEARCH", "APPEND", "EXPUNGE", "IDLE"};
/* out of 100: what a mail client does most (open, read, flag) */
static const int op_weight[OP_COUNT] = {5, 5, 30, 20, 15, 10, 5, 10};

struct client {
	int fd, id;
	bool logged_in, idling;
	struct load_imap_reader rd;
	char out[8192];
	size_t outlen;
	long exists;
	unsigned tagn;
	enum op op;
	int64_t t0;
	bool done;
};

static const struct load_opts *opts;

static long ops_started, ops_done;
static long op_count[OP_COUNT];
static int64_t op_time[OP_COUNT];
static unsigned rnd_state = 12345;

static unsigned rnd(void)
{
	return load_rand(&rnd_state);
}

#define send_str(c, ...) load_sendf((c)->fd, (c)->id, __VA_ARGS__)

static void start_op(struct client *c)
{
	if (ops_started >= opts->messages) {
		send_str(c, "z LOGOUT\r\n");
		c->done = true;
		return;
	}
	ops_started++;
	int w = (int)(rnd() % 100);
	enum op op = OP_SELECT;
	for (int i = 0, acc = 0; i < OP_COUNT; i++) {
		acc += op_weight[i];
		if (w < acc) {
			op = (enum op)i;
			break;
		}
	}
	if (c->exists == 0 && (op == OP_FETCH_BODY || op == OP_STORE))
		op = OP_APPEND;
	c->op = op;
	c->tagn++;
	c->t0 = load_now_us();
	long seq = c->exists > 0 ? (long)(rnd() % (unsigned)c->exists) + 1 : 1;
	switch (op) {
	case OP_SELECT: send_str(c, "t%u SELECT INBOX\r\n", c->tagn); break;
	case OP_FETCH_ALL: send_str(c, "t%u FETCH 1:* (FLAGS UID ENVELOPE)\r\n", c->tagn); break;
	case OP_FETCH_BODY: send_str(c, "t%u FETCH %ld BODY.PEEK[]\r\n", c->tagn, seq); break;
	case OP_STORE:
		/* one in four deletes, so EXPUNGE has work */
		send_str(c, "t%u STORE %ld +FLAGS.SILENT (%s)\r\n", c->tagn, seq,
			 rnd() % 4 == 0 ? "\\Deleted" : "\\Seen");
		break;
	case OP_SEARCH: send_str(c, "t%u SEARCH UNSEEN SUBJECT m1\r\n", c->tagn); break;
	case OP_APPEND: {
		char msg[1024];
		int n = snprintf(msg, sizeof(msg),
				 "From: load@example.org\r\nSubject: m%ld appended\r\n"
				 "Message-ID: <%ld.%d@load>\r\n\r\nappended by roost-load\r\n",
				 ops_started, ops_started, c->id);
		send_str(c, "t%u APPEND INBOX {%d+}\r\n%s\r\n", c->tagn, n, msg);
		break;
	}
	case OP_EXPUNGE: send_str(c, "t%u EXPUNGE\r\n", c->tagn); break;
	case OP_IDLE:
		send_str(c, "t%u IDLE\r\n", c->tagn);
		c->idling = true;
		break;
	case OP_COUNT: break;
	}
}

static void on_line(struct client *c, char *line, size_t len)
{
	if (line[0] == '+' && c->idling) {
		send_str(c, "DONE\r\n");
		c->idling = false;
		return;
	}
	if (line[0] == '*') {
		long n;
		char word[16];
		if (sscanf(line, "* %ld %15s", &n, word) == 2) {
			if (strcmp(word, "EXISTS") == 0)
				c->exists = n;
			else if (strcmp(word, "EXPUNGE") == 0 && c->exists > 0)
				c->exists--;
		}
		return;
	}
	if (!c->logged_in && strncmp(line, "l OK", 4) == 0) {
		c->logged_in = true;
		return;	/* "s SELECT" was pipelined behind LOGIN */
	}
	if (strncmp(line, "s ", 2) == 0) {
		if (strncmp(line, "s OK", 4) != 0)
			load_error("session %d: %.*s", c->id, (int)len, line);
		start_op(c);
		return;
	}
	if (line[0] == 't') {
		int64_t dt = load_now_us() - c->t0;
		char *sp = strchr(line, ' ');
		if (sp == NULL || strncmp(sp + 1, "OK", 2) != 0)
			load_error("session %d: %s: %.*s", c->id, op_names[c->op], (int)len, line);
		else {
			load_record(dt);
			op_count[c->op]++;
			op_time[c->op] += dt;
		}
		ops_done++;
		start_op(c);
		return;
	}
	if (line[0] == 'l')
		load_error("session %d: login: %.*s", c->id, (int)len, line);
}

static void on_line_cb(void *ctx, char *line, size_t len)
{
	on_line(ctx, line, len);
}

static int run_mixed(const struct load_opts *o)
{
	opts = o;
	if (o->sessions < 1 || o->sessions > IMAP_LOAD_MAX_SESSIONS)
		return -1;
	int ep = epoll_create1(0);
	struct client *cs = calloc((size_t)o->sessions, sizeof(*cs));
	if (cs == NULL)
		return -1;
	int live = 0;
	for (int i = 0; i < o->sessions; i++) {
		struct client *c = &cs[i];
		c->id = i;
		c->fd = load_connect(o);
		if (c->fd < 0) {
			load_error("connect failed");
			continue;
		}
		/* blocking writes keep the client simple (commands are small);
		 * reads go through epoll */
		if (load_connected_blocking(c->fd) < 0) {
			load_error("session %d: connect failed", i);
			close(c->fd);
			c->fd = -1;
			continue;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		int acct = o->accounts > 0 ? i % o->accounts : 0;
		char buf[512];
		int n = snprintf(buf, sizeof(buf), "l LOGIN %s%d@%s %s\r\ns SELECT INBOX\r\n", o->user,
				 acct, o->domain, o->password ? o->password : "secret");
		if (write(c->fd, buf, (size_t)n) != n)
			load_error("session %d: write failed", i);
		live++;
	}
	struct epoll_event evs[256];
	while (live > 0) {
		int n = epoll_wait(ep, evs, 256, 30000);
		if (n == 0) {
			load_error("timeout: %d sessions stuck", live);
			break;
		}
		for (int i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;
			if (load_imap_read(&c->rd, c->fd, on_line_cb, c) < 0) {
				if (!c->done)
					load_error("session %d: connection closed", c->id);
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				live--;
			}
		}
	}
	for (int i = 0; i < OP_COUNT; i++)
		if (op_count[i] > 0)
			fprintf(stderr, "  %-13s %7ld  avg %.2f ms\n", op_names[i], op_count[i],
				(double)op_time[i] / (double)op_count[i] / 1000.0);
	close(ep);
	free(cs);
	return 0;
}

/* --- blocking helpers for imap-big and imap-idle --- */

struct bconn {
	int fd;
	SSL *ssl;
	char buf[LOAD_IMAP_LINE_MAX];
	size_t len;
};

static ssize_t b_read(struct bconn *b, void *p, size_t n)
{
	if (b->ssl != NULL) {
		int r = SSL_read(b->ssl, p, (int)n);
		return r <= 0 ? -1 : r;
	}
	return read(b->fd, p, n);
}

static int b_write(struct bconn *b, const char *s, size_t n)
{
	if (b->ssl != NULL)
		return SSL_write(b->ssl, s, (int)n) == (int)n ? 0 : -1;
	return write(b->fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* Read until a line starting with `prefix`; literals are not special
 * here (the replies these modes wait for carry none we must skip:
 * "UID n FLAGS (...)" lines). Returns 0 or -1. */
static int b_wait(struct bconn *b, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (;;) {
		char *nl;
		while ((nl = memchr(b->buf, '\n', b->len)) != NULL) {
			size_t ll = (size_t)(nl - b->buf) + 1;
			bool hit = ll >= pl && memcmp(b->buf, prefix, pl) == 0;
			memmove(b->buf, b->buf + ll, b->len - ll);
			b->len -= ll;
			if (hit)
				return 0;
		}
		if (b->len == sizeof(b->buf))
			b->len = 0;
		ssize_t n = b_read(b, b->buf + b->len, sizeof(b->buf) - b->len);
		if (n <= 0)
			return -1;
		b->len += (size_t)n;
	}
}

static int b_open(const struct load_opts *o, struct bconn *b, SSL_CTX *ctx)
{
	memset(b, 0, sizeof(*b));
	b->fd = load_connect(o);
	if (b->fd < 0 || load_connected_blocking(b->fd) < 0)
		return -1;
	if (ctx != NULL) {
		b->ssl = SSL_new(ctx);
		SSL_set_fd(b->ssl, b->fd);
		if (SSL_connect(b->ssl) != 1)
			return -1;
	}
	return 0;
}

static void b_close(struct bconn *b)
{
	if (b->ssl != NULL)
		SSL_free(b->ssl);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static int run_big(const struct load_opts *o)
{
	struct bconn b;
	if (b_open(o, &b, NULL) < 0 || b_wait(&b, "* OK") < 0) {
		load_error("connect failed");
		return -1;
	}
	char cmd[512];
	int n = snprintf(cmd, sizeof(cmd), "l LOGIN %s0@%s %s\r\n", o->user, o->domain,
			 o->password ? o->password : "secret");
	if (b_write(&b, cmd, (size_t)n) < 0 || b_wait(&b, "l OK") < 0) {
		load_error("login failed");
		return -1;
	}
	long rounds = o->messages > 0 && o->messages < 1000 ? o->messages : 3;
	for (long i = 0; i < rounds; i++) {
		int64_t t0 = load_now_us();
		const char *sel = "s SELECT INBOX\r\n";
		if (b_write(&b, sel, strlen(sel)) < 0 || b_wait(&b, "s OK") < 0)
			break;
		int64_t t1 = load_now_us();
		const char *f = "f UID FETCH 1:* (UID FLAGS)\r\n";
		if (b_write(&b, f, strlen(f)) < 0 || b_wait(&b, "f OK") < 0)
			break;
		int64_t t2 = load_now_us();
		fprintf(stderr, "  round %ld: SELECT %.1f ms, UID FETCH 1:* (UID FLAGS) %.1f ms\n", i + 1,
			(double)(t1 - t0) / 1000.0, (double)(t2 - t1) / 1000.0);
		load_record(t2 - t0);
	}
	b_close(&b);
	return 0;
}

static long rss_kb(void)
{
	const char *pid = getenv("ROOST_PID");
	if (pid == NULL)
		return -1;
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kb;
}

static int run_idle_common(const struct load_opts *o, bool tls)
{
	if (o->sessions < 1 || o->sessions > IMAP_LOAD_MAX_SESSIONS)
		return -1;
	SSL_CTX *ctx = NULL;
	if (tls) {
		ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	struct bconn *bs = calloc((size_t)o->sessions, sizeof(*bs));
	if (bs == NULL)
		return -1;
	long before = rss_kb();
	int64_t t0 = load_now_us();
	int opened = 0;
	char cmd[512];
	int n = snprintf(cmd, sizeof(cmd), "l LOGIN %s0@%s %s\r\ns SELECT INBOX\r\ni IDLE\r\n", o->user,
			 o->domain, o->password ? o->password : "secret");
	/* send every pipeline first, then collect: the server works on many
	 * logins at once */
	for (int i = 0; i < o->sessions; i++) {
		if (b_open(o, &bs[i], ctx) < 0 || b_write(&bs[i], cmd, (size_t)n) < 0) {
			load_error("connection %d failed", i);
			b_close(&bs[i]);
			break;
		}
		opened++;
	}
	int idling = 0;
	for (int i = 0; i < opened; i++) {
		int64_t t = load_now_us();
		if (b_wait(&bs[i], "+ ") == 0) {
			idling++;
			load_record(load_now_us() - t);
		} else {
			load_error("connection %d: no IDLE", i);
		}
	}
	double secs = (double)(load_now_us() - t0) / 1e6;
	usleep(500000);	/* let the server settle its buffers */
	long after = rss_kb();
	fprintf(stderr, "  %d %s connections idling after %.1f s\n", idling, tls ? "TLS" : "plain",
		secs);
	if (before >= 0 && after >= 0 && idling > 0)
		fprintf(stderr, "  daemon VmRSS %ld kB -> %ld kB: %.1f kB per connection\n", before,
			after, (double)(after - before) / idling);
	else
		fprintf(stderr, "  (set ROOST_PID to measure the daemon's memory)\n");
	for (int i = 0; i < opened; i++) {
		b_write(&bs[i], "DONE\r\nz LOGOUT\r\n", 16);
		b_close(&bs[i]);
	}
	free(bs);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return 0;
}

static int run_idle(const struct load_opts *o)
{
	return run_idle_common(o, false);
}

static int run_idle_tls(const struct load_opts *o)
{
	return run_idle_common(o, true);
}

LOAD_MODE(imap_mixed_mode) = {
	.name = "imap-mixed",
	.help = "IMAP sessions running a mix of commands (-n commands in all)",
	.default_port = 143,
	.run = run_mixed,
};
LOAD_MODE(imap_big_mode) = {
	.name = "imap-big",
	.help = "SELECT + UID FETCH 1:* (UID FLAGS) on <user>0's INBOX (-n rounds)",
	.default_port = 143,
	.run = run_big,
};
LOAD_MODE(imap_idle_mode) = {
	.name = "imap-idle",
	.help = "-c idling IMAP connections; daemon memory per connection ($ROOST_PID)",
	.default_port = 143,
	.run = run_idle,
};
LOAD_MODE(imap_idle_tls_mode) = {
	.name = "imap-idle-tls",
	.help = "imap-idle over implicit TLS",
	.default_port = 993,
	.run = run_idle_tls,
};
