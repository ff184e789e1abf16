/*
 * load-qresync: the "resync" benchmark. A client that knows a
 * big mailbox (account <user>0) reconnects after another device changed
 * the flags of 100 messages and expunged 100 others, and catches up two
 * ways: with QRESYNC (RFC 7162 3.2.5: one SELECT that answers with
 * VANISHED (EARLIER) and the changed FETCHes) and without (SELECT, then
 * UID FETCH 1:* (UID FLAGS), what a client without CONDSTORE must do).
 * Prints the bytes the server sent and the time, for each way, -n times.
 * A blocking client: one connection at a time, nothing to overlap.
 */
#include "load.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QR_CHANGES 100		/* messages whose flags change */
#define QR_EXPUNGES 100		/* messages expunged */
#define QR_TIMEOUT_MS 120000	/* one command's reply */

struct qr_conn {
	int fd;
	char buf[1 << 16];
	size_t len;
	uint64_t bytes;		/* all bytes read from the server */
	int tag;
	char *reply;		/* the untagged lines of the last command (malloc'd) */
	size_t reply_len, reply_cap;
	bool keep;		/* collect untagged lines into reply */
};

static int fill(struct qr_conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, QR_TIMEOUT_MS) <= 0)
		return -1;
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	c->bytes += (uint64_t)n;
	return 0;
}

/* Read lines until one starts with `tag` (NULL: one line). 0 when that
 * line says OK. */
static int read_until(struct qr_conn *c, const char *tag)
{
	size_t tl = tag ? strlen(tag) : 0;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl == NULL) {
			if (c->len == sizeof(c->buf)) {
				/* a line longer than the buffer: only its bytes count */
				c->len = 0;
			}
			if (fill(c) < 0)
				return -1;
			continue;
		}
		size_t ll = (size_t)(nl - c->buf) + 1;
		bool done = tag == NULL || (ll > tl && memcmp(c->buf, tag, tl) == 0 && c->buf[tl] == ' ');
		int ok = done && (tag == NULL || strncmp(c->buf + tl + 1, "OK", 2) == 0) ? 0 : -1;
		if (c->keep && !done) {
			if (c->reply_len + ll + 1 > c->reply_cap) {
				c->reply_cap = (c->reply_len + ll + 1) * 2;
				c->reply = realloc(c->reply, c->reply_cap);
				if (c->reply == NULL)
					abort();
			}
			memcpy(c->reply + c->reply_len, c->buf, ll);
			c->reply_len += ll;
			c->reply[c->reply_len] = '\0';
		}
		memmove(c->buf, c->buf + ll, c->len - ll);
		c->len -= ll;
		if (done)
			return ok;
	}
}

static int command(struct qr_conn *c, const char *text)
{
	char tag[16];
	snprintf(tag, sizeof(tag), "q%d", ++c->tag);
	size_t n = strlen(tag) + strlen(text) + 3;
	char *line = malloc(n + 1);
	if (line == NULL)
		abort();
	snprintf(line, n + 1, "%s %s\r\n", tag, text);
	c->reply_len = 0;
	if (c->reply)
		c->reply[0] = '\0';
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(c->fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(line);
			return -1;
		}
		off += (size_t)w;
	}
	free(line);
	return read_until(c, tag);
}

static int open_conn(const struct load_opts *o, struct qr_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = load_connect(o);
	if (c->fd < 0)
		return -1;
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
	struct pollfd p = {.fd = c->fd, .events = POLLOUT};
	if (poll(&p, 1, QR_TIMEOUT_MS) <= 0 || read_until(c, NULL) < 0)
		return -1;
	char login[512];
	snprintf(login, sizeof(login), "LOGIN %s0@%s %s", o->user, o->domain, o->password);
	return command(c, login);
}

static void close_conn(struct qr_conn *c)
{
	command(c, "LOGOUT");
	close(c->fd);
	free(c->reply);
}

static uint64_t code_value(const char *reply, const char *name)
{
	const char *p = reply ? strstr(reply, name) : NULL;
	return p ? strtoull(p + strlen(name), NULL, 10) : 0;
}

