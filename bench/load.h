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
#endif
