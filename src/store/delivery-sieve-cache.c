/*
 * delivery-sieve-cache: see delivery-sieve-cache.h.
 */
#include "store/delivery-sieve-cache.h"
#include "lib/alloc.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct delivery_sieve_cache_ref {
	uint64_t hash, used;
	char *text;
	size_t len;
	struct sieve_script *script;
	unsigned refs;
	struct sieve_limits lim;	/* compiled with these (part of the key) */
};

struct owner_hint {
	int64_t owner;
	struct delivery_sieve_cache_ref *entry;
};

static struct delivery_sieve_cache_ref entries[DELIVERY_SIEVE_CACHE_SIZE];
static struct owner_hint owners[DELIVERY_SIEVE_CACHE_OWNERS];
static uint64_t clock_now, n_owner_hits, n_hash_hits, n_misses;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool limits_equal(const struct sieve_limits *a, const struct sieve_limits *b)
{
	return a->max_script_size == b->max_script_size && a->max_nodes == b->max_nodes &&
	       a->max_nesting == b->max_nesting && a->max_include_depth == b->max_include_depth &&
	       a->max_steps == b->max_steps && a->max_actions == b->max_actions &&
	       a->max_redirects == b->max_redirects &&
	       a->max_variable_size == b->max_variable_size &&
	       a->max_variables == b->max_variables && a->max_body_scan == b->max_body_scan &&
	       a->max_run_ms == b->max_run_ms;
}

/* A 64-bit hash eight bytes at a time (multiply and rotate); only to
 * find candidates: a hit is always confirmed by comparing the text. */
static uint64_t text_hash(const char *text, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, text + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	uint64_t tail = 0;
	memcpy(&tail, text + i, len - i);
	h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

static bool same(const struct delivery_sieve_cache_ref *e, const char *text, size_t len,
		 const struct sieve_limits *lim)
{
	return e->script != NULL && e->len == len && limits_equal(&e->lim, lim) &&
	       memcmp(e->text, text, len) == 0;
}

static struct owner_hint *hint_slot(int64_t owner)
{
	uint64_t k = (uint64_t)owner * 0x9e3779b97f4a7c15ull;
	return &owners[(k >> 40) % DELIVERY_SIEVE_CACHE_OWNERS];
}

const struct sieve_script *delivery_sieve_cache_get(int64_t owner, const char *text, size_t len,
						    const struct sieve_limits *lim,
						    struct delivery_sieve_cache_ref **ref_r)
{
	*ref_r = NULL;
	struct owner_hint *hs = hint_slot(owner);
	pthread_mutex_lock(&lock);
	struct delivery_sieve_cache_ref *e = NULL;
	if (hs->owner == owner && hs->entry != NULL && same(hs->entry, text, len, lim)) {
		e = hs->entry;
		n_owner_hits++;
	} else {
		/* hash outside the lock would be nicer; it is a few microseconds
		 * for the largest script, and misses are rare */
		uint64_t h = text_hash(text, len);
		for (size_t i = 0; i < DELIVERY_SIEVE_CACHE_SIZE && e == NULL; i++)
			if (entries[i].hash == h && same(&entries[i], text, len, lim))
				e = &entries[i];
		if (e != NULL) {
			n_hash_hits++;
			*hs = (struct owner_hint){.owner = owner, .entry = e};
		} else {
			n_misses++;
		}
	}
	if (e != NULL) {
		e->refs++;
		e->used = ++clock_now;
		*ref_r = e;
	}
	pthread_mutex_unlock(&lock);
	return e != NULL ? e->script : NULL;
}

struct delivery_sieve_cache_ref *delivery_sieve_cache_add(int64_t owner, const char *text,
							  size_t len,
							  const struct sieve_limits *lim,
							  struct sieve_script *script)
{
	uint64_t h = text_hash(text, len);
	char *copy = xmemdup(text, len);
	pthread_mutex_lock(&lock);
	struct delivery_sieve_cache_ref *slot = NULL;
	for (size_t i = 0; i < DELIVERY_SIEVE_CACHE_SIZE; i++) {
		struct delivery_sieve_cache_ref *e = &entries[i];
		if (e->refs == 0 && (slot == NULL || e->script == NULL || e->used < slot->used))
			slot = e;
		if (slot != NULL && slot->script == NULL)
			break;
	}
	if (slot == NULL) {
		pthread_mutex_unlock(&lock);
		free(copy);
		return NULL;
	}
	struct sieve_script *old = slot->script;
	char *old_text = slot->text;
	/* hints to the replaced entry now point at a different text: the
	 * text compare in _get() rejects them, so nothing to clear */
	*slot = (struct delivery_sieve_cache_ref){.hash = h, .used = ++clock_now, .text = copy,
						  .len = len, .script = script, .refs = 1,
						  .lim = *lim};
	*hint_slot(owner) = (struct owner_hint){.owner = owner, .entry = slot};
	pthread_mutex_unlock(&lock);
	sieve_script_free(old);
	free(old_text);
	return slot;
}

void delivery_sieve_cache_put(struct delivery_sieve_cache_ref *ref)
{
	if (ref == NULL)
		return;
	pthread_mutex_lock(&lock);
	ref->refs--;
	pthread_mutex_unlock(&lock);
}

void delivery_sieve_cache_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < DELIVERY_SIEVE_CACHE_SIZE; i++) {
		struct delivery_sieve_cache_ref *e = &entries[i];
		if (e->refs != 0)
			continue;
		sieve_script_free(e->script);
		free(e->text);
		*e = (struct delivery_sieve_cache_ref){0};
	}
	pthread_mutex_unlock(&lock);
}

void delivery_sieve_cache_stats(uint64_t *owner_hits_r, uint64_t *hash_hits_r,
				uint64_t *misses_r)
{
	pthread_mutex_lock(&lock);
	*owner_hits_r = n_owner_hits;
	*hash_hits_r = n_hash_hits;
	*misses_r = n_misses;
	pthread_mutex_unlock(&lock);
}
