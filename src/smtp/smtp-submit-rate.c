/*
 * smtp-submit-rate: per-account submission rate limits (messages and
 * recipients per hour and per day, submission.max_*), so one stolen
 * password cannot turn the host into a spam source. Counted in memory in
 * one fixed table shared by every I/O thread (a mutex; each operation is
 * O(SMTP_RATE_WAYS)): the counts hold across reconnects and across the
 * submission listeners, and start over when the daemon restarts (a
 * restart is an admin's act, not the sender's). Windows are fixed: an
 * hour (a day) counted from the account's first submission in it.
 * A full set evicts its record with the oldest day window; with
 * SMTP_RATE_SETS x SMTP_RATE_WAYS records that is far more accounts
 * than send within one day on one host.
 */
#include "smtp/smtp-session.h"
#include <pthread.h>
#include <time.h>

#define SMTP_RATE_SETS 1024
#define SMTP_RATE_WAYS 8
#define HOUR_S 3600
#define DAY_S 86400

struct rate_window {
	int64_t start;	/* unix time the window began; 0 = unused */
	int64_t messages, rcpts;
};

struct rate_record {
	int64_t account_id;	/* 0 = free */
	struct rate_window hour, day;
};

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rate_record rate_table[SMTP_RATE_SETS][SMTP_RATE_WAYS];

static struct rate_record *record_for(int64_t account_id)
{
	struct rate_record *set = rate_table[(uint64_t)account_id % SMTP_RATE_SETS];
	struct rate_record *victim = &set[0];
	for (int i = 0; i < SMTP_RATE_WAYS; i++) {
		if (set[i].account_id == account_id)
			return &set[i];
		if (set[i].account_id == 0 || set[i].day.start < victim->day.start)
			victim = &set[i];
		if (set[i].account_id == 0)
			break;
	}
	*victim = (struct rate_record){.account_id = account_id};
	return victim;
}

static void roll(struct rate_window *w, int64_t now, int64_t len)
{
	if (w->start == 0 || now - w->start >= len)
		*w = (struct rate_window){.start = now};
}

/* Count one message (rcpt = false) or recipient if under every limit. */
static bool take(const struct smtp_rate_limits *lim, int64_t account_id, bool rcpt)
{
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&rate_lock);
	struct rate_record *r = record_for(account_id);
	roll(&r->hour, now, HOUR_S);
	roll(&r->day, now, DAY_S);
	int64_t hour = rcpt ? r->hour.rcpts : r->hour.messages;
	int64_t day = rcpt ? r->day.rcpts : r->day.messages;
	int64_t max_hour = rcpt ? lim->rcpts_hour : lim->messages_hour;
	int64_t max_day = rcpt ? lim->rcpts_day : lim->messages_day;
	bool ok = (max_hour <= 0 || hour < max_hour) && (max_day <= 0 || day < max_day);
	if (ok) {
		if (rcpt) {
			r->hour.rcpts++;
			r->day.rcpts++;
		} else {
			r->hour.messages++;
			r->day.messages++;
		}
	}
	pthread_mutex_unlock(&rate_lock);
	return ok;
}

bool smtp_rate_take_message(const struct smtp_rate_limits *lim, int64_t account_id)
{
	return take(lim, account_id, false);
}

bool smtp_rate_take_rcpt(const struct smtp_rate_limits *lim, int64_t account_id)
{
	return take(lim, account_id, true);
}
