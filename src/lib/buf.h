/*
 * buf: a growable byte buffer that knows its maximum (curl's dynbuf idea).
 * Appending past the maximum fails and leaves the buffer unchanged, so a
 * client can never make one grow without bound. Contents are always
 * NUL-terminated for convenience; len excludes the terminator.
 */
#ifndef ROOST_BUF_H
#define ROOST_BUF_H
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap, max;
};

void buf_init(struct buf *b, size_t max);
/* 0, or -1 when the result would exceed max. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Hand over the data (caller frees); the buffer becomes empty. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
#endif
