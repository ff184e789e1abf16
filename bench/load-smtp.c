/*
 * load-smtp: the "smtp" and "lmtp" modes of roost-load. N concurrent
 * sessions (nonblocking sockets, one epoll loop) send M messages of S
 * bytes, round-robin to K accounts <user>0..<user>K-1@<domain>. Each
 * transaction pipelines MAIL, RCPT and DATA in one write (RFC 2920), then
 * sends the message; the latency recorded is from the moment the final
 * "." has been written to the socket to the 250 (LMTP: the per-recipient
 * 250, one recipient per message). Every message is distinct (its own
 * Message-ID), so the server cannot share content between them.
 *
 * "submission" logs each session in first (AUTH PLAIN as -u, a whole
 * address, with -P; the server must allow it without TLS) and sends as
 * that address to rcpt0..rcpt<K-1>@<domain>: remote recipients, so the
 * messages go through the outbound queue to whatever MX -d leads to.
 */
#include "load.h"
#include "lib/base64.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Longest reply line we keep; longer ones are a protocol error here. */
#define SMTP_LOAD_LINE_MAX 4096
#define SMTP_LOAD_MAX_SESSIONS 10000

enum client_state { C_GREETING, C_HELLO, C_AUTH, C_ENVELOPE, C_DATA, C_QUIT, C_DONE };

struct client {
	int fd;
	enum client_state state;
	int ncodes;
	int codes[3];
	char in[SMTP_LOAD_LINE_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff, outcap;
	long msg;
	int64_t t_end;		/* final "." written: start of the latency */
	bool awaiting_flush;	/* data queued, t_end not yet taken */
};

static const struct load_opts *opts;
static bool is_lmtp, is_submission;
static long next_msg;
static int epfd;
static char *filler;		/* body lines, shared by every message */
static size_t filler_len;

static void out_append(struct client *c, const char *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 8192;
		while (cap < c->outlen + n)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (c->out == NULL) {
			perror("roost-load: realloc");
			exit(1);
		}
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

static void out_printf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct client *c, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_append(c, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
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
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->awaiting_flush) {
			c->t_end = load_now_us();
			c->awaiting_flush = false;
		}
	}
	watch(c);
}

static void next_message(struct client *c)
{
	if (next_msg >= opts->messages) {
		out_printf(c, "QUIT\r\n");
		c->state = C_QUIT;
		return;
	}
	c->msg = next_msg++;
	if (is_submission)
		out_printf(c, "MAIL FROM:<%s>\r\nRCPT TO:<rcpt%ld@%s>\r\nDATA\r\n", opts->user,
			   c->msg % opts->accounts, opts->domain);
	else
		out_printf(c, "MAIL FROM:<load@bench.example>\r\nRCPT TO:<%s%ld@%s>\r\nDATA\r\n",
			   opts->user, c->msg % opts->accounts, opts->domain);
	c->state = C_ENVELOPE;
	c->ncodes = 0;
}

static void send_message(struct client *c)
{
	if (is_submission)
		out_printf(c,
			   "From: %s\r\nTo: rcpt%ld@%s\r\nSubject: load %ld\r\n"
			   "Message-ID: <%ld.%d@bench.example>\r\n\r\n",
			   opts->user, c->msg % opts->accounts, opts->domain, c->msg, c->msg,
			   (int)getpid());
	else
		out_printf(c,
		   "From: load@bench.example\r\nTo: %s%ld@%s\r\nSubject: load %ld\r\n"
		   "Message-ID: <%ld.%d@bench.example>\r\n\r\n",
		   opts->user, c->msg % opts->accounts, opts->domain, c->msg, c->msg, (int)getpid());
	out_append(c, filler, filler_len);
	out_append(c, ".\r\n", 3);
	c->awaiting_flush = true;
	c->state = C_DATA;
}

