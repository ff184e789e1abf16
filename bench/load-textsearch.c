/*
 * load-textsearch: the "search" figure (docs/PERFORMANCE.md): one
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS_MAX_ROUNDS 1000

static const char *const ts_queries[] = {
	"UID SEARCH TEXT \"w3 m17\"",		/* subject words: ~111 hits */
	"UID SEARCH BODY \"qxzv\"",		/* in no message */
	"UID SEARCH TEXT \"kamen\"",		/* common trigrams, ~98 % hit */
	"UID SEARCH BODY \"stlave orqu\"",	/* phrase of common trigrams */
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int run_textsearch(const struct load_opts *o)
{
	struct load_session *c = load_session_open(o);
	if (c == NULL)
		return -1;
	char cmd[512];
	long rounds = o->messages > 0 && o->messages <= TS_MAX_ROUNDS ? o->messages : 5;
	int64_t samples[TS_MAX_ROUNDS];
	for (size_t q = 0; q < sizeof(ts_queries) / sizeof(ts_queries[0]); q++) {
		long n = 0;
		for (long i = 0; i < rounds; i++) {
			snprintf(cmd, sizeof(cmd), "q %s\r\n", ts_queries[q]);
			int64_t t0 = load_now_us();
			if (load_session_write(c, cmd) < 0 || load_session_wait(c, "q OK") < 0) {
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
	load_session_close(c);
	return 0;
}

LOAD_MODE(imap_textsearch_mode) = {
	.name = "imap-textsearch",
	.help = "UID SEARCH TEXT/BODY, rare and common needles, on <user>0's INBOX (-n rounds each)",
	.default_port = 143,
	.run = run_textsearch,
};
