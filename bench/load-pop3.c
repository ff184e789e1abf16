/*
 * load-pop3: the "pop3" mode of roost-load. N concurrent
 * sessions (nonblocking sockets, one epoll loop); session i logs in as
 * <user><i mod K>@<domain> and downloads its whole inbox the way a POP3
 * client without "leave on server" does: STAT, then for each message
 * RETR n and DELE n pipelined together (RFC 2449 PIPELINING), then QUIT,
 * whose reply comes after the deletions are committed (RFC 1939 UPDATE
 * state). One latency sample per message: from writing its RETR to the
 * DELE reply. -n and -s are not used: the inboxes are whatever was
 * preloaded (bench/pop3.sh). Each RETR body is checked against the size
 * its "+OK N octets" line announced. Prints its own line with messages/s
 * and MB/s (10^6 bytes of message content, byte-stuffing removed).
 */
#include "load.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Longest line kept (RFC 5322 allows 998 octets plus CRLF; be generous). */
#define POP3_LOAD_LINE_MAX 16384
#define POP3_LOAD_MAX_SESSIONS 10000
/* Longest command we send: "USER <address>" or "PASS <password>". */
#define POP3_LOAD_CMD_MAX 1024

enum client_state {
	C_GREETING, C_USER, C_PASS, C_STAT, C_RETR, C_RETR_BODY, C_DELE, C_QUIT, C_DONE
};

struct client {
	int fd;
	int account;		/* logs in as <user><account>@<domain> */
	enum client_state state;
	char in[POP3_LOAD_LINE_MAX];
	size_t inlen;
	char out[POP3_LOAD_CMD_MAX];
	size_t outlen, outoff;
	long count;		/* messages in the maildrop (STAT) */
	long msg;		/* message being retrieved, 1-based */
	long long announced;	/* octets the RETR +OK line announced; -1 unknown */
	long long got;		/* octets of the body received so far */
	int64_t t_start;	/* RETR written */
};

static const struct load_opts *opts;
static int epfd;
static long long total_bytes;
static long total_messages;

static void out_printf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->out + c->outlen, sizeof(c->out) - c->outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->out) - c->outlen) {
		fprintf(stderr, "roost-load: pop3 command too long\n");
		exit(1);
	}
	c->outlen += (size_t)n;
}

