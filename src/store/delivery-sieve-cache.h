/*
 * delivery-sieve-cache: compiled Sieve scripts shared by every delivery
 * of the process (a compiled script is immutable, sieve.h), so a script
 * is compiled once per text, not once per message.
 *
 * Entries are keyed by the exact script text and the compile limits, so
 * a changed script (ManageSieve, `roost sieve put`, another process) is a
 * different key: nothing to invalidate, the old entry ages out. A small
 * table of owners (account id, or a negative id for the global before
 * and after scripts) remembers each owner's last entry, so the usual
 * lookup is one memcmp of the text, not a hash of it. Bounded:
 * DELIVERY_SIEVE_CACHE_SIZE entries, least recently used ones without
 * users replaced. Thread-safe.
 */
#ifndef ROOST_DELIVERY_SIEVE_CACHE_H
#define ROOST_DELIVERY_SIEVE_CACHE_H
#include <stdint.h>
#include "sieve/sieve.h"

#define DELIVERY_SIEVE_CACHE_SIZE 128	/* compiled scripts kept */
#define DELIVERY_SIEVE_CACHE_OWNERS 1024 /* owner -> entry hints */

/* owner ids of the global scripts */
#define DELIVERY_SIEVE_OWNER_BEFORE (-1)
#define DELIVERY_SIEVE_OWNER_AFTER (-2)

struct delivery_sieve_cache_ref;

/* The cached compiled script for this text and limits, or NULL. A hit
 * holds a reference (*ref_r): give it back with _put(). */
const struct sieve_script *delivery_sieve_cache_get(int64_t owner, const char *text, size_t len,
						    const struct sieve_limits *lim,
						    struct delivery_sieve_cache_ref **ref_r);
/* Hand a freshly compiled script to the cache. Returns the reference to
 * _put() later, or NULL when every entry is in use: the caller still
 * owns `script` then. */
struct delivery_sieve_cache_ref *delivery_sieve_cache_add(int64_t owner, const char *text,
							  size_t len,
							  const struct sieve_limits *lim,
							  struct sieve_script *script);
void delivery_sieve_cache_put(struct delivery_sieve_cache_ref *ref);
/* Free every entry without users (tests, shutdown). */
void delivery_sieve_cache_clear(void);
/* Counters since start: lookups that hit through the owner hint, hits
 * through the text hash, and misses (tests, metrics). */
void delivery_sieve_cache_stats(uint64_t *owner_hits_r, uint64_t *hash_hits_r,
				uint64_t *misses_r);
#endif
