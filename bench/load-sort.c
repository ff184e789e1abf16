/*
 * load-sort: the "sort" figure (docs/PERFORMANCE.md): one session logs
 * in as <user>0, selects INBOX, then runs `UID SORT (REVERSE DATE) UTF-8
 * ALL` -n times (default 5); one latency sample per SORT (send to tagged
 * reply, the whole untagged answer read). Also one THREAD REFERENCES for
 * reference. Blocking socket: it measures the server, not the client.
 */
#include "load.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run_sort(const struct load_opts *o)
{
	struct load_session *c = load_session_open(o);
	if (c == NULL)
		return -1;
	long rounds = o->messages > 0 && o->messages < 1000 ? o->messages : 5;
	for (long i = 0; i < rounds; i++) {
		int64_t t0 = load_now_us();
		if (load_session_write(c, "q UID SORT (REVERSE DATE) UTF-8 ALL\r\n") < 0 || load_session_wait(c, "q OK") < 0) {
			load_error("UID SORT failed");
			break;
		}
		int64_t dt = load_now_us() - t0;
		fprintf(stderr, "  round %ld: UID SORT (REVERSE DATE) UTF-8 ALL %.1f ms, %zu bytes\n",
			i + 1, (double)dt / 1000.0, c->answer_bytes);
		load_record(dt);
	}
	int64_t t0 = load_now_us();
	if (load_session_write(c, "r UID THREAD REFERENCES UTF-8 ALL\r\n") == 0 && load_session_wait(c, "r OK") == 0)
		fprintf(stderr, "  UID THREAD REFERENCES UTF-8 ALL %.1f ms, %zu bytes\n",
			(double)(load_now_us() - t0) / 1000.0, c->answer_bytes);
	else
		load_error("UID THREAD failed");
	load_session_close(c);
	return 0;
}

LOAD_MODE(imap_sort_mode) = {
	.name = "imap-sort",
	.help = "UID SORT (REVERSE DATE) UTF-8 ALL on <user>0's INBOX (-n rounds)",
	.default_port = 143,
	.run = run_sort,
};
