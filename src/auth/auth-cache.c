/*
 * auth-cache: see auth-cache.h. A fixed array of slots, allocated when the
 * cache is configured: a hash table of slot indices (the keys are HMAC
 * outputs, so their first bytes are already uniform) and a doubly linked
 * least-recently-used list through the same slots. Nothing grows after
 * start-up, so a login storm cannot make the cache use more memory.
 */
#include "auth/auth-cache.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NONE (-1)

struct slot {
	unsigned char key[AUTH_CACHE_HASH_LEN];
	struct auth_cache_entry entry;
	int64_t born_ms;
	int32_t prev, next; /* LRU list (or the free list, through next) */
	int32_t hnext;	    /* bucket chain */
	bool used;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static int32_t *buckets;
static size_t nslots, nbuckets, count;
static int32_t lru_head = NONE, lru_tail = NONE, free_head = NONE;
static int64_t ttl_ms;

/* The process key: random, made once, never written anywhere. */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static unsigned char process_key[32];
static bool process_key_ready;

static void process_key_init(void)
{
	process_key_ready = RAND_bytes(process_key, sizeof(process_key)) == 1;
}

static void hmac2(const void *a, size_t alen, const void *b, size_t blen,
		  unsigned char out[AUTH_CACHE_HASH_LEN])
{
	pthread_once(&key_once, process_key_init);
	unsigned char *msg = xmalloc(alen + blen + 1);
	memcpy(msg, a, alen);
	memcpy(msg + alen, b, blen);
	unsigned int n = AUTH_CACHE_HASH_LEN;
	if (HMAC(EVP_sha256(), process_key, sizeof(process_key), msg, alen + blen, out, &n) == NULL)
		fatal("auth-cache: HMAC-SHA256 failed");
	OPENSSL_cleanse(msg, alen + blen);
	free(msg);
}

void auth_cache_key(const char *address, const char *password,
		    unsigned char key_r[AUTH_CACHE_HASH_LEN])
{
	/* the NUL ends the address: "a"+"bc" and "ab"+"c" differ */
	hmac2(address, strlen(address) + 1, password, strlen(password), key_r);
}

void auth_cache_fingerprint(const char *pwhash, unsigned char fp_r[AUTH_CACHE_HASH_LEN])
{
	/* a different first byte from any key: a fingerprint is never a key */
	hmac2("\1fp", 3, pwhash, strlen(pwhash), fp_r);
}

static size_t bucket_of(const unsigned char key[AUTH_CACHE_HASH_LEN])
{
	uint64_t v;
	memcpy(&v, key, sizeof(v));
	return (size_t)(v & (nbuckets - 1));
}

static int32_t find(const unsigned char key[AUTH_CACHE_HASH_LEN])
{
	for (int32_t i = buckets[bucket_of(key)]; i != NONE; i = slots[i].hnext)
		if (CRYPTO_memcmp(slots[i].key, key, AUTH_CACHE_HASH_LEN) == 0)
			return i;
	return NONE;
}

static void lru_unlink(int32_t i)
{
	struct slot *s = &slots[i];
	if (s->prev != NONE)
		slots[s->prev].next = s->next;
	else
		lru_head = s->next;
	if (s->next != NONE)
		slots[s->next].prev = s->prev;
	else
		lru_tail = s->prev;
	s->prev = s->next = NONE;
}

static void lru_push_front(int32_t i)
{
	struct slot *s = &slots[i];
	s->prev = NONE;
	s->next = lru_head;
	if (lru_head != NONE)
		slots[lru_head].prev = i;
	lru_head = i;
	if (lru_tail == NONE)
		lru_tail = i;
}

static void slot_remove(int32_t i)
{
	int32_t *p = &buckets[bucket_of(slots[i].key)];
	while (*p != i)
		p = &slots[*p].hnext;
	*p = slots[i].hnext;
	lru_unlink(i);
	OPENSSL_cleanse(&slots[i], sizeof(slots[i]));
	slots[i].prev = slots[i].hnext = NONE;
	slots[i].next = free_head;
	free_head = i;
	count--;
}

void auth_cache_configure(size_t size, int64_t ttl)
{
	pthread_once(&key_once, process_key_init);
	if (size > AUTH_CACHE_MAX_ENTRIES)
		size = AUTH_CACHE_MAX_ENTRIES;
	if (ttl <= 0 || !process_key_ready)
		size = 0;
	pthread_mutex_lock(&lock);
	if (slots != NULL)
		OPENSSL_cleanse(slots, nslots * sizeof(*slots));
	free(slots);
	free(buckets);
	slots = NULL;
	buckets = NULL;
	nslots = nbuckets = count = 0;
	lru_head = lru_tail = free_head = NONE;
	ttl_ms = ttl;
	if (size > 0) {
		nslots = size;
		slots = xcalloc(nslots, sizeof(*slots));
		for (nbuckets = 1; nbuckets < nslots; nbuckets *= 2)
			;
		buckets = xmalloc(nbuckets * sizeof(*buckets));
		for (size_t b = 0; b < nbuckets; b++)
			buckets[b] = NONE;
		for (size_t i = nslots; i-- > 0;) {
			slots[i].prev = slots[i].hnext = NONE;
			slots[i].next = free_head;
			free_head = (int32_t)i;
		}
	}
	pthread_mutex_unlock(&lock);
}

bool auth_cache_enabled(void)
{
	pthread_mutex_lock(&lock);
	bool on = nslots > 0;
	pthread_mutex_unlock(&lock);
	return on;
}

bool auth_cache_lookup(const unsigned char key[AUTH_CACHE_HASH_LEN], int64_t now_ms,
		       struct auth_cache_entry *entry_r)
{
	bool hit = false;
	pthread_mutex_lock(&lock);
	int32_t i = nslots > 0 ? find(key) : NONE;
	if (i != NONE) {
		int64_t age = now_ms - slots[i].born_ms;
		if (age < 0 || age >= ttl_ms) {
			slot_remove(i); /* expired (or the clock went back) */
		} else {
			lru_unlink(i);
			lru_push_front(i);
			*entry_r = slots[i].entry;
			hit = true;
		}
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

void auth_cache_insert(const unsigned char key[AUTH_CACHE_HASH_LEN],
		       const struct auth_cache_entry *entry, int64_t now_ms)
{
	pthread_mutex_lock(&lock);
	if (nslots == 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	int32_t i = find(key);
	if (i != NONE) {
		lru_unlink(i);
	} else {
		if (free_head == NONE)
			slot_remove(lru_tail); /* full: the least recently used goes */
		i = free_head;
		free_head = slots[i].next;
		memcpy(slots[i].key, key, AUTH_CACHE_HASH_LEN);
		size_t b = bucket_of(key);
		slots[i].hnext = buckets[b];
		buckets[b] = i;
		slots[i].used = true;
		count++;
	}
	slots[i].entry = *entry;
	slots[i].born_ms = now_ms;
	lru_push_front(i);
	pthread_mutex_unlock(&lock);
}

void auth_cache_forget(const unsigned char key[AUTH_CACHE_HASH_LEN])
{
	pthread_mutex_lock(&lock);
	int32_t i = nslots > 0 ? find(key) : NONE;
	if (i != NONE)
		slot_remove(i);
	pthread_mutex_unlock(&lock);
}

void auth_cache_forget_account(int64_t account_id)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nslots; i++)
		if (slots[i].used && slots[i].entry.account_id == account_id)
			slot_remove((int32_t)i);
	pthread_mutex_unlock(&lock);
}

size_t auth_cache_count(void)
{
	pthread_mutex_lock(&lock);
	size_t n = count;
	pthread_mutex_unlock(&lock);
	return n;
}
