/*
 * membudget: the daemon-wide memory budget (see membudget.h). A single
 * atomic counter; take is a compare-and-swap loop so the limit is never
 * overshot, even for an instant, by concurrent takers.
 */
#include "lib/membudget.h"
#include "lib/log.h"
#include <stdatomic.h>
#include <unistd.h>

static atomic_size_t used;
static atomic_size_t limit = SIZE_MAX;

size_t membudget_limit_for(int64_t configured)
{
	if (configured < 0)
		return SIZE_MAX;
	if (configured > 0)
		return (uint64_t)configured > SIZE_MAX ? SIZE_MAX : (size_t)configured;
	long pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || page <= 0)
		return MEMBUDGET_AUTO_MIN;
	uint64_t ram = (uint64_t)pages * (uint64_t)page;
	uint64_t quarter = ram / 4;
	if (quarter > MEMBUDGET_AUTO_MAX)
		quarter = MEMBUDGET_AUTO_MAX;
	if (quarter < MEMBUDGET_AUTO_MIN)
		quarter = MEMBUDGET_AUTO_MIN;
	return (size_t)quarter;
}

void membudget_init(size_t n)
{
	atomic_store(&limit, n);
}

bool membudget_take(size_t n)
{
	if (n == 0)
		return true;
	size_t max = atomic_load(&limit);
	size_t cur = atomic_load(&used);
	do {
		if (n > max || cur > max - n)
			return false;
	} while (!atomic_compare_exchange_weak(&used, &cur, cur + n));
	return true;
}

void membudget_give(size_t n)
{
	if (n == 0)
		return;
	size_t before = atomic_fetch_sub(&used, n);
	if (before < n) {
		/* A give without its take: a bug; never wrap around. */
		atomic_store(&used, 0);
		log_msg(LOG_ERROR, "memory budget: gave back %zu bytes, only %zu in use", n, before);
	}
}

size_t membudget_used(void)
{
	return atomic_load(&used);
}

size_t membudget_limit(void)
{
	return atomic_load(&limit);
}
