/*
 * auth: see auth.h. The request is a small state machine on the event
 * loop: DELAY (timer) -> CHECK (worker thread) -> ANSWER (timer, failures
 * only) -> done. Everything but the hash runs on the event loop.
 *
 * The auth cache (auth-cache.h) shortens a repeated success: after DELAY
 * (so the throttle's pre-check and its delay still apply), a cache entry
 * for (address, password) is confirmed against the account's current row
 * on the loop (one indexed read, no hash) and answered through the same
 * path as a checked success. Anything else, failures always, goes to the
 * worker for the full check; only its successes are cached.
 */
#include "auth/auth.h"
#include "auth/auth-cache.h"
#include "auth/auth-throttle.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/workers.h"
#include "mail/address.h"
#include "store/store.h"
#include "store/store-auth.h"
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The longest user name text a log line carries. */
#define AUTH_LOG_USER_MAX 64

/* A yescrypt hash (default cost) of a random password nobody knows:
 * checked for unknown users so their logins cost what real ones cost. */
static const char dummy_hash[] =
	"$y$j9T$6R7F0G.gmeLHGVBIVOnFX1$7TWr6kacfXm1ZKEVTUA60sIC4AZuxiimeUOKmqga3/8";

/* auth.default_domain: the domain a bare login name (no '@') belongs to;
 * empty = the only hosted domain, if there is exactly one. Set on the loop
 * (auth_configure), read by the workers: hence the lock. */
static pthread_mutex_t default_domain_lock = PTHREAD_MUTEX_INITIALIZER;
static char *default_domain;

/* The login name with a domain: "user" becomes "user@domain" (the default
 * domain, else the only hosted one); a name with '@' is kept. *name_r is
 * NULL when a bare name has no domain to go to (several hosted, no
 * default): such a login fails like a wrong password. */
static enum store_err qualify_user(struct store *s, const char *user, char **name_r)
{
	*name_r = NULL;
	if (strchr(user, '@') != NULL) {
		*name_r = xstrdup(user);
		return STORE_OK;
	}
	pthread_mutex_lock(&default_domain_lock);
	char *dom = default_domain != NULL ? xstrdup(default_domain) : NULL;
	pthread_mutex_unlock(&default_domain_lock);
	if (dom == NULL) {
		char **names = NULL;
		size_t n = 0;
		enum store_err err = store_domain_list(s, &names, &n);
		if (err != STORE_OK)
			return err;
		if (n == 1)
			dom = xstrdup(names[0]);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (dom == NULL)
			return STORE_OK;
	}
	*name_r = xasprintf("%s@%s", user, dom);
	free(dom);
	return STORE_OK;
}

/* An account without SCRAM keys for its current password gains them at
 * its first successful PLAIN/LOGIN login (the only moment the server
 * sees the password). A failure only means SCRAM waits for the next. */
static void scram_upgrade(struct store *s, int64_t id, const char *hash, const char *password)
{
	struct scram_keys k;
	enum store_err err = store_scram_get(s, id, hash, &k);
	if (err == STORE_ENOTFOUND) {
		if (scram_keys_new(password, &k) < 0) {
			log_warn("scram: cannot derive keys for account id %lld", (long long)id);
			return;
		}
		err = store_scram_set(s, id, hash, &k);
		if (err == STORE_OK)
			log_info("scram: keys added for account id %lld", (long long)id);
	}
	OPENSSL_cleanse(&k, sizeof(k));
	if (err != STORE_OK)
		log_warn("scram: keys for account id %lld not stored: %s", (long long)id,
			 store_strerror(err));
}

/* The login name as the store keys it: qualified, then normalised;
 * *addr_r NULL when there is none (a failure like a wrong password). */
static enum store_err login_address(struct store *s, const char *user, char **addr_r)
{
	*addr_r = NULL;
	char *name = NULL;
	enum store_err err = STORE_ENOTFOUND;
	if (strlen(user) <= AUTH_MAX_USERNAME)
		err = qualify_user(s, user, &name);
	if (err == STORE_OK && name != NULL) {
		const char *why;
		*addr_r = address_normalize(name, &why);
	}
	free(name);
	return err;
}

/* auth_login(), and for the cache: the address checked (caller frees,
 * may be NULL) and which stored hash matched (its fingerprint). */
