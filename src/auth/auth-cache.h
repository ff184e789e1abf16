/*
 * auth-cache: the successful password logins of the last minutes, so a
 * client that reconnects every few minutes (a phone, a POP3 poller) does
 * not pay a yescrypt check each time.
 *
 * What is kept, per entry: a key, the account id, a fingerprint of the
 * stored hash the password matched (the account's, or one app password's)
 * and the time. The key is HMAC-SHA256(process key, login address NUL
 * password), the fingerprint HMAC-SHA256(process key, stored hash); the
 * process key is random, made once per process and never leaves it. So
 * the cache holds neither a password nor a plain hash of one, and nothing
 * in it can be tested offline against a guess.
 *
 * The fingerprint is what keeps the cache honest: a hit counts only after
 * the caller re-read the account and found the same id, not disabled, and
 * a current stored hash with the same fingerprint. A changed password, a
 * revoked app password, a disabled or deleted account therefore misses at
 * once, whichever path made the change (CLI, control socket, restore).
 *
 * Bounded (auth.cache_size entries, least recently used evicted) and
 * timed (auth.cache_ttl from the successful check, not extended by hits).
 * Every function may be called from any thread (one mutex). Times are
 * passed in by the caller (milliseconds, any monotonic origin), so tests
 * control the clock.
 */
#ifndef ROOST_AUTH_CACHE_H
#define ROOST_AUTH_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_CACHE_HASH_LEN 32
/* The largest auth.cache_size accepted (about 100 bytes an entry). */
#define AUTH_CACHE_MAX_ENTRIES 1000000

struct auth_cache_entry {
	int64_t account_id;
	bool app; /* the fingerprint is of an app password's hash */
	unsigned char fingerprint[AUTH_CACHE_HASH_LEN];
};

/* Empties the cache and sets its bounds; size 0 or ttl_ms 0 turns it off.
 * Without randomness for the process key the cache stays off. */
void auth_cache_configure(size_t size, int64_t ttl_ms);
bool auth_cache_enabled(void);
/* The entry key of a login: HMAC of the normalised address and password. */
void auth_cache_key(const char *address, const char *password,
		    unsigned char key_r[AUTH_CACHE_HASH_LEN]);
/* The fingerprint of a stored password hash. */
void auth_cache_fingerprint(const char *pwhash, unsigned char fp_r[AUTH_CACHE_HASH_LEN]);
/* A live entry for key (younger than the TTL at now_ms): true and a copy
 * in *entry_r; it becomes the most recently used. Counts a hit or miss. */
bool auth_cache_lookup(const unsigned char key[AUTH_CACHE_HASH_LEN], int64_t now_ms,
		       struct auth_cache_entry *entry_r);
/* After a successful full check (a replaced entry is overwritten). */
void auth_cache_insert(const unsigned char key[AUTH_CACHE_HASH_LEN],
		       const struct auth_cache_entry *entry, int64_t now_ms);
void auth_cache_forget(const unsigned char key[AUTH_CACHE_HASH_LEN]);
/* Drops every entry of the account (an administrator's change). */
void auth_cache_forget_account(int64_t account_id);
/* Entries held (expired ones included until evicted or looked up). */
size_t auth_cache_count(void);
#endif
