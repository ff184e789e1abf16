/* test-auth-cache: the successful-login cache (auth/auth-cache.h) with
 * the clock passed in: hit, miss, TTL expiry, LRU eviction at the bound,
 * forgetting, and what its keys depend on. */
#include "unit.h"
#include "auth/auth-cache.h"
#include <stdio.h>
#include <string.h>

static struct auth_cache_entry entry(int64_t id, const char *pwhash, bool app)
{
	struct auth_cache_entry e = {.account_id = id, .app = app};
	auth_cache_fingerprint(pwhash, e.fingerprint);
	return e;
}

TEST(auth_cache_keys)
{
	unsigned char a[AUTH_CACHE_HASH_LEN], b[AUTH_CACHE_HASH_LEN], c[AUTH_CACHE_HASH_LEN];
	auth_cache_key("bob@example.com", "pw", a);
	auth_cache_key("bob@example.com", "pw", b);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	auth_cache_key("bob@example.com", "pW", c);
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	/* the address/password boundary is part of the key */
	auth_cache_key("ab", "c", b);
	auth_cache_key("a", "bc", c);
	CHECK(memcmp(b, c, sizeof(b)) != 0);
	/* keyed: not a plain SHA-256 of the password, nor the password */
	CHECK(memmem(a, sizeof(a), "pw", 2) == NULL);
	unsigned char f1[AUTH_CACHE_HASH_LEN], f2[AUTH_CACHE_HASH_LEN];
	auth_cache_fingerprint("$y$hash1", f1);
	auth_cache_fingerprint("$y$hash2", f2);
	CHECK(memcmp(f1, f2, sizeof(f1)) != 0);
}

TEST(auth_cache_hit_miss_ttl)
{
	auth_cache_configure(4, 300000);
	CHECK(auth_cache_enabled());
	unsigned char k[AUTH_CACHE_HASH_LEN], wrong[AUTH_CACHE_HASH_LEN];
	auth_cache_key("bob@example.com", "right", k);
	auth_cache_key("bob@example.com", "wrong", wrong);
	struct auth_cache_entry e = entry(7, "$y$h", false), got;
	CHECK(!auth_cache_lookup(k, 1000, &got));
	auth_cache_insert(k, &e, 1000);
	CHECK_INT(auth_cache_count(), 1);
	memset(&got, 0, sizeof(got));
	CHECK(auth_cache_lookup(k, 1000 + 299999, &got));
	CHECK_INT(got.account_id, 7);
	CHECK(!got.app);
	CHECK(memcmp(got.fingerprint, e.fingerprint, sizeof(e.fingerprint)) == 0);
	CHECK(!auth_cache_lookup(wrong, 2000, &got));
	/* a hit does not extend the life: expired at TTL from the insert */
	CHECK(!auth_cache_lookup(k, 1000 + 300000, &got));
	CHECK_INT(auth_cache_count(), 0);
	/* a clock that went back does not make an entry live for longer */
	auth_cache_insert(k, &e, 5000);
	CHECK(!auth_cache_lookup(k, 4999, &got));
	auth_cache_configure(0, 0);
}

TEST(auth_cache_eviction_lru)
{
	auth_cache_configure(3, 600000);
	unsigned char k[5][AUTH_CACHE_HASH_LEN];
	struct auth_cache_entry got;
	for (int i = 0; i < 5; i++) {
		char pw[8] = {'p', (char)('0' + i), 0};
		auth_cache_key("u@example.com", pw, k[i]);
	}
	for (int i = 0; i < 3; i++) {
		struct auth_cache_entry e = entry(i + 1, "$y$h", false);
		auth_cache_insert(k[i], &e, 10);
	}
	CHECK_INT(auth_cache_count(), 3);
	CHECK(auth_cache_lookup(k[0], 20, &got)); /* 0 is now the most recent */
	struct auth_cache_entry e3 = entry(4, "$y$h", false);
	auth_cache_insert(k[3], &e3, 30); /* evicts 1, the least recent */
	CHECK_INT(auth_cache_count(), 3);
	CHECK(!auth_cache_lookup(k[1], 40, &got));
	CHECK(auth_cache_lookup(k[0], 40, &got));
	CHECK_INT(got.account_id, 1);
	CHECK(auth_cache_lookup(k[2], 40, &got));
	CHECK(auth_cache_lookup(k[3], 40, &got));
	/* re-inserting a key replaces it, no second slot */
	struct auth_cache_entry e9 = entry(9, "$y$other", true);
	auth_cache_insert(k[3], &e9, 50);
	CHECK_INT(auth_cache_count(), 3);
	CHECK(auth_cache_lookup(k[3], 60, &got));
	CHECK_INT(got.account_id, 9);
	CHECK(got.app);
	/* many inserts stay at the bound */
	for (int n = 0; n < 100; n++) {
		unsigned char kn[AUTH_CACHE_HASH_LEN];
		char pw[16];
		snprintf(pw, sizeof(pw), "x%d", n);
		auth_cache_key("v@example.com", pw, kn);
		struct auth_cache_entry en = entry(100 + n, "$y$h", false);
		auth_cache_insert(kn, &en, 70);
		CHECK(auth_cache_count() <= 3);
	}
	auth_cache_configure(0, 0);
}

TEST(auth_cache_forget)
{
	auth_cache_configure(8, 600000);
	unsigned char a[AUTH_CACHE_HASH_LEN], b[AUTH_CACHE_HASH_LEN], c[AUTH_CACHE_HASH_LEN];
	auth_cache_key("a@example.com", "pw", a);
	auth_cache_key("a@example.com", "app-pw", b);
	auth_cache_key("c@example.com", "pw", c);
	struct auth_cache_entry ea = entry(1, "$y$a", false), eb = entry(1, "$y$app", true),
				ec = entry(2, "$y$c", false), got;
	auth_cache_insert(a, &ea, 0);
	auth_cache_insert(b, &eb, 0);
	auth_cache_insert(c, &ec, 0);
	auth_cache_forget_account(1);
	CHECK(!auth_cache_lookup(a, 1, &got));
	CHECK(!auth_cache_lookup(b, 1, &got));
	CHECK(auth_cache_lookup(c, 1, &got));
	auth_cache_forget(c);
	CHECK(!auth_cache_lookup(c, 1, &got));
	CHECK_INT(auth_cache_count(), 0);
	/* slots freed by forgetting are reused */
	for (int i = 0; i < 8; i++) {
		unsigned char k[AUTH_CACHE_HASH_LEN];
		char pw[8] = {'q', (char)('0' + i), 0};
		auth_cache_key("a@example.com", pw, k);
		auth_cache_insert(k, &ea, 2);
	}
	CHECK_INT(auth_cache_count(), 8);
	auth_cache_configure(0, 0);
}

TEST(auth_cache_off)
{
	auth_cache_configure(100, 0); /* ttl 0 turns it off */
	CHECK(!auth_cache_enabled());
	unsigned char k[AUTH_CACHE_HASH_LEN];
	auth_cache_key("a@example.com", "pw", k);
	struct auth_cache_entry e = entry(1, "$y$a", false), got;
	auth_cache_insert(k, &e, 0);
	CHECK(!auth_cache_lookup(k, 1, &got));
	CHECK_INT(auth_cache_count(), 0);
	auth_cache_configure(0, 300000); /* size 0 too */
	CHECK(!auth_cache_enabled());
}
