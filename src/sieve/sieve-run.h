/*
 * sieve-run: helpers the checker and the interpreter share (address and
 * header-name syntax, regular expressions) and the limits of values that
 * are not in struct sieve_limits.
 */
#ifndef ROOST_SIEVE_RUN_H
#define ROOST_SIEVE_RUN_H
#include <stdbool.h>
#include <stddef.h>

#define SV_VAR_NAME_MAX 64	/* bytes of a variable name */
#define SV_REGEX_MAX 1024	/* bytes of a :regex pattern */
#define SV_REGEX_SUBJECT_MAX 16384 /* bytes of a value a :regex searches */
/* glibc's regcomp copies the subexpression of every bounded repetition
 * once per count, and its time grows with the square of the copies
 * ("a{1,32767}" takes 20 s); matching time grows with them too. */
#define SV_REGEX_BOUND_MAX 255	/* m and n of {m,n}: POSIX's RE_DUP_MAX floor */
#define SV_REGEX_EXPANDED_MAX 4096 /* atoms after repetitions are expanded */
#define SV_FLAGS_MAX 64		/* flags in one flag list */
#define SV_FLAG_MAX_LEN 128	/* bytes of one keyword */

/* "local@domain" as redirect and vacation accept it. */
bool sv_address_ok(const char *s);
/* RFC 5322 field name: printable ASCII but ':' and space, 1..997. */
bool sv_header_name_ok(const char *s);
/* 0 when the POSIX extended regex compiles; -1 with err. */
int sv_regex_check(const char *pat, size_t len, bool icase, char *err, size_t errlen);
#endif
