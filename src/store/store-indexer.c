/*
 * store-indexer: the full-text indexer thread (daemon only). Deliveries
 * store content unindexed; this thread wakes after commits that stored
 * something and indexes the pending contents in batches through the
 * writer. The text is made here, off the writer and off the event loop.
 *
 * Deliveries come first: a trigram index costs several times the writes
 * of the message itself (measured: ~1,200 contents/s indexed against
 * ~4,000 deliveries/s stored), so indexing waits until deliveries pause
 * (at most STORE_INDEXER_MAX_DEFER_MS), and between batches it lets queued
 * writes go first (at most STORE_INDEXER_MAX_YIELDS times in a row, so a
 * constant stream still gets indexed). SEARCH reads what is not indexed
 * yet, so answers never depend on how far the indexer got.
 */
#include "store/store-internal.h"
#include "store/store-fts.h"
#include "lib/log.h"
#include <string.h>
#include <time.h>

/* Contents per indexing transaction: bounds how long the writer is held
 * (about 40 ms at the rate above). */
#define STORE_INDEXER_BATCH 50
/* Start when no delivery came for this long... */
#define STORE_INDEXER_QUIET_MS 200
/* ...or when the oldest pending one waited this long. */
#define STORE_INDEXER_MAX_DEFER_MS 5000
/* Between batches, let queued writes go first this many times in a row. */
#define STORE_INDEXER_MAX_YIELDS 10
#define STORE_INDEXER_YIELD_MS 20
/* Look for pending content at least this often (e.g. after a restart). */
#define STORE_INDEXER_POLL_MS 2000

static void wait_ms(struct store *s, int64_t ms, bool until_woken)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	deadline.tv_sec += deadline.tv_nsec / 1000000000;
	deadline.tv_nsec %= 1000000000;
	while (!s->indexer_stopping && !(until_woken && s->indexer_wake))
		if (pthread_cond_timedwait(&s->indexer_cond, &s->lock, &deadline) != 0)
			break;
}

static void *indexer_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->indexer_stopping) {
		wait_ms(s, STORE_INDEXER_POLL_MS, true);
		if (s->indexer_stopping)
			break;
		/* wait for a quiet moment, but not forever */
		for (int64_t waited = 0; waited < STORE_INDEXER_MAX_DEFER_MS && !s->indexer_stopping;
		     waited += STORE_INDEXER_QUIET_MS) {
			s->indexer_wake = false;
			wait_ms(s, STORE_INDEXER_QUIET_MS, false);
			if (!s->indexer_wake)
				break;
		}
		s->indexer_wake = false;
		size_t n = 0;
		enum store_err err = STORE_OK;
		int yields = 0;
		do {
			if (s->queue_len > 0 && yields < STORE_INDEXER_MAX_YIELDS) {
				yields++;
				wait_ms(s, STORE_INDEXER_YIELD_MS, false);
				n = STORE_INDEXER_BATCH;
				continue;
			}
			yields = 0;
			pthread_mutex_unlock(&s->lock);
			err = store_fts_index_pending(s, STORE_INDEXER_BATCH, &n);
			pthread_mutex_lock(&s->lock);
		} while (err == STORE_OK && n == STORE_INDEXER_BATCH && !s->indexer_stopping);
		pthread_mutex_unlock(&s->lock);
		if (err != STORE_OK)
			log_warn("store: full-text indexing failed, retrying later: %s",
				 store_strerror(err));
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void store_indexer_start(struct store *s)
{
	/* not store_fts_enabled(): on PostgreSQL that asks the database,
	 * which the thread does itself (store_fts_index_pending) */
	if (s->settings.fts_disabled)
		return;
	s->indexer_stopping = false;
	int rc = pthread_create(&s->indexer, NULL, indexer_main, s);
	if (rc == 0)
		s->indexer_running = true;
	else	/* SEARCH reads what is not indexed, so answers stay right */
		log_warn("store: no full-text indexer thread: %s", strerror(rc));
}

void store_indexer_wake(struct store *s)
{
	/* called with s->lock held */
	if (s->indexer_running) {
		s->indexer_wake = true;
		pthread_cond_signal(&s->indexer_cond);
	}
}

void store_indexer_stop(struct store *s)
{
	if (!s->indexer_running)
		return;
	pthread_mutex_lock(&s->lock);
	s->indexer_stopping = true;
	pthread_cond_broadcast(&s->indexer_cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->indexer, NULL);
	s->indexer_running = false;
}
