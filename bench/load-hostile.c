/*
 * load-hostile: the attackers of the "hostile neighbours" benchmark
 * (bench/hostile.sh runs them next to imap-mixed's normal clients).
 *
 *   hostile   -c N attackers of each kind for -n seconds, each on its own
 *             thread, connecting from $HOSTILE_SRC (default 127.0.0.2, so
 *             per-IP limits and login throttling hit them, not the normal
 *             clients on 127.0.0.1):
 *     pipeliner  sends "a CAPABILITY" without end and never reads;
 *     append     before login, "a APPEND INBOX {47185920}" and, if
 *                answered "+", the literal;
 *     search     logs in as <user>@<domain> (-u, -P: the account holding
 *                the hostile messages) and runs text SEARCH, SORT and
 *                THREAD back to back;
 *     loris      holds 10 connections, each sending one byte a second of
 *                a line that never ends;
 *     guess      LOGIN user0@<domain> with wrong passwords, as fast as
 *                the server answers.
 * $HOSTILE_KINDS (e.g. "search,guess") runs only the kinds named.
 * It prints what each kind achieved (bytes, commands, refusals, closes);
 * its latency samples are the search attackers' commands.
 */
#include "load.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HOSTILE_MAX_PER_KIND 1000
#define HOSTILE_LORIS_CONNS 10
#define HOSTILE_LINE_MAX 65536
#define HOSTILE_IO_TIMEOUT_S 30

enum kind { K_PIPELINER, K_APPEND, K_SEARCH, K_LORIS, K_GUESS, K_COUNT };
static const char *const kind_names[K_COUNT] = {"pipeliner", "append", "search", "loris",
						"guess"};

struct stats {
	atomic_long ops;	/* commands answered / bytes sent (pipeliner, append) */
	atomic_long refused;	/* server said no (append refused, guesses failed) */
	atomic_long accepted;	/* server said yes where it should not (append "+") */
	atomic_long closed;	/* connections the server closed */
};

static struct stats stats[K_COUNT];
static const struct load_opts *opts;
static int64_t deadline_us;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

static bool time_left(void)
{
	return load_now_us() < deadline_us;
}

/* A blocking socket from the attackers' address, with I/O timeouts. */
static int hostile_connect(void)
{
	const char *src = getenv("HOSTILE_SRC");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts->port)};
	struct sockaddr_in from = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, opts->host, &sa.sin_addr) != 1 ||
	    inet_pton(AF_INET, src != NULL ? src : "127.0.0.2", &from.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = HOSTILE_IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct line_reader {
	int fd;
	char buf[HOSTILE_LINE_MAX];
	size_t len, consumed;	/* consumed: the line handed out last */
};

/* Next line into r->buf (NUL-terminated, CRLF kept); -1 on EOF/timeout.
 * Literals in answers are not parsed: attackers only look at tags. */
static int read_line(struct line_reader *r, char **line_r)
{
	if (r->consumed > 0) {
		memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
		r->len -= r->consumed;
		r->consumed = 0;
	}
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl != NULL) {
			r->consumed = (size_t)(nl - r->buf) + 1;
			*nl = '\0';
			*line_r = r->buf;
			return 0;
		}
		if (r->len == sizeof(r->buf))
			r->len = 0;	/* an over-long line: drop what we have */
		ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (n <= 0)
			return -1;
		r->len += (size_t)n;
	}
}