static enum auth_result login_check(struct store *s, const char *user, const char *password,
				    int64_t *account_id_r, char **addr_r,
				    struct auth_cache_entry *matched_r)
{
	char *hash = NULL;
	int64_t id = 0;
	bool known = false, disabled = false;
	char *addr = NULL;
	enum store_err err = login_address(s, user, &addr);
	if (err == STORE_OK) {
		err = STORE_ENOTFOUND;
		if (addr != NULL)
			err = store_account_auth(s, addr, &id, &hash, &disabled);
		known = err == STORE_OK && hash != NULL;
	}
	bool ok = password_verify(password, known ? hash : dummy_hash) && known;
	if (ok && !disabled)
		scram_upgrade(s, id, hash, password);
	if (ok)
		auth_cache_fingerprint(hash, matched_r->fingerprint);
	matched_r->app = false;
	if (known && !ok) {
		/* Per-device app passwords (store-auth.h): each opens the same
		 * account. At most STORE_APP_PASSWORDS_MAX hashes are tried. */
		char **apps = NULL;
		size_t napps = 0;
		err = store_app_password_hashes(s, id, &apps, &napps);
		for (size_t i = 0; i < napps; i++) {
			if (!ok && password_verify(password, apps[i])) {
				ok = true;
				matched_r->app = true;
				auth_cache_fingerprint(apps[i], matched_r->fingerprint);
			}
			wipe(apps[i], strlen(apps[i]));
			free(apps[i]);
		}
		free(apps);
	}
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
	matched_r->account_id = ok ? id : 0;
	if (ok)
		*account_id_r = id;
	*addr_r = addr;
	/* a failed read is no verdict on the password (store.h) */
	if (err != STORE_OK && err != STORE_ENOTFOUND)
		return AUTH_TEMPFAIL;
	return ok ? AUTH_OK : AUTH_FAILED;
}

enum auth_result auth_login(struct store *s, const char *user, const char *password,
			    int64_t *account_id_r)
{
	char *addr = NULL;
	struct auth_cache_entry matched;
	enum auth_result res = login_check(s, user, password, account_id_r, &addr, &matched);
	free(addr);
	OPENSSL_cleanse(&matched, sizeof(matched));
	return res;
}

/* Does the cached entry still describe the account as stored now: same
 * id, not disabled, and the hash it matched still current? Any failed
 * read answers no (the full check then reports it). */
static bool cache_entry_current(struct store *s, const char *addr,
				const struct auth_cache_entry *e)
{
	char *hash = NULL;
	int64_t id = 0;
	bool disabled = true, current = false;
	unsigned char fp[AUTH_CACHE_HASH_LEN];
	if (store_account_auth(s, addr, &id, &hash, &disabled) != STORE_OK || hash == NULL)
		goto out;
	if (id != e->account_id || disabled)
		goto out;
	if (!e->app) {
		auth_cache_fingerprint(hash, fp);
		current = CRYPTO_memcmp(fp, e->fingerprint, sizeof(fp)) == 0;
		goto out;
	}
	char **apps = NULL;
	size_t napps = 0;
	if (store_app_password_hashes(s, id, &apps, &napps) == STORE_OK) {
		for (size_t i = 0; i < napps; i++) {
			auth_cache_fingerprint(apps[i], fp);
			if (CRYPTO_memcmp(fp, e->fingerprint, sizeof(fp)) == 0)
				current = true;
			wipe(apps[i], strlen(apps[i]));
			free(apps[i]);
		}
		free(apps);
	}
out:
	if (hash != NULL) {
		wipe(hash, strlen(hash));
		free(hash);
	}
	return current;
}

enum request_step { STEP_DELAY, STEP_CHECK, STEP_ANSWER };

