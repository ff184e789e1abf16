/* Unit tests for src/lib/membudget.c: the limit holds, concurrent
 * takes and gives from several threads end where they started. */
#include "unit.h"
#include "lib/membudget.h"
#include <pthread.h>
#include <stdbool.h>

TEST(membudget_limit_refuses)
{
	size_t before = membudget_limit();
	membudget_init(1000);
	CHECK_INT(membudget_used(), 0);
	CHECK(membudget_take(600));
	CHECK(!membudget_take(401)); /* 1001 > 1000 */
	CHECK_INT(membudget_used(), 600);
	CHECK(membudget_take(400)); /* exactly at the limit */
	CHECK(!membudget_take(1));
	CHECK(membudget_take(0));
	CHECK(!membudget_take(SIZE_MAX)); /* no wrap-around */
	membudget_give(1000);
	CHECK_INT(membudget_used(), 0);
	CHECK(!membudget_take(1001));
	CHECK_INT(membudget_used(), 0);
	membudget_init(before);
}

TEST(membudget_auto_limit)
{
	size_t n = membudget_limit_for(0);
	CHECK(n >= MEMBUDGET_AUTO_MIN);
	CHECK(n <= MEMBUDGET_AUTO_MAX);
	CHECK_INT(membudget_limit_for(3 << 20), 3 << 20);
	CHECK(membudget_limit_for(-1) == SIZE_MAX);
}

#define MB_THREADS 4
#define MB_ROUNDS 100000

static int refused[MB_THREADS];

static void *hammer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < MB_ROUNDS; i++) {
		size_t n = (size_t)(i % 7 + 1) * 10;
		if (membudget_take(n)) {
			if (membudget_used() > 300)
				refused[id] = -1000000; /* the limit was overshot */
			membudget_give(n);
		} else {
			refused[id]++;
		}
	}
	return NULL;
}

TEST(membudget_threads_end_at_zero)
{
	size_t before = membudget_limit();
	membudget_init(300);
	pthread_t th[MB_THREADS];
	for (int i = 0; i < MB_THREADS; i++) {
		refused[i] = 0;
		CHECK(pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i) == 0);
	}
	for (int i = 0; i < MB_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(membudget_used(), 0);
	for (int i = 0; i < MB_THREADS; i++)
		CHECK(refused[i] >= 0);
	membudget_init(before);
}