/* "u1,u2,..." of n UIDs spaced evenly over 1..count, starting at first */
static char *spread(uint64_t count, int n, int first)
{
	size_t cap = (size_t)n * 12 + 1, len = 0;
	char *s = malloc(cap);
	if (s == NULL)
		abort();
	s[0] = '\0';
	uint64_t step = count / ((uint64_t)n * 2);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%" PRIu64, i ? "," : "",
					1 + ((uint64_t)i * 2 + (uint64_t)first) * (step ? step : 1));
	return s;
}

static int run(const struct load_opts *o)
{
	struct qr_conn c;
	char text[512];
	/* 1. the client's last session: what it knows */
	if (open_conn(o, &c) < 0 || command(&c, "ENABLE QRESYNC") < 0) {
		load_error("login/ENABLE failed");
		return -1;
	}
	c.keep = true;
	if (command(&c, "SELECT INBOX") < 0) {
		load_error("SELECT failed");
		return -1;
	}
	uint64_t uidvalidity = code_value(c.reply, "[UIDVALIDITY ");
	uint64_t hms = code_value(c.reply, "[HIGHESTMODSEQ ");
	uint64_t uidnext = code_value(c.reply, "[UIDNEXT ");
	close_conn(&c);
	/* 2. another device: 100 flag changes, 100 expunges */
	char *flagged = spread(uidnext - 1, QR_CHANGES, 0);
	char *gone = spread(uidnext - 1, QR_EXPUNGES, 1);
	size_t big = strlen(flagged) + strlen(gone) + 64;
	char *cmd = malloc(big);
	if (cmd == NULL || open_conn(o, &c) < 0 || command(&c, "SELECT INBOX") < 0)
		abort();
	snprintf(cmd, big, "UID STORE %s +FLAGS.SILENT (\\Flagged)", flagged);
	int r = command(&c, cmd);
	snprintf(cmd, big, "UID STORE %s +FLAGS.SILENT (\\Deleted)", gone);
	r |= command(&c, cmd);
	snprintf(cmd, big, "UID EXPUNGE %s", gone);
	r |= command(&c, cmd);
	close_conn(&c);
	free(flagged);
	free(gone);
	free(cmd);
	if (r != 0) {
		load_error("changes failed");
		return -1;
	}
	printf("resync: %" PRIu64 " messages known, %d flag changes, %d expunges\n",
	       uidnext - 1, QR_CHANGES, QR_EXPUNGES);
	long rounds = o->messages > 0 && o->messages < 100 ? o->messages : 1;
	for (long i = 0; i < rounds; i++) {
		/* 3a. QRESYNC: LOGIN + ENABLE + one SELECT */
		int64_t t0 = load_now_us();
		if (open_conn(o, &c) < 0 || command(&c, "ENABLE QRESYNC") < 0)
			return -1;
		snprintf(text, sizeof(text), "SELECT INBOX (QRESYNC (%" PRIu64 " %" PRIu64 " 1:%" PRIu64 "))",
			 uidvalidity, hms, uidnext - 1);
		c.keep = true;
		if (command(&c, text) < 0)
			return -1;
		int64_t t1 = load_now_us();
		uint64_t qbytes = c.bytes;
		size_t nfetch = 0;
		for (const char *p = c.reply; p && (p = strstr(p, " FETCH (")) != NULL; p++)
			nfetch++;
		close_conn(&c);
		load_record(t1 - t0);
		/* 3b. without: LOGIN + SELECT + every UID and its flags */
		int64_t t2 = load_now_us();
		if (open_conn(o, &c) < 0 || command(&c, "SELECT INBOX") < 0 ||
		    command(&c, "UID FETCH 1:* (UID FLAGS)") < 0)
			return -1;
		int64_t t3 = load_now_us();
		uint64_t fbytes = c.bytes;
		close_conn(&c);
		load_record(t3 - t2);
		printf("resync: QRESYNC  %10" PRIu64 " bytes %8.1f ms (%zu FETCH)\n", qbytes,
		       (double)(t1 - t0) / 1000.0, nfetch);
		printf("resync: full     %10" PRIu64 " bytes %8.1f ms (UID FETCH 1:* (UID FLAGS))\n",
		       fbytes, (double)(t3 - t2) / 1000.0);
	}
	return 0;
}

LOAD_MODE(qresync_mode) = {
	.name = "imap-qresync",
	.help = "reconnect to a big mailbox after 100 flag changes and 100 expunges: "
		"bytes and time with QRESYNC vs a full UID FETCH 1:* (UID FLAGS)",
	.default_port = 143,
	.run = run,
};
