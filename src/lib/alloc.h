/*
 * alloc: allocation that cannot fail. Out of memory ends the process here,
 * in one place, with a log line; callers never check for NULL.
 */
#ifndef ROOST_ALLOC_H
#define ROOST_ALLOC_H
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h> /* free() */

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
/* Grow an array of `elem` sized items to hold at least `need`; doubles. */
void *xgrow(void *p, size_t *cap, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);
/* Free *p and set it to NULL. No-op on NULL. */
void xfree(void *pp);
/* Overwrite a secret before freeing it. */
void wipe(void *p, size_t n);
#endif
