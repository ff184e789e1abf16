/*
 * auth: password hashing, login checks and failed-login throttling (see
 * auth.h).
 *
 * Hashes go through libcrypt's crypt_ra(), so every scheme libxcrypt
 * knows verifies ($y$ yescrypt, $6$ SHA-512, $2b$ bcrypt, ...); new hashes
 * are always yescrypt with libxcrypt's default cost.
 *
 * Throttling keeps, per source IP, the number of recent failures in a
 * fixed-size set-associative table: AUTH_FAIL_SETS sets of AUTH_FAIL_WAYS
 * entries. An IP hashes to one set; when the set is full the entry with
 * the oldest failure is replaced. Memory is fixed, every operation is
 * O(AUTH_FAIL_WAYS), and a flood of addresses can only push out other
 * addresses' counts, never grow the table.
 */
#include "mail/auth.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/workers.h"
#include "mail/address.h"
#include "store/store.h"
#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

/* A yescrypt hash (default cost) of a random password nobody knows:
 * checked for unknown users so their logins cost what real ones cost. */
static const char dummy_hash[] =
	"$y$j9T$6R7F0G.gmeLHGVBIVOnFX1$7TWr6kacfXm1ZKEVTUA60sIC4AZuxiimeUOKmqga3/8";

char *auth_hash_password(const char *password)
{
	if (strlen(password) > AUTH_MAX_PASSWORD)
		return NULL;
	/* count 0 = libxcrypt's default cost; NULL rbytes = it reads
	 * the salt from the OS random source. */
	char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (salt == NULL)
		return NULL;
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(password, salt, &data, &size);
	char *out = h != NULL && h[0] == '$' ? xstrdup(h) : NULL;
	free(salt);
	if (data != NULL) {
		wipe(data, (size_t)size);
		free(data);
	}
	return out;
}

bool auth_verify_password(const char *password, const char *hash)
{
	/* Failure tokens of crypt(3) start with '*'; an empty or locked ("!")
	 * hash never matches. */
	if (hash == NULL || hash[0] != '$' || strlen(password) > AUTH_MAX_PASSWORD)
		return false;
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(password, hash, &data, &size);
	bool ok = false;
	if (h != NULL && h[0] == '$') {
		size_t hl = strlen(h), want = strlen(hash);
		ok = hl == want && CRYPTO_memcmp(h, hash, hl) == 0;
	}
	if (data != NULL) {
		wipe(data, (size_t)size);
		free(data);
	}
	return ok;
}

enum auth_result auth_login(struct store *s, const char *user, const char *password,
			    int64_t *account_id_r)
{
	char *hash = NULL;
	int64_t id = 0;
	bool known = false, disabled = false;
	enum store_err err = STORE_ENOTFOUND;
	if (strlen(user) <= AUTH_MAX_USERNAME) {
		const char *why;
		char *addr = address_normalize(user, &why);
		if (addr != NULL)
			err = store_account_auth(s, addr, &id, &hash, &disabled);
		known = err == STORE_OK && hash != NULL;
		free(addr);
	}
	bool ok = auth_verify_password(password, known ? hash : dummy_hash) && known;
	/* A disabled account is answered like a wrong password (the client
	 * learns nothing); only the log says why. */
	if (ok && disabled) {
		log_info("login refused: account id %lld is disabled", (long long)id);
		ok = false;
	}
	if (hash != NULL) {
		wipe(hash, strlen(hash));
		free(hash);
	}
	if (ok)
		*account_id_r = id;
	/* a failed read is no verdict on the password (store.h) */
	if (err != STORE_OK && err != STORE_ENOTFOUND)
		return AUTH_TEMPFAIL;
	return ok ? AUTH_OK : AUTH_DENIED;
}

struct auth_request {
	struct store *store;
	char *user, *password;
	enum auth_result result;
	bool cancelled;
	int64_t account_id;
	auth_done_cb *done;
	void *ctx;
};

static void login_work(void *arg)
{
	struct auth_request *r = arg;
	r->result = auth_login(r->store, r->user, r->password, &r->account_id);
	wipe(r->password, strlen(r->password));
}

static void login_done(void *arg)
{
	struct auth_request *r = arg;
	if (!r->cancelled)
		r->done(r->ctx, r->result, r->account_id);
	free(r->user);
	free(r->password);
	free(r);
}

