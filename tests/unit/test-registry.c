/* Unit tests for src/lib/registry.c: sessions by owner, removal while
 * ending, and requests handed from another thread to the loop. */
#include "unit.h"
#include "lib/registry.h"
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdbool.h>

struct fake_session {
	int ended;
	char reason[64];
	struct registry_entry *entry;
	struct fake_session *also_remove; /* removed by this one's end */
};

static void fake_end(void *ctx, const char *reason)
{
	struct fake_session *f = ctx;
	f->ended++;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
	/* a session removes itself (and here another) while ending */
	registry_remove(&f->entry);
	if (f->also_remove != NULL)
		registry_remove(&f->also_remove->entry);
}

TEST(registry_end_owner)
{
	struct fake_session a1 = {0}, a2 = {0}, b = {0};
	a1.entry = registry_add(7, fake_end, &a1);
	a2.entry = registry_add(7, fake_end, &a2);
	b.entry = registry_add(8, fake_end, &b);
	CHECK_INT(registry_count(7), 2);
	CHECK_INT(registry_count(8), 1);
	/* another owner hashed anywhere: untouched */
	CHECK_INT(registry_end_owner(9, "nobody"), 0);
	CHECK_INT(registry_end_owner(7, "Account deleted"), 2);
	CHECK_INT(a1.ended, 1);
	CHECK_INT(a2.ended, 1);
	CHECK_STR(a1.reason, "Account deleted");
	CHECK_INT(b.ended, 0);
	CHECK_INT(registry_count(7), 0);
	CHECK(a1.entry == NULL && a2.entry == NULL);
	/* ending again finds nobody */
	CHECK_INT(registry_end_owner(7, "again"), 0);
	registry_remove(&b.entry);
	CHECK_INT(registry_count(8), 0);
	registry_remove(&b.entry); /* NULL: no-op */
}

TEST(registry_remove_other_while_ending)
{
	/* the first one ended removes the second before its turn: the
	 * second must then not be called */
	struct fake_session x = {0}, y = {0};
	y.entry = registry_add(42, fake_end, &y);
	x.entry = registry_add(42, fake_end, &x); /* head of the list: ends first */
	x.also_remove = &y;
	CHECK_INT(registry_end_owner(42, "bye"), 1);
	CHECK_INT(x.ended, 1);
	CHECK_INT(y.ended, 0);
	CHECK_INT(registry_count(42), 0);
}

TEST(registry_wait_without_loop)
{
	/* the CLI alone: no loop, no session, nothing to wait for */
	CHECK_INT(registry_end_owner_wait(5, "x"), 0);
}

struct waiter {
	int64_t owner;
	int result;
	bool done;
	struct event_base *base;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	w->result = registry_end_owner_wait(w->owner, "Account disabled");
	__atomic_store_n(&w->done, true, __ATOMIC_SEQ_CST);
	event_base_loopbreak(w->base);
	return NULL;
}

TEST(registry_wait_from_another_thread)
{
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	registry_start(base);
	struct fake_session s1 = {0}, s2 = {0};
	s1.entry = registry_add(11, fake_end, &s1);
	s2.entry = registry_add(12, fake_end, &s2);
	struct waiter w = {.owner = 11, .base = base};
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, wait_thread, &w), 0);
	/* the loop runs the request; the waiter returns only after it */
	for (int i = 0; i < 500 && !__atomic_load_n(&w.done, __ATOMIC_SEQ_CST); i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	pthread_join(t, NULL);
	CHECK_INT(w.result, 1);
	CHECK_INT(s1.ended, 1);
	CHECK_STR(s1.reason, "Account disabled");
	CHECK_INT(s2.ended, 0);
	registry_remove(&s2.entry);
	registry_stop();
	/* stopped: requests answer 0 at once */
	CHECK_INT(registry_end_owner_wait(12, "x"), 0);
	event_base_free(base);
}
