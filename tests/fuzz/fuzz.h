/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share. Each target is
 * one fuzz-<name>.c with LLVMFuzzerTestOneInput(); scripts/fuzz.sh runs
 * them (`make fuzz`). Input reaches a parser the way the network delivers
 * it, so this header splits bytes into lines exactly as lib/conn.c does:
 * a line ends at LF, one CR before the LF is removed, the line is handed
 * over NUL-terminated (and may contain NULs), and bytes after the last LF
 * are never delivered (the connection would still be waiting for them).
 *
 * Invariant checks use FUZZ_CHECK, which aborts: libFuzzer reports the
 * input as a crash, with the message saying which invariant broke.
 */
#ifndef ROOST_FUZZ_H
#define ROOST_FUZZ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,    \
				__LINE__, #cond);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* One line as conn delivers it: a malloc'd copy of exactly len + 1 bytes
 * (so ASan catches any read past the terminator). */
struct fuzz_line {
	char *text;
	size_t len;
	bool bare_lf;	/* ended in LF without CR (SMTP DATA needs this) */
};

/* Next complete line from data[*pos..size); false when none is left. */
static inline bool fuzz_next_line(const uint8_t *data, size_t size, size_t *pos,
				  struct fuzz_line *line_r)
{
	const uint8_t *start = data + *pos;
	const uint8_t *lf = *pos < size ? memchr(start, '\n', size - *pos) : NULL;
	if (lf == NULL)
		return false;
	size_t len = (size_t)(lf - start);
	line_r->bare_lf = !(len > 0 && start[len - 1] == '\r');
	if (!line_r->bare_lf)
		len--;
	line_r->text = malloc(len + 1);
	FUZZ_CHECK(line_r->text != NULL);
	memcpy(line_r->text, start, len);
	line_r->text[len] = '\0';
	line_r->len = len;
	*pos = (size_t)(lf - data) + 1;
	return true;
}

/* A malloc'd NUL-terminated copy of exactly the input bytes. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
#endif
