/*
 * auth-throttle: see auth-throttle.h.
 *
 * Records live in a set-associative table: a record's key is a digest of
 * a per-process random secret, its kind, the network and (for user
 * records) the folded user name, so nobody outside can aim many names at
 * one set to push a victim's record out. Keys are 128 bits of SHA-256:
 * two user names sharing a record is out of reach.
 */
#include "auth/auth-throttle.h"
#include "lib/log.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define KEY_LEN 16
/* Longest user name folded into a key (auth.h refuses longer ones). */
#define THROTTLE_USER_MAX 320
/* At most one "table full" warning per this many milliseconds. */
#define EVICT_WARN_MS (60 * 1000)
/* Failure counts saturate here (2^64 steps of delay are long capped). */
#define FAILURES_MAX 60000

struct record {
	unsigned char key[KEY_LEN];
	unsigned failures;	/* 0 and not blocked: the way is free */
	int64_t last_ms;	/* last failure */
	int64_t blocked_until;	/* network records only */
};

static struct record table[AUTH_THROTTLE_SETS][AUTH_THROTTLE_WAYS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct auth_throttle_settings settings = {
	.delay_ms = 1000, .delay_max_ms = 15000, .block_failures = 0, .block_ms = 0};
static unsigned char secret[16];
static bool secret_set;
static uint64_t evictions, evictions_warned;
static int64_t evict_warn_at;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void auth_throttle_net(const char *ip, char net_r[AUTH_THROTTLE_NET_MAX + 1])
{
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			inet_ntop(AF_INET, &a4, net_r, AUTH_THROTTLE_NET_MAX + 1);
			return;
		}
		/* RFC 4291 2.5.4: a /64 is one subnet, usually one host. */
		memset(&a6.s6_addr[8], 0, 8);
		char text[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &a6, text, sizeof(text));
		snprintf(net_r, AUTH_THROTTLE_NET_MAX + 1, "%s/64", text);
		return;
	}
	snprintf(net_r, AUTH_THROTTLE_NET_MAX + 1, "%s", ip);
}

/* Caller holds lock. */
static void make_key(const char *net, const char *user, unsigned char key_r[KEY_LEN])
{
	unsigned char in[sizeof(secret) + 1 + AUTH_THROTTLE_NET_MAX + 1 + THROTTLE_USER_MAX];
	size_t n = 0;
	if (!secret_set) {
		if (RAND_bytes(secret, sizeof(secret)) != 1)
			memset(secret, 0x5a, sizeof(secret)); /* keys stay exact, only guessable */
		secret_set = true;
	}
	memcpy(in, secret, sizeof(secret));
	n += sizeof(secret);
	in[n++] = user == NULL ? 'n' : 'u';
	size_t nl = strlen(net);
	memcpy(in + n, net, nl + 1);
	n += nl + 1;
	/* Case never tells two accounts apart (address.c folds it too). */
	for (const char *p = user; p != NULL && *p != '\0' && n < sizeof(in); p++)
		in[n++] = (unsigned char)tolower((unsigned char)*p);
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(in, n, md);
	memcpy(key_r, md, KEY_LEN);
}

static size_t set_of(const unsigned char *key)
{
	return ((size_t)key[0] | (size_t)key[1] << 8) % AUTH_THROTTLE_SETS;
}

static bool record_live(const struct record *r, int64_t now)
{
	if (r->blocked_until > now)
		return true;
	return r->failures > 0 && now - r->last_ms <= AUTH_THROTTLE_FORGET_MS;
}

/* The live record for key, or NULL. Caller holds lock. */
static struct record *find(const unsigned char *key, int64_t now)
{
	struct record *set = table[set_of(key)];
	for (int i = 0; i < AUTH_THROTTLE_WAYS; i++) {
		if (memcmp(set[i].key, key, KEY_LEN) != 0)
			continue;
		if (!record_live(&set[i], now)) {
			memset(&set[i], 0, sizeof(set[i]));
			return NULL;
		}
		return &set[i];
	}
	return NULL;
}

/* find(), or a new record in a free way or the way whose last failure is
 * oldest (blocked networks are kept while anything else can go). */
static struct record *find_or_add(const unsigned char *key, int64_t now)
{
	struct record *r = find(key, now);
	if (r != NULL)
		return r;
	struct record *set = table[set_of(key)];
	struct record *victim = NULL;
	for (int i = 0; i < AUTH_THROTTLE_WAYS; i++) {
		struct record *w = &set[i];
		if (!record_live(w, now)) {
			victim = w;
			break;
		}
		bool wb = w->blocked_until > now;
		bool vb = victim != NULL && victim->blocked_until > now;
		if (victim == NULL || (vb && !wb) || (vb == wb && w->last_ms < victim->last_ms))
			victim = w;
	}
	if (record_live(victim, now))
		evictions++;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, KEY_LEN);
	return victim;
}

