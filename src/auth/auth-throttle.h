/*
 * auth-throttle: failed-login throttling shared by every protocol that
 * checks passwords (IMAP, POP3).
 *
 * Two kinds of record, both in one fixed-size table:
 *   - per network: an IPv4 address, or the /64 of an IPv6 address (one
 *     host owns a whole /64, so per-address keys would be free to rotate);
 *   - per (network, user): the failures against one account from there.
 * A failure counts in both. A success for a user clears only that user's
 * record and takes its failures back out of the network's count (they
 * were the user's own typos); failures against other accounts stay. So
 * logging in to one's own account never speeds up guessing another's.
 *
 * An attempt after f failures (f = the larger of the two counts) waits
 * min(delay * 2^f, delay_max) BEFORE the password is checked; a failed
 * answer never comes sooner than `delay` after the attempt began. After
 * `block_failures` failures the network is blocked for `block_ms`: every
 * attempt from it waits delay_max and is refused with a temporary answer,
 * without checking the password. Memory is fixed (AUTH_THROTTLE_SETS x
 * AUTH_THROTTLE_WAYS records; the oldest record of a full set is evicted).
 * Thread-safe; every operation is O(AUTH_THROTTLE_WAYS).
 */
#ifndef ROOST_AUTH_THROTTLE_H
#define ROOST_AUTH_THROTTLE_H
#include <stdbool.h>
#include <stdint.h>

#define AUTH_THROTTLE_SETS 2048
#define AUTH_THROTTLE_WAYS 8
/* A record whose last failure is older than this is forgotten. */
#define AUTH_THROTTLE_FORGET_MS (15 * 60 * 1000)
/* Longest network text ("unix", IPv4, "2001:db8:1:2::/64"). */
#define AUTH_THROTTLE_NET_MAX 63

struct auth_throttle_settings {
	int64_t delay_ms;	/* auth.fail_delay: first step, and the floor of a NO */
	int64_t delay_max_ms;	/* auth.fail_delay_max */
	int64_t block_failures; /* auth.block_failures: per network; 0 = never block */
	int64_t block_ms;	/* auth.block_time */
};

struct auth_throttle_state {
	int64_t delay_ms;	/* wait this long before checking */
	int64_t blocked_ms;	/* > 0: the network is blocked this much longer */
	unsigned net_failures, user_failures;
	bool block_started;	/* auth_throttle_failed(): this failure blocked it */
	char net[AUTH_THROTTLE_NET_MAX + 1]; /* the network key, for logs */
};

void auth_throttle_configure(const struct auth_throttle_settings *set);
void auth_throttle_settings(struct auth_throttle_settings *set_r);
/* Forget every record (tests). */
void auth_throttle_reset(void);

/* What an attempt by `user` from `ip` must wait, before its check. */
void auth_throttle_query(const char *ip, const char *user, struct auth_throttle_state *r);
/* Count a failure; *r is the state afterwards (block_started when this
 * failure reached auth.block_failures). */
void auth_throttle_failed(const char *ip, const char *user, struct auth_throttle_state *r);
/* A correct password: clear (ip, user) and remove its failures from the
 * network's count. */
void auth_throttle_succeeded(const char *ip, const char *user);
/* The network key of `ip` (IPv4 as is, IPv6 as its /64). */
void auth_throttle_net(const char *ip, char net_r[AUTH_THROTTLE_NET_MAX + 1]);
#endif