static void watch(struct client *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (c->outoff < c->outlen)
		ev.events |= EPOLLOUT;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void finish(struct client *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = C_DONE;
}

static void flush(struct client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			load_error("write: %s", strerror(errno));
			finish(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	watch(c);
}

static void next_message(struct client *c)
{
	if (c->msg >= c->count) {
		out_printf(c, "QUIT\r\n");
		c->state = C_QUIT;
		return;
	}
	c->msg++;
	out_printf(c, "RETR %ld\r\nDELE %ld\r\n", c->msg, c->msg);
	c->t_start = load_now_us();
	c->state = C_RETR;
}

/* "+OK 51234 octets" -> 51234; -1 when the text does not start with a number. */
static long long announced_octets(const char *line)
{
	char *end;
	const char *p = line + 3;
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	long long v = strtoll(p, &end, 10);
	return *end == ' ' || *end == '\0' ? v : -1;
}

/* One reply line outside a RETR body. */
static void on_status(struct client *c, const char *line)
{
	if (strncmp(line, "+OK", 3) != 0) {
		load_error("%s%d@%s: state %d: %s", opts->user, c->account, opts->domain, c->state,
			   line);
		finish(c);
		return;
	}
	switch (c->state) {
	case C_GREETING:
		/* USER, PASS and STAT in one write (PIPELINING). */
		out_printf(c, "USER %s%d@%s\r\nPASS %s\r\nSTAT\r\n", opts->user, c->account,
			   opts->domain, opts->password);
		c->state = C_USER;
		break;
	case C_USER:
		c->state = C_PASS;
		break;
	case C_PASS:
		c->state = C_STAT;
		break;
	case C_STAT:
		c->count = strtol(line + 3, NULL, 10);
		if (c->count <= 0)
			load_error("%s%d@%s: empty maildrop", opts->user, c->account, opts->domain);
		next_message(c);
		break;
	case C_RETR:
		c->announced = announced_octets(line);
		c->got = 0;
		c->state = C_RETR_BODY;
		break;
	case C_DELE:
		load_record(load_now_us() - c->t_start);
		total_messages++;
		next_message(c);
		break;
	case C_QUIT:
		finish(c);
		break;
	case C_RETR_BODY:
	case C_DONE:
		break;
	}
}

/* One line of a RETR body (RFC 1939 section 3: "." alone ends it; a
 * leading "." is byte-stuffing). */
static void on_body_line(struct client *c, const char *line, size_t len)
{
	if (len == 1 && line[0] == '.') {
		if (c->announced >= 0 && c->got != c->announced)
			load_error("RETR %ld: %lld octets announced, %lld received", c->msg, c->announced,
				   c->got);
		total_bytes += c->got;
		c->state = C_DELE;
		return;
	}
	c->got += (long long)len + 2 - (line[0] == '.' ? 1 : 0);
}

static void parse_input(struct client *c)
{
	size_t start = 0;
	for (size_t i = 0; i + 1 < c->inlen; i++) {
		if (c->in[i] != '\r' || c->in[i + 1] != '\n')
			continue;
		char *line = c->in + start;
		size_t len = i - start;
		line[len] = '\0';
		start = i + 2;
		i++;
		if (c->state == C_RETR_BODY)
			on_body_line(c, line, len);
		else
			on_status(c, line);
		if (c->state == C_DONE)
			return;
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	if (c->inlen == sizeof(c->in)) {
		load_error("reply line too long");
		finish(c);
	}
}

static void on_readable(struct client *c)
{
	ssize_t n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		load_error("connection closed by server (state %d)", c->state);
		finish(c);
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	parse_input(c);
	if (c->state != C_DONE)
		flush(c);
}

static int run(const struct load_opts *o)
{
	opts = o;
	if (o->sessions > POP3_LOAD_MAX_SESSIONS)
		return -1;
	if (o->sessions > o->accounts) {
		/* By default a second session for an account gets [IN-USE]. */
		fprintf(stderr, "roost-load: pop3: -c %d is more than -a %d (one session per account)\n",
			o->sessions, o->accounts);
		return -1;
	}
	epfd = epoll_create1(0);
	struct client *clients = calloc((size_t)o->sessions, sizeof(*clients));
	if (epfd < 0 || clients == NULL)
		return -1;
	int64_t t0 = load_now_us();
	int live = 0;
	for (int i = 0; i < o->sessions; i++) {
		struct client *c = &clients[i];
		c->account = i;
		c->fd = load_connect(o);
		if (c->fd < 0) {
			load_error("connect failed");
			c->state = C_DONE;
			continue;
		}
		c->state = C_GREETING;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
		live++;
	}
	struct epoll_event evs[256];
	while (live > 0) {
		int n = epoll_wait(epfd, evs, 256, 30000);
		if (n == 0) {
			load_error("no progress for 30 s; giving up");
			break;
		}
		for (int i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;
			if (c->state == C_DONE)
				continue;
			if (evs[i].events & EPOLLOUT)
				flush(c);
			if (c->state != C_DONE && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				on_readable(c);
			if (c->state == C_DONE)
				live--;
		}
	}
	double secs = (double)(load_now_us() - t0) / 1e6;
	printf("pop3: %ld messages retrieved and deleted, %.1f MB in %.2fs: %.0f messages/s, "
	       "%.1f MB/s\n",
	       total_messages, (double)total_bytes / 1e6, secs,
	       secs > 0 ? (double)total_messages / secs : 0.0,
	       secs > 0 ? (double)total_bytes / 1e6 / secs : 0.0);
	for (int i = 0; i < o->sessions; i++)
		if (clients[i].fd >= 0)
			close(clients[i].fd);
	free(clients);
	close(epfd);
	return 0;
}

LOAD_MODE(pop3_mode) = {
	.name = "pop3",
	.help = "POP3: each session RETRs and DELEs its account's whole inbox",
	.default_port = 1110,
	.run = run,
};
