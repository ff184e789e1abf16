/*
 * roost-load: a network load generator for Roost (and for any other
 * server speaking the same protocols, to compare against).
 *
 *   roost-load MODE [-h host] [-p port] [-U unix-path] [-c sessions]
 *              [-n messages] [-s size] [-a accounts] [-u user-prefix]
 *              [-d domain] [-P password] [-v]
 *
 * Modes live in bench/load-<mode>.c and register themselves (load.h).
 * This file parses options, keeps the latency samples and prints one
 * summary line: operations per second and latency percentiles.
 */
#include "load.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_MODES 32
#define LOAD_MAX_ERRORS_SHOWN 5

static const struct load_mode *modes[LOAD_MAX_MODES];
static size_t nmodes;

static int64_t *samples;
static size_t nsamples, samples_cap;
static long nerrors;

void load_mode_register(const struct load_mode *m)
{
	/* a mode silently left out would look like a typo in its name */
	if (nmodes == LOAD_MAX_MODES) {
		fprintf(stderr, "roost-load: more than %d modes: raise LOAD_MAX_MODES\n",
			LOAD_MAX_MODES);
		abort();
	}
	modes[nmodes++] = m;
}

int64_t load_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void load_record(int64_t latency_us)
{
	if (nsamples == samples_cap) {
		samples_cap = samples_cap ? samples_cap * 2 : 4096;
		samples = realloc(samples, samples_cap * sizeof(*samples));
		if (samples == NULL) {
			perror("roost-load: realloc");
			exit(1);
		}
	}
	samples[nsamples++] = latency_us;
}

void load_error(const char *fmt, ...)
{
	if (nerrors++ < LOAD_MAX_ERRORS_SHOWN) {
		va_list ap;
		va_start(ap, fmt);
		fputs("roost-load: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
}

int load_connect(const struct load_opts *o)
{
	int fd;
	if (o->unix_path != NULL) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		if (strlen(o->unix_path) >= sizeof(sun.sun_path))
			return -1;
		memcpy(sun.sun_path, o->unix_path, strlen(o->unix_path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno != EINPROGRESS) {
			close(fd);
			return -1;
		}
		return fd;
	}
	char port[16];
	snprintf(port, sizeof(port), "%d", o->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(o->host, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double percentile_ms(double p)
{
	if (nsamples == 0)
		return 0;
	size_t i = (size_t)(p * (double)(nsamples - 1) + 0.5);
	return (double)samples[i] / 1000.0;
}

static void usage(void)
{
	fprintf(stderr, "usage: roost-load MODE [-h host] [-p port] [-U unix-path] [-c sessions]\n"
			"                  [-n messages] [-s size] [-a accounts] [-u user-prefix]\n"
			"                  [-d domain] [-P password] [-v]\nmodes:\n");
	for (size_t i = 0; i < nmodes; i++)
		fprintf(stderr, "  %-6s %s (port %d)\n", modes[i]->name, modes[i]->help,
			modes[i]->default_port);
	exit(2);
}

static long parse_num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || v < 0) {
		fprintf(stderr, "roost-load: bad %s: %s\n", what, s);
		exit(2);
	}
	/* 4K, 1M suffixes for sizes and counts */
	if (*end == 'K' || *end == 'k')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1024 * 1024, end++;
	if (*end != '\0') {
		fprintf(stderr, "roost-load: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const struct load_mode *mode = NULL;
	for (size_t i = 0; i < nmodes; i++)
		if (strcmp(modes[i]->name, argv[1]) == 0)
			mode = modes[i];
	if (mode == NULL)
		usage();
	struct load_opts o = {
		.host = "127.0.0.1",
		.port = mode->default_port,
		.sessions = 10,
		.messages = 1000,
		.size = 4096,
		.accounts = 1,
		.user = "alice",
		.domain = "example.com",
		.password = "secret",
	};
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "h:p:U:c:n:s:a:u:d:P:v")) != -1) {
		switch (opt) {
		case 'h': o.host = optarg; break;
		case 'p': o.port = (int)parse_num(optarg, "port"); break;
		case 'U': o.unix_path = optarg; break;
		case 'c': o.sessions = (int)parse_num(optarg, "sessions"); break;
		case 'n': o.messages = parse_num(optarg, "messages"); break;
		case 's': o.size = (size_t)parse_num(optarg, "size"); break;
		case 'a': o.accounts = (int)parse_num(optarg, "accounts"); break;
		case 'u': o.user = optarg; break;
		case 'd': o.domain = optarg; break;
		case 'P': o.password = optarg; break;
		case 'v': o.verbose = true; break;
		default: usage();
		}
	}
	if (o.sessions < 1 || o.accounts < 1 || o.messages < 1)
		usage();
	int64_t t0 = load_now_us();
	int rc = mode->run(&o);
	int64_t elapsed = load_now_us() - t0;
	qsort(samples, nsamples, sizeof(*samples), cmp_i64);
	double secs = (double)elapsed / 1e6;
	printf("mode=%s sessions=%d messages=%zu size=%zu accounts=%d errors=%ld "
	       "elapsed=%.2fs rate=%.0f/s p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n",
	       mode->name, o.sessions, nsamples, o.size, o.accounts, nerrors, secs,
	       secs > 0 ? (double)nsamples / secs : 0.0, percentile_ms(0.50), percentile_ms(0.90),
	       percentile_ms(0.99), percentile_ms(1.0));
	free(samples);
	return rc < 0 || nerrors > 0 ? 1 : 0;
}