struct auth_request {
	struct store *store;
	struct event_base *base;
	struct event *timer;
	char *proto, *session, *ip, *user, *password;
	enum request_step step;
	bool too_long, cancelled;
	enum auth_result result;
	int64_t account_id, started_ms;
	auth_done_cb *done;
	void *ctx;
	/* SCRAM (auth_scram_start): the proof stands in for the password */
	bool scram, scram_known;
	struct scram_keys keys;
	char *auth_message;
	unsigned char proof[SCRAM_KEY_LEN];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void request_free(struct auth_request *r)
{
	if (r->timer != NULL)
		event_free(r->timer);
	wipe(r->password, strlen(r->password));
	free(r->password);
	OPENSSL_cleanse(&r->keys, sizeof(r->keys));
	free(r->auth_message);
	free(r->user);
	free(r->proto);
	free(r->session);
	free(r->ip);
	free(r);
}

static void finish(struct auth_request *r)
{
	if (!r->cancelled)
		r->done(r->ctx, r->result, r->account_id);
	request_free(r);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg);

/* Go to `step` after ms. With a loop always through the timer (even for
 * 0 ms), so auth_attempt_start() never calls `done` before it returns;
 * without one (CLI, unit tests) at once. */
static void wait_then(struct auth_request *r, int64_t ms, enum request_step step)
{
	r->step = step;
	if (r->base == NULL) {
		timer_fired(-1, 0, r);
		return;
	}
	if (ms < 0)
		ms = 0;
	if (r->timer == NULL)
		r->timer = evtimer_new(r->base, timer_fired, r);
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	evtimer_add(r->timer, &tv);
}

static void check_work(void *arg)
{
	struct auth_request *r = arg;
	if (r->scram) {
		bool ok = scram_proof_valid(r->keys.stored_key, r->auth_message, r->proof);
		r->result = ok && r->scram_known ? AUTH_OK : AUTH_FAILED;
		return;
	}
	if (r->too_long) {
		r->result = AUTH_FAILED;
		return;
	}
	char *addr = NULL;
	struct auth_cache_entry matched;
	r->result = login_check(r->store, r->user, r->password, &r->account_id, &addr, &matched);
	/* only a success is remembered: a failure always pays the full check */
	if (r->result == AUTH_OK && addr != NULL && auth_cache_enabled()) {
		unsigned char key[AUTH_CACHE_HASH_LEN];
		auth_cache_key(addr, r->password, key);
		auth_cache_insert(key, &matched, now_ms());
		OPENSSL_cleanse(key, sizeof(key));
	}
	OPENSSL_cleanse(&matched, sizeof(matched));
	free(addr);
	wipe(r->password, strlen(r->password));
}

/* On the loop, after the throttle's pre-check and delay: true when a
 * cache entry answers this login (r->account_id set). SCRAM never comes
 * here (it costs no yescrypt per login). */
static bool cache_answers(struct auth_request *r)
{
	if (r->scram || r->too_long || !auth_cache_enabled())
		return false;
	char *addr = NULL;
	if (login_address(r->store, r->user, &addr) != STORE_OK || addr == NULL) {
		free(addr);
		return false;
	}
	unsigned char key[AUTH_CACHE_HASH_LEN];
	auth_cache_key(addr, r->password, key);
	struct auth_cache_entry e;
	bool hit = auth_cache_lookup(key, now_ms(), &e);
	if (hit && !cache_entry_current(r->store, addr, &e)) {
		auth_cache_forget(key); /* password changed, account disabled or gone */
		hit = false;
	}
	OPENSSL_cleanse(key, sizeof(key));
	free(addr);
	metrics_inc("roost_auth_cache_total", hit ? "hit" : "miss", NULL);
	if (hit) {
		r->account_id = e.account_id;
		log_debug("proto=%s session=%s auth cache hit: account id %lld", r->proto,
			  r->session, (long long)e.account_id);
	}
	OPENSSL_cleanse(&e, sizeof(e));
	return hit;
}

static void check_done(void *arg)
{
	struct auth_request *r = arg;
	if (r->cancelled) {
		request_free(r);
		return;
	}
	metrics_inc("roost_logins_total", r->proto,
		    r->result == AUTH_OK ? "ok" : r->result == AUTH_TEMPFAIL ? "tempfail" : "failed");
	if (r->result == AUTH_OK) {
		auth_throttle_succeeded(r->ip, r->user);
		finish(r);
		return;
	}
	if (r->result == AUTH_TEMPFAIL) {
		finish(r); /* the store failed, not the client: not counted */
		return;
	}
	struct auth_throttle_state st;
	auth_throttle_failed(r->ip, r->user, &st);
	/* fail2ban (contrib/fail2ban/filter.d/roost.conf) matches this line:
	 * keep "ip=ADDR auth failed:" and the user last. Never the password. */
	log_msg(LOG_WARN,
		"proto=%s session=%s ip=%s auth failed: net=%s net_failures=%u user_failures=%u "
		"next_delay_ms=%lld user=%.*s",
		r->proto, r->session, r->ip, st.net, st.net_failures, st.user_failures,
		(long long)st.delay_ms, AUTH_LOG_USER_MAX, r->user);
	struct auth_throttle_settings set;
	auth_throttle_settings(&set);
	if (st.block_started)
		log_msg(LOG_WARN, "auth block start: net=%s net_failures=%u block_ms=%lld", st.net,
			st.net_failures, (long long)set.block_ms);
	wait_then(r, r->started_ms + set.delay_ms - now_ms(), STEP_ANSWER);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct auth_request *r = arg;
	switch (r->step) {
	case STEP_DELAY:
		if (r->result == AUTH_BLOCKED) {
			finish(r);
			return;
		}
		if (cache_answers(r)) {
			r->result = AUTH_OK;
			wipe(r->password, strlen(r->password));
			check_done(r); /* the same answer path as a checked success */
			return;
		}
		r->step = STEP_CHECK;
		/* yescrypt costs tens of milliseconds: never on the event loop,
		 * or every connection stalls behind a password guesser. */
		workers_submit(check_work, check_done, r);
		return;
	case STEP_CHECK:
		return; /* not reached: the worker owns the request */
	case STEP_ANSWER:
		finish(r);
		return;
	}
}

static struct auth_request *request_new(struct store *s, struct conn *c, const char *proto,
				       const char *user, const char *password,
				       auth_done_cb *done, void *ctx)
{
	struct auth_request *r = xcalloc(1, sizeof(*r));
	r->store = s;
	r->base = conn_base(c);
	r->proto = xstrdup(proto);
	r->session = xstrdup(conn_id(c));
	r->ip = xstrdup(conn_remote_ip(c));
	r->too_long = strlen(user) > AUTH_MAX_USERNAME || strlen(password) > AUTH_MAX_PASSWORD;
	r->user = r->too_long && strlen(user) > AUTH_MAX_USERNAME
			  ? xstrndup(user, AUTH_MAX_USERNAME)
			  : xstrdup(user);
	r->password = r->too_long ? xstrdup("") : xstrdup(password);
	r->done = done;
	r->ctx = ctx;
	r->started_ms = now_ms();
	return r;
}

static struct auth_request *request_begin(struct auth_request *r)
{
	struct auth_throttle_state st;
	auth_throttle_query(r->ip, r->user, &st);
	if (st.blocked_ms > 0) {
		log_msg(LOG_WARN,
			"proto=%s session=%s ip=%s auth blocked: net=%s net_failures=%u "
			"blocked_ms=%lld user=%.*s",
			r->proto, r->session, r->ip, st.net, st.net_failures,
			(long long)st.blocked_ms, AUTH_LOG_USER_MAX, r->user);
		r->result = AUTH_BLOCKED;
	}
	if (r->base == NULL) {
		wait_then(r, st.delay_ms, STEP_DELAY); /* runs to the end at once */
		return NULL;
	}
	wait_then(r, st.delay_ms, STEP_DELAY);
	return r;
}

struct auth_request *auth_attempt_start(struct store *s, struct conn *c, const char *proto,
					const char *user, const char *password, auth_done_cb *done,
					void *ctx)
{
	return request_begin(request_new(s, c, proto, user, password, done, ctx));
}

struct auth_request *auth_scram_start(struct store *s, struct conn *c, const char *proto,
				      const char *user, const struct scram_keys *keys, bool known,
				      int64_t account_id, const char *auth_message,
				      const unsigned char proof[SCRAM_KEY_LEN], auth_done_cb *done,
				      void *ctx)
{
	struct auth_request *r = request_new(s, c, proto, user, "", done, ctx);
	r->scram = true;
	r->scram_known = known && !r->too_long;
	r->keys = *keys;
	r->account_id = account_id;
	r->auth_message = xstrdup(auth_message);
	memcpy(r->proof, proof, SCRAM_KEY_LEN);
	return request_begin(r);
}

/* The key of the made-up SCRAM salts: random per process, so an attacker
 * cannot tell a made-up salt from a real one by computing it. */
static pthread_once_t fake_once = PTHREAD_ONCE_INIT;
static unsigned char fake_secret[32];
static bool fake_ready;

static void fake_init(void)
{
	fake_ready = RAND_bytes(fake_secret, sizeof(fake_secret)) == 1;
}

static void fake_keys(const char *user, struct scram_keys *k)
{
	pthread_once(&fake_once, fake_init);
	unsigned char mac[32];
	unsigned int n = sizeof(mac);
	HMAC(EVP_sha256(), fake_secret, sizeof(fake_secret), (const unsigned char *)user,
	     strlen(user), mac, &n);
	memcpy(k->salt, mac, SCRAM_SALT_LEN);
	k->iterations = SCRAM_ITERATIONS;
	/* keys no proof can match: random (or, without randomness, the MAC,
	 * still unknown to the client; `known` is false anyway) */
	if (!fake_ready || RAND_bytes(k->stored_key, SCRAM_KEY_LEN) != 1)
		memcpy(k->stored_key, mac, SCRAM_KEY_LEN);
	memset(k->server_key, 0, SCRAM_KEY_LEN);
}

enum auth_result auth_scram_lookup(struct store *s, const char *user, struct scram_keys *keys_r,
				   int64_t *account_id_r, bool *known_r)
{
	*known_r = false;
	*account_id_r = 0;
	char *name = NULL, *hash = NULL;
	int64_t id = 0;
	bool disabled = false;
	enum store_err err = STORE_ENOTFOUND;
	if (strlen(user) <= AUTH_MAX_USERNAME)
		err = qualify_user(s, user, &name);
	if (err == STORE_OK && name == NULL)
		err = STORE_ENOTFOUND;
	if (err == STORE_OK) {
		const char *why;
		char *addr = address_normalize(name, &why);
		err = addr != NULL ? store_account_auth(s, addr, &id, &hash, &disabled)
				   : STORE_ENOTFOUND;
		free(addr);
	}
	free(name);
	if (err == STORE_OK && !disabled) {
		err = store_scram_get(s, id, hash, keys_r);
		if (err == STORE_OK) {
			*known_r = true;
			*account_id_r = id;
		}
	}
	if (hash != NULL) {
		wipe(hash, strlen(hash));
		free(hash);
	}
	if (err != STORE_OK && err != STORE_ENOTFOUND)
		return AUTH_TEMPFAIL;
	if (!*known_r)
		fake_keys(user, keys_r);
	return AUTH_OK;
}

void auth_request_cancel(struct auth_request **req)
{
	struct auth_request *r = *req;
	*req = NULL;
	if (r == NULL)
		return;
	if (r->step == STEP_CHECK) {
		r->cancelled = true; /* check_done frees it */
		return;
	}
	request_free(r);
}

void auth_configure(const struct config *cfg)
{
	struct auth_throttle_settings set = {
		.delay_ms = config_ms(cfg, "auth.fail_delay"),
		.delay_max_ms = config_ms(cfg, "auth.fail_delay_max"),
		.block_failures = config_int(cfg, "auth.block_failures"),
		.block_ms = config_ms(cfg, "auth.block_time"),
	};
	auth_throttle_configure(&set);
	int64_t cache_size = config_int(cfg, "auth.cache_size");
	int64_t cache_ttl = config_ms(cfg, "auth.cache_ttl");
	auth_cache_configure(cache_size > 0 ? (size_t)cache_size : 0, cache_ttl);
	if (auth_cache_enabled())
		log_info("auth cache: up to %lld successful logins, each for %lld s",
			 (long long)cache_size, (long long)(cache_ttl / 1000));
	else
		log_info("auth cache: off");
	const char *dom = config_str(cfg, "auth.default_domain");
	pthread_mutex_lock(&default_domain_lock);
	free(default_domain);
	default_domain = dom != NULL && dom[0] != '\0' ? xstrdup(dom) : NULL;
	pthread_mutex_unlock(&default_domain_lock);
	auth_throttle_settings(&set);
	log_info("auth throttle: delay %lld ms doubling to %lld ms per failure before the check; "
		 "block after %lld failures per network for %lld ms; %d x %d records, forgotten "
		 "after %d s",
		 (long long)set.delay_ms, (long long)set.delay_max_ms, (long long)set.block_failures,
		 (long long)set.block_ms, AUTH_THROTTLE_SETS, AUTH_THROTTLE_WAYS,
		 AUTH_THROTTLE_FORGET_MS / 1000);
}
