/*
 * load-sort: the "sort" figure of issue 6 (Performance): one session logs
 * in as <user>0, selects INBOX, then runs `UID SORT (REVERSE DATE) UTF-8
 * ALL` -n times (default 5); one latency sample per SORT (send to tagged
 * reply, the whole untagged answer read). Also one THREAD REFERENCES for
 * reference. Blocking socket: it measures the server, not the client.
 */
#include "load.h"
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SORT_LOAD_BUF (1 << 16)

struct sconn {
	int fd;
	char buf[SORT_LOAD_BUF];
	size_t len;
	size_t answer_bytes;	/* bytes read for the last command */
};

static int s_write(struct sconn *c, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(c->fd, s, n);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read lines until one starts with `prefix`; 0, or -1 on EOF/error. */
static int s_wait(struct sconn *c, const char *prefix)
{
	size_t plen = strlen(prefix);
	c->answer_bytes = 0;
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t l = (size_t)(nl - c->buf) + 1;
			bool hit = l >= plen && memcmp(c->buf, prefix, plen) == 0;
			memmove(c->buf, c->buf + l, c->len - l);
			c->len -= l;
			c->answer_bytes += l;
			if (hit)
				return 0;
		}
		if (c->len == sizeof(c->buf)) {
			/* a long line: keep only its tail */
			c->answer_bytes += c->len;
			c->len = 0;
		}
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, 60000) <= 0)
			return -1;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static int run_sort(const struct load_opts *o)
{
	struct sconn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->fd = load_connect(o);
	if (c->fd < 0) {
		free(c);
		load_error("connect failed");
		return -1;
	}
	int fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "l LOGIN %s0@%s %s\r\ns SELECT INBOX\r\n", o->user, o->domain,
		 o->password ? o->password : "secret");
	if (s_wait(c, "* OK") < 0 || s_write(c, cmd) < 0 || s_wait(c, "l OK") < 0 ||
	    s_wait(c, "s OK") < 0) {
		load_error("login/select failed");
		close(c->fd);
		free(c);
		return -1;
	}
	long rounds = o->messages > 0 && o->messages < 1000 ? o->messages : 5;
	for (long i = 0; i < rounds; i++) {
		int64_t t0 = load_now_us();
		if (s_write(c, "q UID SORT (REVERSE DATE) UTF-8 ALL\r\n") < 0 || s_wait(c, "q OK") < 0) {
			load_error("UID SORT failed");
			break;
		}
		int64_t dt = load_now_us() - t0;
		fprintf(stderr, "  round %ld: UID SORT (REVERSE DATE) UTF-8 ALL %.1f ms, %zu bytes\n",
			i + 1, (double)dt / 1000.0, c->answer_bytes);
		load_record(dt);
	}
	int64_t t0 = load_now_us();
	if (s_write(c, "r UID THREAD REFERENCES UTF-8 ALL\r\n") == 0 && s_wait(c, "r OK") == 0)
		fprintf(stderr, "  UID THREAD REFERENCES UTF-8 ALL %.1f ms, %zu bytes\n",
			(double)(load_now_us() - t0) / 1000.0, c->answer_bytes);
	else
		load_error("UID THREAD failed");
	s_write(c, "z LOGOUT\r\n");
	close(c->fd);
	free(c);
	return 0;
}

LOAD_MODE(imap_sort_mode) = {
	.name = "imap-sort",
	.help = "UID SORT (REVERSE DATE) UTF-8 ALL on <user>0's INBOX (-n rounds)",
	.default_port = 143,
	.run = run_sort,
};
