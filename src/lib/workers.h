/*
 * workers: thread pools for work that must not run on the event loop.
 * Two pools with separate queues and threads:
 *   - the auth pool (workers_submit): password hashing, where one yescrypt
 *     check costs tens of milliseconds;
 *   - the read pool (workers_submit_read): client reads that can take
 *     longer (SEARCH of text not in the index, SORT, THREAD), so a flood
 *     of heavy searches never queues in front of a login.
 * `work` runs on a worker thread; `done` runs afterwards on the event loop
 * given to workers_start(). Without workers_start() (CLI, unit tests)
 * both run at once on the caller.
 */
#ifndef ROOST_WORKERS_H
#define ROOST_WORKERS_H
#include <stdbool.h>
#include <stdint.h>
struct event_base;

#define WORKERS_MAX 64
/* Threads of the net pool (workers_submit_net). */
#define WORKERS_NET_THREADS 8

/* Starts each pool with nthreads threads (server.worker_threads). */
void workers_start(struct event_base *base, int nthreads);
/* Finishes queued jobs, then joins the threads (their `done` still runs). */
void workers_stop(void);
bool workers_running(void);
void workers_submit(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx);
/* `key` (an account) shares the read pool fairly: a worker takes the
 * oldest job whose key has no job running, so one account's many
 * sessions cannot hold every read worker while others wait. Read workers
 * run at a lower CPU priority than the event loop. */
void workers_submit_read(uint64_t key, void (*work)(void *ctx), void (*done)(void *ctx),
			 void *ctx);
/* The net pool: jobs that mostly wait on the network (the DNS lookups of
 * the MX's SPF/DKIM/DMARC checks, each bounded by its own deadline), in
 * WORKERS_NET_THREADS threads of their own at the read pool's priority,
 * so a sender with slow DNS never holds a login or a search. */
void workers_submit_net(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx);
#endif
