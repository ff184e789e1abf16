/*
 * registry: see registry.h. Entries hang in REGISTRY_BUCKETS doubly linked
 * lists hashed by owner, so adding, removing and finding an owner's
 * sessions cost O(sessions of the owner in the bucket). Requests from
 * other threads are queued under a mutex and run by one activated event.
 */
#include "lib/registry.h"
#include "lib/alloc.h"
#include "lib/buf.h"
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
	registry_describe_fn *describe;
	void *ctx;
	time_t since;			/* registry_add: the login */
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
	e->since = time(NULL);
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

void registry_set_describe(struct registry_entry *e, registry_describe_fn *fn)
{
	e->describe = fn;
}

/* Loop thread: the `roost who` lines of `owner` (0: everyone). */
static char *list_sessions(int64_t owner)
{
	struct buf b;
	buf_init(&b, REGISTRY_MAX_LIST);
	for (size_t i = 0; i < REGISTRY_BUCKETS; i++) {
		if (owner != 0 && i != bucket_of(owner))
			continue;
		for (struct registry_entry *e = buckets[i]; e != NULL; e = e->next) {
			if (e->removed || (owner != 0 && e->owner != owner))
				continue;
			size_t mark = b.len;
			int r = buf_printf(&b, "%lld\t%lld\t", (long long)e->owner,
					   (long long)e->since);
			if (r == 0 && e->describe != NULL) {
				e->describe(e->ctx, &b);
			}
			if (r < 0 || buf_putc(&b, '\n') < 0) {
				b.len = mark; /* full: the listing ends with whole lines */
				i = REGISTRY_BUCKETS;
				break;
			}
		}
	}
	char *text = buf_steal(&b);
	return text != NULL ? text : xstrdup("");
}

/* --- requests from other threads --- */

struct request {
	int64_t owner;
	bool list;		/* registry_list_wait(): `text` is the answer */
	char *text;
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
		char *text = NULL;
		size_t n = 0;
		if (r->list)
			text = list_sessions(r->owner);
		else
			n = registry_end_owner(r->owner, r->reason);
		pthread_mutex_lock(&lock);
		if (r->abandoned) {
			free(text);
			free(r);
		} else {
			r->text = text;
			r->ended = n;
			r->done = true;
		}
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
		r = next;
	}
}

/* Queue `r` for the loop and wait for it: true when answered (the caller
 * frees r), false when the loop is gone or late (r is then the loop's). */
static bool submit_wait(struct request *r)
{
	pthread_mutex_lock(&lock);
	if (wake_ev == NULL) {
		pthread_mutex_unlock(&lock);
		r->done = true; /* no loop, so no session: an empty answer */
		return true;
	}
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
	bool done = r->done;
	if (!done)
		r->abandoned = true; /* still queued: run_requests frees it */
	pthread_mutex_unlock(&lock);
	return done;
}

int registry_end_owner_wait(int64_t owner, const char *reason)
{
	struct request *r = xcalloc(1, sizeof(*r));
	r->owner = owner;
	size_t len = strlen(reason);
	if (len > REGISTRY_MAX_REASON)
		len = REGISTRY_MAX_REASON;
	memcpy(r->reason, reason, len);
	if (!submit_wait(r))
		return -1;
	int result = r->ended > INT32_MAX ? INT32_MAX : (int)r->ended;
	free(r);
	return result;
}

int registry_list_wait(int64_t owner, char **text_r)
{
	struct request *r = xcalloc(1, sizeof(*r));
	r->owner = owner;
	r->list = true;
	*text_r = NULL;
	if (!submit_wait(r))
		return -1;
	*text_r = r->text != NULL ? r->text : xstrdup("");
	free(r);
	return 0;
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
