/*
 * load-textsearch: the "search" figure of issue 6 (Performance): one
 * session logs in as <user>0, selects INBOX, then runs each search below
 * -n times (default 5) and prints every query's median. One latency
 * sample per SEARCH (send to tagged reply, the whole answer read).
 *
 * The queries suit a mailbox preloaded by `bench-deliver -T` (subjects
 * "w<writer> m<n>", bodies of pseudo-words made of 16 syllables): two
 * needles whose trigrams are rare (few or no hits) and two whose
 * trigrams are in nearly every message (the full-text index's worst case).
 */
#include "load.h"
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS_LOAD_BUF (1 << 16)
#define TS_MAX_ROUNDS 1000
/* Milliseconds a read may wait before the round counts as failed. */
#define TS_TIMEOUT_MS 60000

static const char *const ts_queries[] = {
	"UID SEARCH TEXT \"w3 m17\"",		/* subject words: ~111 hits */
	"UID SEARCH BODY \"qxzv\"",		/* in no message */
	"UID SEARCH TEXT \"kamen\"",		/* common trigrams, ~98 % hit */
	"UID SEARCH BODY \"stlave orqu\"",	/* phrase of common trigrams */
};

struct tsconn {
	int fd;
	char buf[TS_LOAD_BUF];
	size_t len;
};

static int ts_write(struct tsconn *c, const char *s)
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

/* Read lines until one starts with `prefix` (long lines are skipped). */
static int ts_wait(struct tsconn *c, const char *prefix)
{
	size_t plen = strlen(prefix);
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t l = (size_t)(nl - c->buf) + 1;
			bool hit = l >= plen && memcmp(c->buf, prefix, plen) == 0;
			memmove(c->buf, c->buf + l, c->len - l);
			c->len -= l;
			if (hit)
				return 0;
		}
		if (c->len == sizeof(c->buf))
			c->len = 0;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, TS_TIMEOUT_MS) <= 0)
			return -1;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int run_textsearch(const struct load_opts *o)
{
	struct tsconn *c = calloc(1, sizeof(*c));
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
	if (ts_wait(c, "* OK") < 0 || ts_write(c, cmd) < 0 || ts_wait(c, "l OK") < 0 ||
	    ts_wait(c, "s OK") < 0) {
		load_error("login/select failed");
		close(c->fd);
		free(c);
		return -1;
	}
	long rounds = o->messages > 0 && o->messages <= TS_MAX_ROUNDS ? o->messages : 5;
	int64_t samples[TS_MAX_ROUNDS];
	for (size_t q = 0; q < sizeof(ts_queries) / sizeof(ts_queries[0]); q++) {
		long n = 0;
		for (long i = 0; i < rounds; i++) {
			snprintf(cmd, sizeof(cmd), "q %s\r\n", ts_queries[q]);
			int64_t t0 = load_now_us();
			if (ts_write(c, cmd) < 0 || ts_wait(c, "q OK") < 0) {
				load_error("%s failed", ts_queries[q]);
				break;
			}
			samples[n] = load_now_us() - t0;
			load_record(samples[n++]);
		}
		if (n == 0)
			continue;
		qsort(samples, (size_t)n, sizeof(samples[0]), cmp_i64);
		fprintf(stderr, "  %-32s p50 %.1f ms, min %.1f, max %.1f (%ld runs)\n", ts_queries[q],
			(double)samples[n / 2] / 1000.0, (double)samples[0] / 1000.0,
			(double)samples[n - 1] / 1000.0, n);
	}
	ts_write(c, "z LOGOUT\r\n");
	close(c->fd);
	free(c);
	return 0;
}

LOAD_MODE(imap_textsearch_mode) = {
	.name = "imap-textsearch",
	.help = "UID SEARCH TEXT/BODY, rare and common needles, on <user>0's INBOX (-n rounds each)",
	.default_port = 143,
	.run = run_textsearch,
};
