/*
 * address: mail addresses as Roost stores and compares them.
 * Stored form: "local@domain", all lowercased: hosted mailboxes are
 * case-insensitive (RFC 5321 allows either; every hosting provider folds).
 */
#ifndef ROOST_ADDRESS_H
#define ROOST_ADDRESS_H
#include <stdbool.h>
#include <stddef.h>

#define ADDRESS_MAX_LOCAL 64	/* RFC 5321 4.5.3.1.1 */
#define ADDRESS_MAX_DOMAIN 255	/* RFC 5321 4.5.3.1.2 */
#define ADDRESS_MAX 320

/* Validate and normalise "local@domain" (dot-atom local part, UTF-8
 * allowed; no quoting, no spaces, no control characters, no shell
 * metacharacters beyond RFC 5322 atext). Returns a new string (lowercased)
 * or NULL with *error_r (static text). */
char *address_normalize(const char *addr, const char **error_r);
/* Is local[0..len) a dot-atom local part (RFC 5322 3.4.1 / RFC 5321
 * Dot-string, UTF-8 allowed) within ADDRESS_MAX_LOCAL? *error_r when not. */
bool address_local_valid(const char *local, size_t len, const char **error_r);
bool domain_valid(const char *domain);
/* The domain part of a normalised address (pointer into addr). */
const char *address_domain(const char *addr);
/* An address header field's text (From, To, ...) with its comments taken
 * out (RFC 5322 3.2.2: "(...)", nested, with quoted-pairs; not inside a
 * quoted string) and the folding white space around '@', '.' inside an
 * angle address and after '<' / before '>' dropped, so that
 * "<user (c)@ (c) example.com>" reads "<user@example.com>". A new string,
 * or NULL when the text has no comment (nothing to take out). */
char *address_strip_comments(const char *field);
#endif