static int64_t step_delay(unsigned failures)
{
	if (failures == 0)
		return 0;
	int64_t d = settings.delay_ms;
	/* stop doubling once capped: no overflow */
	for (unsigned i = 0; i < failures && d < settings.delay_max_ms; i++)
		d *= 2;
	return d > settings.delay_max_ms ? settings.delay_max_ms : d;
}

/* Fill *r from the records. Caller holds lock. */
static void state_of(const struct record *net, const struct record *user, int64_t now,
		     struct auth_throttle_state *r)
{
	r->net_failures = net != NULL ? net->failures : 0;
	r->user_failures = user != NULL ? user->failures : 0;
	r->blocked_ms = net != NULL && net->blocked_until > now ? net->blocked_until - now : 0;
	unsigned f = r->net_failures > r->user_failures ? r->net_failures : r->user_failures;
	r->delay_ms = r->blocked_ms > 0 ? settings.delay_max_ms : step_delay(f);
}

void auth_throttle_configure(const struct auth_throttle_settings *set)
{
	pthread_mutex_lock(&lock);
	settings = *set;
	if (settings.delay_ms < 0)
		settings.delay_ms = 0;
	if (settings.delay_max_ms < settings.delay_ms)
		settings.delay_max_ms = settings.delay_ms;
	if (settings.block_failures < 0)
		settings.block_failures = 0;
	if (settings.block_ms < 0)
		settings.block_ms = 0;
	pthread_mutex_unlock(&lock);
}

void auth_throttle_settings(struct auth_throttle_settings *set_r)
{
	pthread_mutex_lock(&lock);
	*set_r = settings;
	pthread_mutex_unlock(&lock);
}

void auth_throttle_reset(void)
{
	pthread_mutex_lock(&lock);
	memset(table, 0, sizeof(table));
	evictions = evictions_warned = 0;
	pthread_mutex_unlock(&lock);
}

void auth_throttle_query(const char *ip, const char *user, struct auth_throttle_state *r)
{
	unsigned char nk[KEY_LEN], uk[KEY_LEN];
	memset(r, 0, sizeof(*r));
	auth_throttle_net(ip, r->net);
	int64_t now = now_ms();
	pthread_mutex_lock(&lock);
	make_key(r->net, NULL, nk);
	make_key(r->net, user, uk);
	state_of(find(nk, now), find(uk, now), now, r);
	pthread_mutex_unlock(&lock);
}

void auth_throttle_failed(const char *ip, const char *user, struct auth_throttle_state *r)
{
	unsigned char nk[KEY_LEN], uk[KEY_LEN];
	memset(r, 0, sizeof(*r));
	auth_throttle_net(ip, r->net);
	int64_t now = now_ms();
	pthread_mutex_lock(&lock);
	make_key(r->net, NULL, nk);
	make_key(r->net, user, uk);
	struct record *n = find_or_add(nk, now);
	struct record *u = find_or_add(uk, now);
	if (n == u) /* cannot happen with distinct keys; be safe */
		u = NULL;
	if (n->blocked_until <= now && n->blocked_until != 0) {
		/* a block that ran out starts the count over */
		n->blocked_until = 0;
		n->failures = 0;
	}
	if (n->failures < FAILURES_MAX)
		n->failures++;
	n->last_ms = now;
	if (u != NULL) {
		if (u->failures < FAILURES_MAX)
			u->failures++;
		u->last_ms = now;
	}
	if (settings.block_failures > 0 && n->blocked_until == 0 &&
	    n->failures >= settings.block_failures) {
		n->blocked_until = now + (settings.block_ms > 0 ? settings.block_ms : 1);
		r->block_started = true;
	}
	state_of(n, u, now, r);
	uint64_t ev = evictions;
	bool warn = ev > evictions_warned && now - evict_warn_at >= EVICT_WARN_MS;
	if (warn) {
		evictions_warned = ev;
		evict_warn_at = now;
	}
	pthread_mutex_unlock(&lock);
	if (warn)
		log_warn("auth throttle table full: %llu records evicted so far (%d x %d records)",
			 (unsigned long long)ev, AUTH_THROTTLE_SETS, AUTH_THROTTLE_WAYS);
}

void auth_throttle_succeeded(const char *ip, const char *user)
{
	char net[AUTH_THROTTLE_NET_MAX + 1];
	unsigned char nk[KEY_LEN], uk[KEY_LEN];
	auth_throttle_net(ip, net);
	int64_t now = now_ms();
	pthread_mutex_lock(&lock);
	make_key(net, NULL, nk);
	make_key(net, user, uk);
	struct record *u = find(uk, now);
	if (u != NULL) {
		struct record *n = find(nk, now);
		if (n != NULL && n->blocked_until == 0)
			n->failures = n->failures > u->failures ? n->failures - u->failures : 0;
		memset(u, 0, sizeof(*u));
	}
	pthread_mutex_unlock(&lock);
}
