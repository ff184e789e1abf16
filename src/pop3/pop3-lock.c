/*
 * pop3-lock: which accounts have a POP3 session open. RFC 1939 section 8
 * lets a server give one session exclusive access to a maildrop; Roost does
 * that by default so a second device gets an unmistakable [IN-USE] (RFC
 * 2449 section 8.1.1) instead of a reply that looks like a wrong password.
 * The daemon is one process, so an in-process table is the whole lock; a
 * mutex covers several I/O threads. The table also remembers the last
 * login time of each account for LOGIN-DELAY (RFC 2449 section 6.8).
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include <pthread.h>
#include <time.h>

/* Accounts remembered at once; beyond it the oldest unlocked entry goes. */
#define POP3_LOCK_MAX_ENTRIES 100000

struct lock_entry {
	int64_t account_id;
	int sessions;		/* open sessions */
	int64_t last_login_ms;	/* monotonic */
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

enum pop3_lock_result pop3_lock_take(int64_t account_id, bool concurrent, int64_t login_delay_ms)
{
	enum pop3_lock_result res = POP3_LOCK_OK;
	int64_t now = now_ms();
	struct lock_entry *e;

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
			e->account_id = account_id;
			e->sessions = 0;
		}
		e->sessions++;
		e->last_login_ms = now;
	}
	pthread_mutex_unlock(&lock_mutex);
	return res;
}

void pop3_lock_release(int64_t account_id)
{
	struct lock_entry *e;

	pthread_mutex_lock(&lock_mutex);
	e = find(account_id);
	if (e != NULL && e->sessions > 0)
		e->sessions--;
	pthread_mutex_unlock(&lock_mutex);
}
