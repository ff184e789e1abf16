/*
 * bench-deliver: the delivery benchmark. W writer threads
 * deliver N messages of S bytes to A accounts through the store's
 * group-commit writer, every store durable (synchronous=FULL WAL commit),
 * and report messages/s and syncs (commits) per message.
 *
 *   build/bench-deliver [-n 20000] [-w 8] [-a 100] [-s 4096] [-d DIR] [-P CONNINFO]
 *                       [-C CONTENTDIR] [-T] [-F]
 *
 * -P puts the store in the (empty) PostgreSQL database CONNINFO names
 * instead of DIR/roost.db; -C keeps message bytes in files under
 * CONTENTDIR (store.content = dir:CONTENTDIR).
 * -T fills bodies with varied words instead of one repeated letter (what
 * the full-text index sees in real mail); -F turns the full-text index
 * off (search.fts = no), to measure its cost.
 */
#include "store/store.h"
#include "lib/alloc.h"
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct job {
	struct store *s;
	int64_t *accounts;
	int naccounts, count, size, id;
	int failed;
	bool words;
};

/* Pseudo-words from a per-message seed, so bodies differ like mail does. */
static void fill_words(char *p, size_t n, unsigned seed)
{
	static const char syll[][4] = {"ka", "ro", "st", "men", "ti", "la", "ve", "or", "qu",
				       "ne", "sa", "dri", "po", "lu", "ge", "an"};
	size_t i = 0;
	while (i < n) {
		seed = seed * 1103515245u + 12345u;
		int k = 1 + (int)((seed >> 16) % 4);
		for (int j = 0; j < k && i < n; j++) {
			seed = seed * 1103515245u + 12345u;
			for (const char *q = syll[(seed >> 16) % 16]; *q && i < n; q++)
				p[i++] = *q;
		}
		if (i < n)
			p[i++] = (seed >> 20) % 12 == 0 ? '\n' : ' ';
	}
}

static void *writer(void *p)
{
	struct job *j = p;
	char *msg = xmalloc((size_t)j->size + 1);
	for (int i = 0; i < j->count; i++) {
		int n = snprintf(msg, (size_t)j->size, "From: bench@example.org\r\nSubject: w%d m%d\r\n\r\n",
				 j->id, i);
		if (j->words)
			fill_words(msg + n, (size_t)(j->size - n), (unsigned)(j->id * 100003 + i));
		else
			memset(msg + n, 'a' + (i % 26), (size_t)(j->size - n));
		memcpy(msg + j->size - 2, "\r\n", 2);
		struct store_target t = {.account_id = j->accounts[(j->id * 7919 + i) % j->naccounts]};
		struct store_op op;
		store_op_init(&op, STORE_OP_DELIVER);
		op.u.deliver.data = msg;
		op.u.deliver.len = (size_t)j->size;
		op.u.deliver.targets = &t;
		op.u.deliver.ntargets = 1;
		if (store_run(j->s, &op) != STORE_OK)
			j->failed++;
		store_op_clear(&op);
	}
	free(msg);
	return NULL;
}

static void *loop(void *base)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int total = 20000, writers = 8, naccounts = 100, size = 4096;
	char dirbuf[] = "/tmp/roost-bench-XXXXXX";
	const char *dir = NULL, *pg = "", *content = "";
	int c;
	bool words = false, no_fts = false;
	while ((c = getopt(argc, argv, "n:w:a:s:d:P:C:TF")) != -1) {
		switch (c) {
		case 'n': total = (int)strtol(optarg, NULL, 10); break;
		case 'w': writers = (int)strtol(optarg, NULL, 10); break;
		case 'a': naccounts = (int)strtol(optarg, NULL, 10); break;
		case 's': size = (int)strtol(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'P': pg = optarg; break;
		case 'C': content = optarg; break;
		case 'T': words = true; break;
		case 'F': no_fts = true; break;
		default:
			fprintf(stderr, "usage: bench-deliver [-n msgs] [-w writers] [-a accounts] [-s bytes] [-d dir]"
					" [-P conninfo] [-C contentdir] [-T] [-F]\n");
			return 64;
		}
	}
	if (total < 1 || writers < 1 || writers > 256 || naccounts < 1 || size < 128 ||
	    strlen(pg) >= STORE_PG_CONNINFO_MAX || strlen(content) >= STORE_CONTENT_DIR_MAX) {
		fprintf(stderr, "bench-deliver: bad arguments\n");
		return 64;
	}
	if (dir == NULL && (dir = mkdtemp(dirbuf)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char *err = NULL;
	struct store *s;
	struct store_settings settings = {.default_quota_bytes = -1, .default_quota_messages = -1,
					  .fts_disabled = no_fts};
	strcpy(settings.pg_conninfo, pg);
	strcpy(settings.content_dir, content);
	if (store_create(dir, pg, &err) != STORE_OK ||
	    store_open(dir, &settings, &s, &err) != STORE_OK) {
		fprintf(stderr, "bench-deliver: %s\n", err);
		return 1;
	}
	store_domain_add(s, "example.com", &err);
	int64_t *accounts = xcalloc((size_t)naccounts, sizeof(*accounts));
	for (int i = 0; i < naccounts; i++) {
		char addr[64];
		snprintf(addr, sizeof(addr), "user%d@example.com", i);
		store_account_add(s, addr, "$y$unused", &err);
		struct store_account a;
		store_account_get(s, addr, &a);
		accounts[i] = a.id;
		store_account_clear(&a);
	}
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	store_writer_start(s, base);
	pthread_t lt;
	pthread_create(&lt, NULL, loop, base);

	struct store_stats before;
	store_get_stats(s, &before);
	struct job *jobs = xcalloc((size_t)writers, sizeof(*jobs));
	pthread_t *th = xcalloc((size_t)writers, sizeof(*th));
	double t0 = now();
	for (int i = 0; i < writers; i++) {
		jobs[i] = (struct job){s, accounts, naccounts, total / writers + (i < total % writers), size, i, 0, words};
		pthread_create(&th[i], NULL, writer, &jobs[i]);
	}
	int failed = 0;
	for (int i = 0; i < writers; i++) {
		pthread_join(th[i], NULL);
		failed += jobs[i].failed;
	}
	double elapsed = now() - t0;
	struct store_stats after;
	store_get_stats(s, &after);
	uint64_t commits = after.commits - before.commits;
	printf("bench-deliver: %d messages of %d bytes to %d accounts, %d writers\n", total, size,
	       naccounts, writers);
	printf("  %.0f msg/s durable, %.2f s, %llu commits (syncs), %.3f syncs/msg, %d failed\n",
	       total / elapsed, elapsed, (unsigned long long)commits, (double)commits / total, failed);
	event_base_loopbreak(base);
	pthread_join(lt, NULL);
	store_close(&s);
	event_base_free(base);
	if (dir == dirbuf) {
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
		free(cmd);
	}
	free(accounts);
	free(jobs);
	free(th);
	return failed ? 1 : 0;
}
