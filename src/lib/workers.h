/*
 * workers: a small thread pool for CPU-heavy work that must not run on the
 * event loop (password hashing: one yescrypt check costs tens of
 * milliseconds, which would stall every connection of the loop). `work`
 * runs on a worker thread; `done` runs afterwards on the event loop given
 * to workers_start(). Without workers_start() (CLI, unit tests) both run
 * at once on the caller.
 */
#ifndef ROOST_WORKERS_H
#define ROOST_WORKERS_H
#include <stdbool.h>
struct event_base;

#define WORKERS_MAX 64

void workers_start(struct event_base *base, int nthreads);
/* Finishes queued jobs, then joins the threads (their `done` still runs). */
void workers_stop(void);
bool workers_running(void);
void workers_submit(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx);
#endif
