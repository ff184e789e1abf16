/*
 * store-fault: the read fault-injection hook (store.h,
 * store_debug_fail_reads). Every sqlite3_step in src/store/ goes through
 * store_fault_step() (the macro below), so a test can make reads fail the
 * way a busy or failing disk does and prove that no error is read as
 * "absent". Private to src/store/.
 */
#ifndef ROOST_STORE_FAULT_H
#define ROOST_STORE_FAULT_H
#include <sqlite3.h>

/* sqlite3_step, unless the hook is armed and st is on a read connection. */
int store_fault_step(sqlite3_stmt *st);
#define sqlite3_step(st) store_fault_step(st)
#endif
