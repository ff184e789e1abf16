/*
 * password: crypt(3) password hashes, nothing else. New hashes are yescrypt
 * ($y$) through libcrypt; $6$ (SHA-512) and $2b$ (bcrypt) hashes verify
 * too, for accounts migrated from other servers. Pure functions with no
 * store or session knowledge: `roost user add` hashes with them, and the
 * login layer (auth/auth.h) verifies with them.
 */
#ifndef ROOST_PASSWORD_H
#define ROOST_PASSWORD_H
#include <stdbool.h>

/* Longest password hashed or verified; longer ones never match. */
#define PASSWORD_MAX 1024

/* New yescrypt hash of `password` (caller frees), or NULL on failure. */
char *password_hash(const char *password);
/* Constant-time check of `password` against a crypt(3) hash; a NULL,
 * empty, locked ("!") or failure ("*") hash never matches. */
bool password_verify(const char *password, const char *hash);
#endif
