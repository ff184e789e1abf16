/*
 * store-fault: the read fault-injection hook (store.h,
 * store_debug_fail_reads). Every db_step in src/store/ goes through
 * store_fault_step() (the macro below), so a test can make reads fail the
 * way a busy or failing disk does and prove that no error is read as
 * "absent". Private to src/store/.
 */
#ifndef ROOST_STORE_FAULT_H
#define ROOST_STORE_FAULT_H
#include "store/db/db.h"

#include <stdbool.h>

/* A lost commit armed by store_debug_lose_commits: taken (true) once. */
bool store_fault_take_lost_commit(void);

/* db_step, unless the hook is armed and st is on a read connection. */
int store_fault_step(struct db_stmt *st);
#define db_step(st) store_fault_step(st)
#endif