/* A complete reply with this code arrived. */
static void on_reply(struct client *c, int code, const char *line)
{
	switch (c->state) {
	case C_GREETING:
		if (code != 220) {
			load_error("greeting: %s", line);
			finish(c);
			return;
		}
		out_printf(c, "%s load.bench.example\r\n", is_lmtp ? "LHLO" : "EHLO");
		c->state = C_HELLO;
		break;
	case C_HELLO:
		if (code != 250) {
			load_error("EHLO: %s", line);
			finish(c);
			return;
		}
		if (is_submission) {
			/* RFC 4616: authzid (empty), authcid, password */
			char plain[512];
			int n = snprintf(plain, sizeof(plain), "%c%s%c%s", 0, opts->user, 0,
					 opts->password != NULL ? opts->password : "");
			char *b64 = base64_encode(plain, n > 0 ? (size_t)n : 0);
			out_printf(c, "AUTH PLAIN %s\r\n", b64);
			free(b64);
			c->state = C_AUTH;
			break;
		}
		next_message(c);
		break;
	case C_AUTH:
		if (code != 235) {
			load_error("AUTH: %s", line);
			finish(c);
			return;
		}
		next_message(c);
		break;
	case C_ENVELOPE:
		c->codes[c->ncodes++] = code;
		if (c->ncodes < 3)
			return;
		if (c->codes[2] == 354) {
			send_message(c);
		} else {
			load_error("envelope: %d %d %d: %s", c->codes[0], c->codes[1], c->codes[2], line);
			out_printf(c, "RSET\r\n");
			next_message(c);
			/* the RSET reply comes first: count it as the MAIL slot */
			c->ncodes = -1;
			c->state = C_ENVELOPE;
		}
		break;
	case C_DATA:
		if (code == 250)
			load_record(load_now_us() - c->t_end);
		else
			load_error("after data: %s", line);
		next_message(c);
		break;
	case C_QUIT:
		finish(c);
		return;
	case C_DONE:
		return;
	}
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
		if (len < 4 || line[0] < '0' || line[0] > '9') {
			load_error("bad reply line: %s", line);
			continue;
		}
		if (line[3] != ' ')
			continue; /* continuation of a multi-line reply */
		int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (c->state == C_ENVELOPE && c->ncodes < 0) {
			c->ncodes = 0; /* the RSET reply */
			continue;
		}
		on_reply(c, code, line);
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
		if (c->state != C_QUIT)
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

static void build_filler(size_t size)
{
	/* the headers take about 150 bytes; the rest is 78-byte lines */
	size_t want = size > 200 ? size - 150 : 50;
	filler = malloc(want + 80);
	if (filler == NULL)
		exit(1);
	filler_len = 0;
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t k = 0;
	while (filler_len < want) {
		for (int i = 0; i < 76; i++)
			filler[filler_len++] = alphabet[k++ % (sizeof(alphabet) - 1)];
		filler[filler_len++] = '\r';
		filler[filler_len++] = '\n';
	}
}

static int run(const struct load_opts *o, bool lmtp, bool submission)
{
	opts = o;
	is_lmtp = lmtp;
	is_submission = submission;
	if (o->sessions > SMTP_LOAD_MAX_SESSIONS)
		return -1;
	build_filler(o->size);
	epfd = epoll_create1(0);
	struct client *clients = calloc((size_t)o->sessions, sizeof(*clients));
	if (epfd < 0 || clients == NULL)
		return -1;
	int live = 0;
	for (int i = 0; i < o->sessions; i++) {
		struct client *c = &clients[i];
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
	for (int i = 0; i < o->sessions; i++) {
		if (clients[i].fd >= 0)
			close(clients[i].fd);
		free(clients[i].out);
	}
	free(clients);
	free(filler);
	close(epfd);
	return 0;
}

static int run_smtp(const struct load_opts *o)
{
	return run(o, false, false);
}

static int run_lmtp(const struct load_opts *o)
{
	return run(o, true, false);
}

static int run_submission(const struct load_opts *o)
{
	return run(o, false, true);
}

LOAD_MODE(smtp_mode) = {
	.name = "smtp",
	.help = "SMTP: pipelined MAIL/RCPT/DATA, one recipient per message",
	.default_port = 2525,
	.run = run_smtp,
};

LOAD_MODE(submission_mode) = {
	.name = "submission",
	.help = "submission: AUTH PLAIN as -u (an address), then as smtp to rcptN@-d",
	.default_port = 1587,
	.run = run_submission,
};

LOAD_MODE(lmtp_mode) = {
	.name = "lmtp",
	.help = "LMTP: as smtp, with LHLO",
	.default_port = 2424,
	.run = run_lmtp,
};
