/*
 * pop3-lock: which accounts have a POP3 session open. RFC 1939 section 8
 * lets a server give one session exclusive access to a maildrop; Roost does
 * that by default so a second device gets an unmistakable [IN-USE] (RFC
 * 2449 section 8.1.1) instead of a reply that looks like a wrong password.
 * An in-process table is the first lock, taken on the event loop (a
 * mutex covers any thread); nodes sharing one PostgreSQL database then
 * take the account's node lock (store_nodelock_take, a database round
 * trip, so on a worker) while this node has a session, so a second
 * device on another node gets [IN-USE] too, and a node that dies frees
 * its accounts. The table also remembers the last login time of
 * each account for LOGIN-DELAY (RFC 2449 section 6.8), per node.
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "store/store.h"
#include <pthread.h>
#include <time.h>

/* Accounts remembered at once; beyond it the oldest unlocked entry goes. */
#define POP3_LOCK_MAX_ENTRIES 100000

struct lock_entry {
	int64_t account_id;
	int sessions;		/* open sessions */
	int64_t last_login_ms;	/* monotonic */
	bool node_locked;	/* holds the account's node lock */
};

static pthread_mutex_t lock_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct lock_entry *entries;
static size_t nentries, cap_entries;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct lock_entry *find(int64_t account_id)
{
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].account_id == account_id)
			return &entries[i];
	return NULL;
}

/* Forget idle entries whose LOGIN-DELAY window has passed (or all idle
 * ones when the table is full) so the table stays bounded. */
static void prune(int64_t now, int64_t login_delay_ms)
{
	size_t j = 0;
	bool full = nentries >= POP3_LOCK_MAX_ENTRIES;

	for (size_t i = 0; i < nentries; i++) {
		struct lock_entry *e = &entries[i];
		if (e->sessions == 0 && (full || now - e->last_login_ms >= login_delay_ms))
			continue;
		entries[j++] = *e;
	}
	nentries = j;
}

enum pop3_lock_result pop3_lock_take(struct store *store, int64_t account_id, bool concurrent,
				     int64_t login_delay_ms, struct pop3_lock_attempt *a_r)
{
	enum pop3_lock_result res = POP3_LOCK_OK;
	int64_t now = now_ms();
	struct lock_entry *e;

	*a_r = (struct pop3_lock_attempt){.account_id = account_id};
	pthread_mutex_lock(&lock_mutex);
	prune(now, login_delay_ms);
	e = find(account_id);
	if (e != NULL && e->sessions > 0 && !concurrent) {
		res = POP3_LOCK_IN_USE;
	} else if (e != NULL && login_delay_ms > 0 && now - e->last_login_ms < login_delay_ms) {
		res = POP3_LOCK_TOO_SOON;
	} else {
		if (e == NULL) {
			entries = xgrow(entries, &cap_entries, nentries + 1, sizeof(*entries));
			e = &entries[nentries++];
			*e = (struct lock_entry){.account_id = account_id};
		}
		e->sessions++;
		a_r->prev_login_ms = e->last_login_ms;
		e->last_login_ms = now;
	}
	pthread_mutex_unlock(&lock_mutex);
	/* concurrent sessions share the maildrop on every node */
	a_r->node = res == POP3_LOCK_OK && !concurrent && store_backend_shared(store);
	return res;
}

void pop3_lock_take_node(struct store *store, struct pop3_lock_attempt *a)
{
	a->node_err = store_nodelock_take(store, STORE_NODELOCK_POP3, a->account_id);
}

enum pop3_lock_result pop3_lock_take_finish(struct pop3_lock_attempt *a)
{
	pthread_mutex_lock(&lock_mutex);
	/* our session keeps the entry from being pruned; the table may
	 * have moved */
	struct lock_entry *e = find(a->account_id);
	if (a->node_err == STORE_OK) {
		e->node_locked = true;
	} else {
		/* not logged in after all */
		e->sessions--;
		e->last_login_ms = a->prev_login_ms;
	}
	pthread_mutex_unlock(&lock_mutex);
	if (a->node_err == STORE_OK)
		return POP3_LOCK_OK;
	return a->node_err == STORE_EINUSE ? POP3_LOCK_IN_USE : POP3_LOCK_TEMP;
}

void pop3_lock_release(struct store *store, int64_t account_id)
{
	struct lock_entry *e;
	bool node_unlock = false;

	pthread_mutex_lock(&lock_mutex);
	e = find(account_id);
	if (e != NULL && e->sessions > 0)
		e->sessions--;
	if (e != NULL && e->sessions == 0 && e->node_locked) {
		e->node_locked = false;
		node_unlock = true;
	}
	pthread_mutex_unlock(&lock_mutex);
	if (node_unlock)
		store_nodelock_release(store, STORE_NODELOCK_POP3, account_id);
}
