/* load-imap-reader: the IMAP response reader the epoll modes share (load.h). */
#include "load.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int load_connected_blocking(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);
	if (poll(&p, 1, 10000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err != 0)
		return -1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

int load_imap_read(struct load_imap_reader *r, int fd, load_imap_line_fn *fn, void *ctx)
{
	ssize_t n = read(fd, r->in + r->inlen, sizeof(r->in) - r->inlen);
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	r->inlen += (size_t)n;
	size_t pos = 0;
	while (pos < r->inlen) {
		if (r->literal > 0) {
			size_t take = r->inlen - pos < r->literal ? r->inlen - pos : r->literal;
			pos += take;
			r->literal -= take;
			continue;
		}
		char *nl = memchr(r->in + pos, '\n', r->inlen - pos);
		if (nl == NULL)
			break;
		size_t len = (size_t)(nl - (r->in + pos));
		char *line = r->in + pos;
		line[len] = '\0';
		pos += len + 1;
		/* a literal follows: "{123}\r" at the end of the line */
		char *brace = len > 2 ? strrchr(line, '{') : NULL;
		if (brace != NULL && line[len - 1] == '\r' && line[len - 2] == '}')
			r->literal = strtoul(brace + 1, NULL, 10);
		if (r->overlong)
			r->overlong = false;	/* its head is gone: not a line to judge */
		else
			fn(ctx, line, len);
	}
	if (pos == 0 && r->inlen == sizeof(r->in)) {
		/* A line longer than the buffer (untagged data: a tagged reply is
		 * short). Keep only its last bytes, enough to see a literal's
		 * "{N}" at its end, and drop the line when it ends. */
		memmove(r->in, r->in + r->inlen - LOAD_IMAP_TAIL_KEEP, LOAD_IMAP_TAIL_KEEP);
		r->inlen = LOAD_IMAP_TAIL_KEEP;
		r->overlong = true;
		return 0;
	}
	memmove(r->in, r->in + pos, r->inlen - pos);
	r->inlen -= pos;
	return 0;
}

unsigned load_rand(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

void load_sendf(int fd, int id, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		/* not sent: say so, or the session would wait for a reply */
		load_error("session %d: command over %zu bytes not sent", id, sizeof(buf));
		return;
	}
	/* small commands on a socket that drained its last reply: a short
	 * write would be a broken server; treat it as an error */
	if (write(fd, buf, (size_t)n) != n)
		load_error("session %d: short write", id);
}
