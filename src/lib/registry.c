/*
 * registry: see registry.h. Entries hang in REGISTRY_BUCKETS doubly linked
 * lists hashed by owner, so adding, removing and finding an owner's
 * sessions cost O(sessions of the owner in the bucket). Requests from
 * other threads are queued under a mutex and run by one activated event.
 */
#include "lib/registry.h"
#include "lib/alloc.h"
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REGISTRY_BUCKETS 1024

struct registry_entry {
	int64_t owner;
	registry_end_fn *end;
	void *ctx;
	struct registry_entry *prev, *next;
	bool removed;			/* removed while an end ran: freed after */
	struct registry_entry *dead_next;
};

static struct registry_entry *buckets[REGISTRY_BUCKETS];
static int ending_depth;
static struct registry_entry *dead;

static size_t bucket_of(int64_t owner)
{
	uint64_t h = (uint64_t)owner * 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 54) % REGISTRY_BUCKETS;
}

struct registry_entry *registry_add(int64_t owner, registry_end_fn *end, void *ctx)
{
	struct registry_entry *e = xcalloc(1, sizeof(*e));
	struct registry_entry **head = &buckets[bucket_of(owner)];
	e->owner = owner;
	e->end = end;
	e->ctx = ctx;
	e->next = *head;
	if (*head != NULL)
		(*head)->prev = e;
	*head = e;
	return e;
}

static void unlink_entry(struct registry_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		buckets[bucket_of(e->owner)] = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
}

void registry_remove(struct registry_entry **ep)
{
	struct registry_entry *e = *ep;
	if (e == NULL)
		return;
	*ep = NULL;
	if (ending_depth > 0) {
		/* an end callback runs: keep the list walkable */
		e->removed = true;
		e->dead_next = dead;
		dead = e;
		return;
	}
	unlink_entry(e);
	free(e);
}

size_t registry_end_owner(int64_t owner, const char *reason)
{
	size_t n = 0;
	ending_depth++;
	for (struct registry_entry *e = buckets[bucket_of(owner)]; e != NULL; e = e->next) {
		if (e->removed || e->owner != owner)
			continue;
		e->end(e->ctx, reason);
		n++;
	}
	if (--ending_depth == 0) {
		while (dead != NULL) {
			struct registry_entry *e = dead;
			dead = e->dead_next;
			unlink_entry(e);
			free(e);
		}
	}
	return n;
}

size_t registry_count(int64_t owner)
{
	size_t n = 0;
	for (struct registry_entry *e = buckets[bucket_of(owner)]; e != NULL; e = e->next)
		n += !e->removed && e->owner == owner;
	return n;
}

/* --- requests from other threads --- */

struct request {
	int64_t owner;
	char reason[REGISTRY_MAX_REASON + 1];
	size_t ended;
	bool done;
	bool abandoned;		/* the waiter gave up: the loop frees it */
	struct request *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct request *queue;
static struct event *wake_ev;

static void run_requests(evutil_socket_t fd, short what, void *arg)
{
	pthread_mutex_lock(&lock);
	struct request *r = queue;
	queue = NULL;
	pthread_mutex_unlock(&lock);
	while (r != NULL) {
		struct request *next = r->next;
		size_t n = registry_end_owner(r->owner, r->reason);
		pthread_mutex_lock(&lock);
		if (r->abandoned) {
			free(r);
		} else {
			r->ended = n;
			r->done = true;
		}
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
		r = next;
	}
}

int registry_end_owner_wait(int64_t owner, const char *reason)
{
	pthread_mutex_lock(&lock);
	if (wake_ev == NULL) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	struct request *r = xcalloc(1, sizeof(*r));
	r->owner = owner;
	size_t len = strlen(reason);
	if (len > REGISTRY_MAX_REASON)
		len = REGISTRY_MAX_REASON;
	memcpy(r->reason, reason, len);
	r->next = queue;
	queue = r;
	event_active(wake_ev, EV_READ, 0);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += REGISTRY_WAIT_MS / 1000;
	deadline.tv_nsec += (long)(REGISTRY_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	int rc = 0;
	while (!r->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cond, &lock, &deadline);
	int result;
	if (r->done) {
		result = r->ended > INT32_MAX ? INT32_MAX : (int)r->ended;
		free(r);
	} else {
		r->abandoned = true; /* still queued: run_requests frees it */
		result = -1;
	}
	pthread_mutex_unlock(&lock);
	return result;
}

void registry_start(struct event_base *base)
{
	pthread_mutex_lock(&lock);
	if (wake_ev == NULL)
		wake_ev = event_new(base, -1, 0, run_requests, NULL);
	pthread_mutex_unlock(&lock);
}

void registry_stop(void)
{
	pthread_mutex_lock(&lock);
	struct event *ev = wake_ev;
	wake_ev = NULL;
	/* no loop any more, so no session: answer the waiters with 0 */
	for (struct request *r = queue, *next; r != NULL; r = next) {
		next = r->next;
		if (r->abandoned) {
			free(r);
		} else {
			r->ended = 0;
			r->done = true;
		}
	}
	queue = NULL;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (ev != NULL)
		event_free(ev);
}
