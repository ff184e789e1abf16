/*
 * store-fault: see store-fault.h. Disarmed, the hook costs one relaxed
 * atomic load per step. Read connections are the ones opened read-only
 * (store_reader); the writer's connection is never failed here (its
 * faults are tested with ops that break the transaction themselves, see
 * tests/unit/test-store-writer-faults.c).
 */
#include "store/store-fault.h"
#include "store/store.h"
#include <stdatomic.h>
#include <stdbool.h>

static atomic_uint fault_skip, fault_count, fault_failed, lost_commits;
static atomic_int fault_code = DB_IOERR;

void store_debug_fail_reads(unsigned skip, unsigned count, enum store_fault kind)
{
	atomic_store(&fault_code, kind == STORE_FAULT_BUSY ? DB_BUSY : DB_IOERR);
	atomic_store(&fault_skip, skip);
	atomic_store(&fault_count, count);
}

unsigned store_debug_reads_failed(void)
{
	return atomic_load(&fault_failed);
}

/* Ending a read transaction must still work, or the connection would
 * stay in its snapshot for good. */
static bool ends_transaction(struct db_stmt *st)
{
	const char *sql = db_sql(st);
	return sql != NULL && (sql[0] == 'C' || sql[0] == 'R' || sql[0] == 'E');
}

/* A read connection: opened read-only (store_reader), on any backend. */
static bool is_read_connection(struct db *db)
{
	return db_readonly(db);
}

/* Take one unit from *counter if it is not zero. */
static bool take(atomic_uint *counter)
{
	unsigned n = atomic_load(counter);
	while (n > 0)
		if (atomic_compare_exchange_weak(counter, &n, n - 1))
			return true;
	return false;
}

int store_fault_step(struct db_stmt *st)
{
	if (atomic_load_explicit(&fault_count, memory_order_relaxed) == 0)
		return (db_step)(st);
	if (!is_read_connection(db_of(st)) || ends_transaction(st))
		return (db_step)(st);
	if (take(&fault_skip))
		return (db_step)(st);
	if (!take(&fault_count))
		return (db_step)(st);
	atomic_fetch_add(&fault_failed, 1);
	return atomic_load(&fault_code);
}

void store_debug_lose_commits(unsigned count)
{
	atomic_store(&lost_commits, count);
}

bool store_fault_take_lost_commit(void)
{
	return atomic_load_explicit(&lost_commits, memory_order_relaxed) != 0 &&
	       take(&lost_commits);
}
