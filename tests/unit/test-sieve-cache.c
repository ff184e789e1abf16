/* unit: delivery-sieve-cache: hits by owner and by text, a changed text
 * misses, limits are part of the key, the cache stays bounded and never
 * replaces an entry in use. */
#include "unit.h"
#include "lib/alloc.h"
#include "store/delivery-sieve-cache.h"
#include <stdio.h>
#include <string.h>

static struct sieve_script *compile(const char *text, const struct sieve_limits *lim)
{
	struct sieve_diag d;
	return sieve_compile(text, strlen(text), lim, NULL, NULL, &d);
}

TEST(sieve_cache_keys)
{
	delivery_sieve_cache_clear();
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	const char *a = "keep;", *b = "discard;";
	struct delivery_sieve_cache_ref *ref, *ref2;
	uint64_t oh0, hh0, m0, oh, hh, m;
	delivery_sieve_cache_stats(&oh0, &hh0, &m0);
	CHECK(delivery_sieve_cache_get(7, a, strlen(a), &lim, &ref) == NULL);
	CHECK(ref == NULL);
	struct sieve_script *sa = compile(a, &lim);
	ref = delivery_sieve_cache_add(7, a, strlen(a), &lim, sa);
	CHECK(ref != NULL);
	delivery_sieve_cache_put(ref);
	/* the owner's hint */
	CHECK(delivery_sieve_cache_get(7, a, strlen(a), &lim, &ref) == sa);
	delivery_sieve_cache_put(ref);
	/* another owner with the same text: found by the hash */
	CHECK(delivery_sieve_cache_get(8, a, strlen(a), &lim, &ref) == sa);
	delivery_sieve_cache_put(ref);
	delivery_sieve_cache_stats(&oh, &hh, &m);
	CHECK_INT((int)(oh - oh0), 1);
	CHECK_INT((int)(hh - hh0), 1);
	CHECK_INT((int)(m - m0), 1);
	/* the owner changed its script: the old entry is not returned */
	CHECK(delivery_sieve_cache_get(7, b, strlen(b), &lim, &ref) == NULL);
	/* same length, different text */
	CHECK(delivery_sieve_cache_get(7, "stop;", 5, &lim, &ref) == NULL);
	/* other limits: another key */
	struct sieve_limits lim2 = lim;
	lim2.max_steps = 10;
	CHECK(delivery_sieve_cache_get(7, a, strlen(a), &lim2, &ref) == NULL);
	/* an entry in use survives a full cache; adds then return NULL */
	CHECK(delivery_sieve_cache_get(7, a, strlen(a), &lim, &ref) == sa);
	struct delivery_sieve_cache_ref *held[DELIVERY_SIEVE_CACHE_SIZE];
	struct sieve_script *owned = NULL;
	size_t nheld = 0;
	for (int i = 0; i < DELIVERY_SIEVE_CACHE_SIZE + 3; i++) {
		char text[64];
		snprintf(text, sizeof(text), "if true { keep; } # %d", i);
		struct sieve_script *s = compile(text, &lim);
		ref2 = delivery_sieve_cache_add(100 + i, text, strlen(text), &lim, s);
		if (ref2 != NULL)
			held[nheld++] = ref2;
		else {
			sieve_script_free(owned);
			owned = s;
		}
	}
	CHECK_INT((int)nheld, DELIVERY_SIEVE_CACHE_SIZE - 1);
	CHECK(owned != NULL);
	sieve_script_free(owned);
	CHECK(delivery_sieve_cache_get(7, a, strlen(a), &lim, &ref2) == sa);
	delivery_sieve_cache_put(ref2);
	delivery_sieve_cache_put(ref);
	for (size_t i = 0; i < nheld; i++)
		delivery_sieve_cache_put(held[i]);
	delivery_sieve_cache_clear();
	CHECK(delivery_sieve_cache_get(7, a, strlen(a), &lim, &ref) == NULL);
}

TEST(sieve_cache_owner_collision)
{
	/* two owners in one hint slot (or not): both still hit */
	delivery_sieve_cache_clear();
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	struct delivery_sieve_cache_ref *ref;
	const char *t1 = "keep;", *t2 = "discard;";
	struct sieve_script *s1 = compile(t1, &lim), *s2 = compile(t2, &lim);
	delivery_sieve_cache_put(delivery_sieve_cache_add(1, t1, strlen(t1), &lim, s1));
	delivery_sieve_cache_put(
		delivery_sieve_cache_add(1 + DELIVERY_SIEVE_CACHE_OWNERS, t2, strlen(t2), &lim, s2));
	for (int round = 0; round < 3; round++) {
		CHECK(delivery_sieve_cache_get(1, t1, strlen(t1), &lim, &ref) == s1);
		delivery_sieve_cache_put(ref);
		CHECK(delivery_sieve_cache_get(1 + DELIVERY_SIEVE_CACHE_OWNERS, t2, strlen(t2), &lim,
					       &ref) == s2);
		delivery_sieve_cache_put(ref);
		CHECK(delivery_sieve_cache_get(DELIVERY_SIEVE_OWNER_BEFORE, t2, strlen(t2), &lim,
					       &ref) == s2);
		delivery_sieve_cache_put(ref);
	}
	delivery_sieve_cache_clear();
}
