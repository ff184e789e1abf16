/*
 * load: what bench/roost-load.c shares with its modes (bench/load-*.c).
 *
 * A mode registers itself with LOAD_MODE() and gets the parsed options;
 * it runs its sessions and records one latency sample per operation with
 * load_record(). roost-load.c prints the figures. To add a mode (pop3,
 * imap), add bench/load-<mode>.c; nothing else needs to change.
 */
#ifndef ROOST_BENCH_LOAD_H
#define ROOST_BENCH_LOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct load_opts {
	const char *host;	/* default 127.0.0.1 */
	int port;		/* default: the mode's */
	const char *unix_path;	/* connect to a unix socket instead */
	int sessions;		/* concurrent connections (-c) */
	long messages;		/* operations in all (-n) */
	size_t size;		/* message size in bytes (-s) */
	int accounts;		/* recipients user0..user<K-1> (-a) */
	const char *user;	/* account name prefix (-u), default "alice" */
	const char *domain;	/* (-d), default example.com */
	const char *password;	/* for modes that log in (-P) */
	bool verbose;
};

struct load_mode {
	const char *name;
	const char *help;
	int default_port;
	/* 0 on success (errors counted in load_errors), -1 to abort. */
	int (*run)(const struct load_opts *o);
};

void load_mode_register(const struct load_mode *m);
#define LOAD_MODE(var)                                                          \
	static const struct load_mode var;                                     \
	__attribute__((constructor)) static void register_##var(void)          \
	{                                                                       \
		load_mode_register(&var);                                       \
	}                                                                       \
	static const struct load_mode var

/* Microseconds on a monotonic clock. */
int64_t load_now_us(void);
/* One completed operation and its latency. Single-threaded modes only. */
void load_record(int64_t latency_us);
/* One failed operation. */
void load_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A nonblocking socket connecting to the target (-1 on error). */
int load_connect(const struct load_opts *o);

/* One blocking IMAP session, for modes that time a single client's
 * commands (load-session.c): it measures the server, not the client. */
#define LOAD_SESSION_BUF (1 << 16)
#define LOAD_SESSION_TIMEOUT_MS 60000
struct load_session {
	int fd;
	char buf[LOAD_SESSION_BUF];
	size_t len;
	size_t answer_bytes;	/* bytes read by the last load_session_wait() */
};
/* Connect, read the greeting, LOGIN as <user>0 and SELECT INBOX. */
struct load_session *load_session_open(const struct load_opts *o);
int load_session_write(struct load_session *c, const char *s);
/* Read lines until one starts with `prefix` (long lines are skipped);
 * 0, or -1 on EOF, error or timeout. */
int load_session_wait(struct load_session *c, const char *prefix);
/* LOGOUT and close. */
void load_session_close(struct load_session *c);

/* Wait for a nonblocking connect, then make the socket blocking: 0 or -1. */
int load_connected_blocking(int fd);

/* The IMAP response reader of the epoll modes (load-imap-reader.c):
 * each read hands complete lines (NUL-terminated, CR kept) to the
 * callback and skips the literals they announce. */
#define LOAD_IMAP_LINE_MAX 65536
#define LOAD_IMAP_TAIL_KEEP 32	/* of an overlong line: room for "{N}\r" */
struct load_imap_reader {
	char in[LOAD_IMAP_LINE_MAX];
	size_t inlen;
	size_t literal;		/* bytes of a literal still to skip */
	bool overlong;		/* in a line longer than `in`: drop it at its end */
};
typedef void load_imap_line_fn(void *ctx, char *line, size_t len);
/* One read(): 0, or -1 when the connection ended or failed. */
int load_imap_read(struct load_imap_reader *r, int fd, load_imap_line_fn *fn, void *ctx);
/* A repeatable pseudo-random number (the same choices every run). */
unsigned load_rand(unsigned *state);
/* One short command on session `id`'s blocking socket; a short write
 * counts as an error, and so does a command over 4 KB (not sent). */
void load_sendf(int fd, int id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
