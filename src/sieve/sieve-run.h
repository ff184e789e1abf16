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
#define SV_REGEX_SUBJECT_MAX 65536 /* bytes of a value a :regex searches */
#define SV_FLAGS_MAX 64		/* flags in one flag list */
#define SV_FLAG_MAX_LEN 128	/* bytes of one keyword */

/* "local@domain" as redirect and vacation accept it. */
bool sv_address_ok(const char *s);
/* RFC 5322 field name: printable ASCII but ':' and space, 1..997. */
bool sv_header_name_ok(const char *s);
/* 0 when the POSIX extended regex compiles; -1 with err. */
int sv_regex_check(const char *pat, size_t len, bool icase, char *err, size_t errlen);
#endif
