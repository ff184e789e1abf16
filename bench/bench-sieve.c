/*
 * bench-sieve: the Sieve interpreter alone, in process: compiles and runs
 * the rule script bench/smtp.sh gives each account (SIEVE=N: header,
 * address and envelope tests that do not match) against a message like
 * roost-load's, and prints microseconds per compile and per run.
 *
 * Usage: build/bench-sieve [RULES [RUNS [SIZE]]]  (defaults 50 20000 4096)
 * Under `valgrind --tool=callgrind` the instruction count per run is a
 * figure a busy machine does not move (docs/PERFORMANCE.md).
 */
#include "lib/buf.h"
#include "sieve/sieve.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int rules = argc > 1 ? atoi(argv[1]) : 50;
	int runs = argc > 2 ? atoi(argv[2]) : 20000;
	size_t size = argc > 3 ? (size_t)atol(argv[3]) : 4096;
	if (rules < 0 || rules > 10000 || runs <= 0 || size > 64 * 1024 * 1024) {
		fprintf(stderr, "usage: bench-sieve [RULES [RUNS [SIZE]]]\n");
		return 2;
	}
	struct buf s;
	buf_init(&s, (size_t)rules * 128 + 128);
	buf_puts(&s, "require [\"fileinto\", \"envelope\", \"imap4flags\"];\n");
	for (int r = 0; r < rules; r++) {
		if (r % 3 == 0)
			buf_printf(&s, "if header :contains \"subject\" \"nomatch%d\" { fileinto \"Junk\"; stop; }\n", r);
		else if (r % 3 == 1)
			buf_printf(&s, "if address :domain :is \"from\" \"nomatch%d.test\" { addflag \"\\\\Flagged\"; }\n", r);
		else
			buf_printf(&s, "if envelope :localpart :is \"from\" \"nomatch%d\" { discard; stop; }\n", r);
	}
	struct buf m;
	buf_init(&m, size + 1024);
	buf_puts(&m, "Received: from load.test by mx.example.com; Thu, 3 Dec 2026 08:00:00 +0000\r\n"
		     "From: load@bench.example\r\nTo: alice3@example.com\r\nSubject: load 42\r\n"
		     "Message-ID: <42.1@bench.example>\r\n\r\n");
	while (m.len + 80 <= size)
		buf_puts(&m, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n");
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	struct sieve_diag d;
	int compiles = runs / 10 > 0 ? runs / 10 : 1;
	double t0 = now();
	for (int i = 0; i < compiles; i++) {
		struct sieve_script *sc = sieve_compile(s.data, s.len, &lim, NULL, NULL, &d);
		if (sc == NULL) {
			fprintf(stderr, "bench-sieve: %s\n", d.message);
			return 1;
		}
		sieve_script_free(sc);
	}
	double t1 = now();
	struct sieve_script *sc = sieve_compile(s.data, s.len, &lim, NULL, NULL, &d);
	struct sieve_env env = {.msg = m.data, .msg_len = m.len,
				.envelope_from = "load@bench.example",
				.envelope_to = "alice3@example.com", .user_address = "alice3@example.com",
				.spam_header = "X-Spam-Score", .virus_header = "X-Virus-Status",
				.now = (int64_t)time(NULL)};
	double t2 = now();
	for (int i = 0; i < runs; i++) {
		struct sieve_result r;
		if (sieve_run(sc, &env, &lim, &r, &d) < 0) {
			fprintf(stderr, "bench-sieve: %s\n", d.message);
			return 1;
		}
		sieve_result_free(&r);
	}
	double t3 = now();
	printf("rules=%d bytes=%zu message=%zu compile=%.1fus run=%.2fus\n", rules, s.len, m.len,
	       (t1 - t0) / compiles * 1e6, (t3 - t2) / runs * 1e6);
	sieve_script_free(sc);
	buf_free(&s);
	buf_free(&m);
	return 0;
}
