/* load-session: the blocking IMAP session of load.h (no mode of its own). */
#include "load.h"
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int load_session_write(struct load_session *c, const char *s)
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

int load_session_wait(struct load_session *c, const char *prefix)
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
		if (poll(&p, 1, LOAD_SESSION_TIMEOUT_MS) <= 0)
			return -1;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

struct load_session *load_session_open(const struct load_opts *o)
{
	struct load_session *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = load_connect(o);
	if (c->fd < 0) {
		free(c);
		load_error("connect failed");
		return NULL;
	}
	int fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "l LOGIN %s0@%s %s\r\ns SELECT INBOX\r\n", o->user, o->domain,
		 o->password ? o->password : "secret");
	if (load_session_wait(c, "* OK") < 0 || load_session_write(c, cmd) < 0 ||
	    load_session_wait(c, "l OK") < 0 || load_session_wait(c, "s OK") < 0) {
		load_error("login/select failed");
		close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

void load_session_close(struct load_session *c)
{
	load_session_write(c, "z LOGOUT\r\n");
	close(c->fd);
	free(c);
}
