/*
 * unit: a tiny test harness. Each tests/unit/test-*.c file defines tests
 * with TEST(name) { ... }; they register themselves at startup. A failed
 * CHECK reports file:line and marks the test failed (the test goes on).
 * `build/unit-tests [substring]` runs all tests, or those whose name matches.
 */
#ifndef ROOST_UNIT_H
#define ROOST_UNIT_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>

typedef void unit_fn(void);
void unit_register(const char *name, unit_fn *fn);
void unit_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A fresh empty directory for this test (removed after the run). */
const char *unit_tmpdir(void);
/* The directory unit_tmpdir() last made. */
const char *unit_tmpdir_current(void);

#define TEST(name)                                                              \
	static void test_##name(void);                                          \
	__attribute__((constructor)) static void register_##name(void)         \
	{                                                                       \
		unit_register(#name, test_##name);                              \
	}                                                                       \
	static void test_##name(void)

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond))                                                    \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);      \
	} while (0)
#define CHECK_INT(a, b)                                                         \
	do {                                                                    \
		long long a_ = (long long)(a), b_ = (long long)(b);             \
		if (a_ != b_)                                                   \
			unit_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b, b_); \
	} while (0)
#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *a_ = (a), *b_ = (b);                                \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)            \
			unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)
#endif