struct auth_request *auth_login_start(struct store *s, const char *user, const char *password,
				      auth_done_cb *done, void *ctx)
{
	struct auth_request *r = xcalloc(1, sizeof(*r));
	r->store = s;
	r->user = xstrdup(user);
	r->password = xstrdup(password);
	r->done = done;
	r->ctx = ctx;
	workers_submit(login_work, login_done, r);
	/* Without worker threads it already completed: nothing to cancel. */
	return workers_running() ? r : NULL;
}

void auth_request_cancel(struct auth_request **req)
{
	if (*req != NULL)
		(*req)->cancelled = true;
	*req = NULL;
}

/* ------------------------------------------------------------------ */
/* Failed-login throttling                                             */

#define AUTH_FAIL_SETS 1024
#define AUTH_FAIL_WAYS 8
/* Longest IP text we key on ("unix", IPv4, IPv6 with zone). */
#define AUTH_FAIL_IP_MAX 63
/* A failure older than this no longer counts. */
#define AUTH_FAIL_FORGET_MS (15 * 60 * 1000)

struct fail_entry {
	char ip[AUTH_FAIL_IP_MAX + 1];
	unsigned failures;
	int64_t last_ms;
};

static struct fail_entry fail_table[AUTH_FAIL_SETS][AUTH_FAIL_WAYS];
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t fail_base_ms = 1000, fail_max_ms = 15000;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a: spreads similar addresses over the sets. */
static size_t fail_set(const char *ip)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)ip; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % AUTH_FAIL_SETS;
}

/* The entry for ip, or NULL. Caller holds fail_lock. */
static struct fail_entry *fail_find(const char *ip, int64_t now)
{
	struct fail_entry *set = fail_table[fail_set(ip)];
	for (int i = 0; i < AUTH_FAIL_WAYS; i++) {
		if (set[i].failures == 0 || strcmp(set[i].ip, ip) != 0)
			continue;
		if (now - set[i].last_ms > AUTH_FAIL_FORGET_MS) {
			set[i].failures = 0;
			return NULL;
		}
		return &set[i];
	}
	return NULL;
}

void auth_fail_configure(int64_t base_ms, int64_t max_ms)
{
	pthread_mutex_lock(&fail_lock);
	fail_base_ms = base_ms < 0 ? 0 : base_ms;
	fail_max_ms = max_ms < fail_base_ms ? fail_base_ms : max_ms;
	pthread_mutex_unlock(&fail_lock);
}

void auth_fail_record(const char *ip)
{
	if (strlen(ip) > AUTH_FAIL_IP_MAX)
		return;
	int64_t now = now_ms();
	pthread_mutex_lock(&fail_lock);
	struct fail_entry *e = fail_find(ip, now);
	if (e == NULL) {
		/* A free way, else the one whose last failure is oldest. */
		struct fail_entry *set = fail_table[fail_set(ip)];
		e = &set[0];
		for (int i = 0; i < AUTH_FAIL_WAYS; i++) {
			if (set[i].failures == 0) {
				e = &set[i];
				break;
			}
			if (set[i].last_ms < e->last_ms)
				e = &set[i];
		}
		memset(e, 0, sizeof(*e));
		memcpy(e->ip, ip, strlen(ip) + 1);
	}
	if (e->failures < 64)
		e->failures++;
	e->last_ms = now;
	pthread_mutex_unlock(&fail_lock);
}

void auth_fail_clear(const char *ip)
{
	pthread_mutex_lock(&fail_lock);
	struct fail_entry *e = fail_find(ip, now_ms());
	if (e != NULL)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&fail_lock);
}

int64_t auth_fail_delay_ms(const char *ip)
{
	int64_t delay = 0;
	pthread_mutex_lock(&fail_lock);
	struct fail_entry *e = fail_find(ip, now_ms());
	if (e != NULL) {
		/* base, 2*base, 4*base, ... capped; stop doubling once capped
		 * so the shift cannot overflow. */
		delay = fail_base_ms;
		for (unsigned i = 1; i < e->failures && delay < fail_max_ms; i++)
			delay *= 2;
		if (delay > fail_max_ms)
			delay = fail_max_ms;
	}
	pthread_mutex_unlock(&fail_lock);
	return delay;
}