static int wait_tag(struct line_reader *r, const char *tag, char **line_r)
{
	size_t tl = strlen(tag);
	char *l;
	while (read_line(r, &l) == 0)
		if (strncmp(l, tag, tl) == 0 && l[tl] == ' ') {
			*line_r = l + tl + 1;
			return 0;
		}
	return -1;
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static void pause_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Never reads: what the server answers piles up unless it stops reading. */
static void pipeliner(void)
{
	static const char cmd[] = "a CAPABILITY\r\n";
	char chunk[65536];
	size_t n = 0;
	while (n + sizeof(cmd) - 1 <= sizeof(chunk)) {
		memcpy(chunk + n, cmd, sizeof(cmd) - 1);
		n += sizeof(cmd) - 1;
	}
	while (time_left()) {
		int fd = hostile_connect();
		if (fd < 0) {
			pause_ms(200);
			continue;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		while (time_left()) {
			ssize_t w = send(fd, chunk, n, MSG_NOSIGNAL);
			if (w > 0) {
				atomic_fetch_add(&stats[K_PIPELINER].ops, w);
				continue;
			}
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				struct pollfd p = {.fd = fd, .events = POLLOUT};
				poll(&p, 1, 200);
				continue;
			}
			atomic_fetch_add(&stats[K_PIPELINER].closed, 1);
			break;
		}
		close(fd);
	}
}

/* A 45 MiB literal before login: it must be refused before any "+". */
static void big_append(void)
{
	char data[65536];
	memset(data, 'x', sizeof(data));
	while (time_left()) {
		int fd = hostile_connect();
		if (fd < 0) {
			pause_ms(200);
			continue;
		}
		struct line_reader *r = calloc(1, sizeof(*r));
		char *l;
		r->fd = fd;
		if (read_line(r, &l) == 0 && send_all(fd, "a APPEND INBOX {47185920}\r\n", 27) == 0 &&
		    read_line(r, &l) == 0) {
			if (l[0] == '+') {
				atomic_fetch_add(&stats[K_APPEND].accepted, 1);
				long sent = 0;
				while (time_left() && sent < 47185920 &&
				       send_all(fd, data, sizeof(data)) == 0)
					sent += (long)sizeof(data);
				atomic_fetch_add(&stats[K_APPEND].ops, sent);
			} else {
				atomic_fetch_add(&stats[K_APPEND].refused, 1);
			}
		} else {
			atomic_fetch_add(&stats[K_APPEND].closed, 1);
		}
		free(r);
		close(fd);
		pause_ms(100);
	}
}

/* Logged in as the account holding the hostile messages. */
static void searcher(void)
{
	static const char *const cmds[] = {
		"SEARCH TEXT \"nothing-matches-this\"", "SEARCH BODY \"invoice\"",
		"SORT (SUBJECT) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL",
	};
	unsigned k = 0;
	while (time_left()) {
		int fd = hostile_connect();
		if (fd < 0) {
			pause_ms(200);
			continue;
		}
		struct line_reader *r = calloc(1, sizeof(*r));
		char *l, buf[512];
		r->fd = fd;
		int n = snprintf(buf, sizeof(buf), "l LOGIN %s@%s %s\r\ns SELECT INBOX\r\n", opts->user,
				 opts->domain, opts->password);
		if (read_line(r, &l) < 0 || send_all(fd, buf, (size_t)n) < 0 ||
		    wait_tag(r, "l", &l) < 0 || strncmp(l, "OK", 2) != 0 || wait_tag(r, "s", &l) < 0) {
			atomic_fetch_add(&stats[K_SEARCH].closed, 1);
			free(r);
			close(fd);
			pause_ms(500);
			continue;
		}
		while (time_left()) {
			n = snprintf(buf, sizeof(buf), "q %s\r\n", cmds[k++ % 4]);
			int64_t t0 = load_now_us();
			if (send_all(fd, buf, (size_t)n) < 0 || wait_tag(r, "q", &l) < 0) {
				atomic_fetch_add(&stats[K_SEARCH].closed, 1);
				break;
			}
			pthread_mutex_lock(&record_lock);
			load_record(load_now_us() - t0);
			pthread_mutex_unlock(&record_lock);
			atomic_fetch_add(&stats[K_SEARCH].ops, 1);
		}
		free(r);
		close(fd);
	}
}

/* One byte a second on each of its connections, a line never finished. */
static void loris(void)
{
	int fds[HOSTILE_LORIS_CONNS];
	for (int i = 0; i < HOSTILE_LORIS_CONNS; i++)
		fds[i] = -1;
	while (time_left()) {
		for (int i = 0; i < HOSTILE_LORIS_CONNS; i++) {
			if (fds[i] < 0) {
				fds[i] = hostile_connect();
				continue;
			}
			if (send(fds[i], "a", 1, MSG_NOSIGNAL) == 1) {
				atomic_fetch_add(&stats[K_LORIS].ops, 1);
			} else {
				atomic_fetch_add(&stats[K_LORIS].closed, 1);
				close(fds[i]);
				fds[i] = -1;
			}
		}
		pause_ms(1000);
	}
	for (int i = 0; i < HOSTILE_LORIS_CONNS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void guesser(int id)
{
	unsigned n = 0;
	while (time_left()) {
		int fd = hostile_connect();
		if (fd < 0) {
			pause_ms(200);
			continue;
		}
		struct line_reader *r = calloc(1, sizeof(*r));
		char *l, buf[256];
		r->fd = fd;
		if (read_line(r, &l) < 0) {
			atomic_fetch_add(&stats[K_GUESS].closed, 1);
			free(r);
			close(fd);
			continue;
		}
		while (time_left()) {
			int len = snprintf(buf, sizeof(buf), "g LOGIN user0@%s guess%d-%u\r\n",
					   opts->domain, id, n++);
			if (send_all(fd, buf, (size_t)len) < 0 || wait_tag(r, "g", &l) < 0) {
				atomic_fetch_add(&stats[K_GUESS].closed, 1);
				break;
			}
			atomic_fetch_add(&stats[K_GUESS].ops, 1);
			if (strncmp(l, "NO", 2) == 0)
				atomic_fetch_add(&stats[K_GUESS].refused, 1);
		}
		free(r);
		close(fd);
	}
}

struct attacker {
	pthread_t th;
	enum kind kind;
	int id;
	bool started;
};

static void *attacker_main(void *arg)
{
	struct attacker *a = arg;
	switch (a->kind) {
	case K_PIPELINER: pipeliner(); break;
	case K_APPEND: big_append(); break;
	case K_SEARCH: searcher(); break;
	case K_LORIS: loris(); break;
	case K_GUESS: guesser(a->id); break;
	case K_COUNT: break;
	}
	return NULL;
}

/* Is the kind in $HOSTILE_KINDS (all when unset)? */
static bool kind_wanted(enum kind k)
{
	const char *list = getenv("HOSTILE_KINDS");
	if (list == NULL || *list == '\0')
		return true;
	size_t n = strlen(kind_names[k]);
	for (const char *p = list; (p = strstr(p, kind_names[k])) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static int run_hostile(const struct load_opts *o)
{
	opts = o;
	if (o->sessions > HOSTILE_MAX_PER_KIND)
		return -1;
	/* -n is the duration in seconds here */
	deadline_us = load_now_us() + (int64_t)o->messages * 1000000;
	size_t n = (size_t)o->sessions * K_COUNT;
	struct attacker *as = calloc(n, sizeof(*as));
	if (as == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		as[i].kind = (enum kind)(i % K_COUNT);
		as[i].id = (int)i;
		if (!kind_wanted(as[i].kind))
			continue;
		as[i].started = pthread_create(&as[i].th, NULL, attacker_main, &as[i]) == 0;
		if (!as[i].started)
			load_error("cannot start attacker %zu", i);
	}
	for (size_t i = 0; i < n; i++)
		if (as[i].started)
			pthread_join(as[i].th, NULL);
	free(as);
	for (int k = 0; k < K_COUNT; k++)
		fprintf(stderr, "  %-9s ops/bytes %ld refused %ld accepted %ld closed-by-server %ld\n",
			kind_names[k], atomic_load(&stats[k].ops), atomic_load(&stats[k].refused),
			atomic_load(&stats[k].accepted), atomic_load(&stats[k].closed));
	return 0;
}

LOAD_MODE(hostile_mode) = {
	.name = "hostile",
	.help = "-c attackers of each abuse for -n seconds (bench/hostile.sh)",
	.default_port = 143,
	.run = run_hostile,
};
