/*
 * auth: login checks for IMAP, POP3 and submission.
 * It sits above the store (it reads the account's hash) and below the
 * protocols: the protocols hand it a user name and password and get one
 * answer back; the throttle (auth-throttle.h), the pre-check delay, the
 * log lines fail2ban reads (contrib/fail2ban/) and the worker thread that
 * runs the hash all live here, the same for every protocol.
 */
#ifndef ROOST_AUTH_H
#define ROOST_AUTH_H
#include "mail/password.h"
#include "mail/scram.h"
#include <stdbool.h>
#include <stdint.h>

struct conn;
struct store;

#define AUTH_MAX_PASSWORD PASSWORD_MAX
#define AUTH_MAX_USERNAME 320

enum auth_result {
	AUTH_OK,
	AUTH_FAILED,	/* wrong user or password: the protocol's auth failure */
	AUTH_BLOCKED,	/* the client's network is blocked: a temporary refusal */
	AUTH_TEMPFAIL,	/* the account could not be read (a store error): "try
			 * again later", never "wrong password", and not counted
			 * as a failed login */
};

/* Check a login now, on the calling thread (CLI, tests): AUTH_OK and the
 * account id on success, AUTH_FAILED or AUTH_TEMPFAIL. Whether the user
 * exists never changes the outcome's timing class: unknown users are
 * checked against a dummy hash of the same cost. A disabled account is
 * AUTH_FAILED (only the log says why). The account's password or any of
 * its app passwords (store-auth.h) opens it. No throttling. */
enum auth_result auth_login(struct store *s, const char *user, const char *password,
			    int64_t *account_id_r);

/* One throttled login attempt, off the event loop:
 *   1. wait the throttle's delay for (IP, user) with a timer (the check
 *      does not run before it; a blocked network waits auth.fail_delay_max
 *      and gets AUTH_BLOCKED without any check);
 *   2. check the password on a worker thread (lib/workers.h);
 *   3. count a failure (throttle, and the log line "auth failed: ...");
 *      a failure is answered no sooner than auth.fail_delay after step 1;
 *   4. call `done` on the event loop.
 * `proto` is the log's protocol name. The user and password are copied
 * (the copy is wiped). The caller pauses its input meanwhile.
 * auth_request_cancel() (on the event loop, e.g. when the session closes)
 * means `done` is never called. `done` never runs before this returns. */
struct auth_request;
typedef void auth_done_cb(void *ctx, enum auth_result result, int64_t account_id);
struct auth_request *auth_attempt_start(struct store *s, struct conn *c, const char *proto,
					const char *user, const char *password, auth_done_cb *done,
					void *ctx);
void auth_request_cancel(struct auth_request **req);

/* SCRAM-SHA-256 (RFC 5802, RFC 7677) for the account password. The keys
 * are written when a password is set (`roost user add|passwd`) and, for
 * accounts that have none yet, at their next successful PLAIN/LOGIN
 * login (auth_login). App passwords have no SCRAM keys.
 *
 * auth_scram_lookup: the keys to challenge `user` with (a snapshot read:
 * any thread). An unknown or disabled user, or one without keys, gets
 * made-up keys that no proof matches (*known_r false): the salt is a
 * keyed hash of the name, so the challenge looks the same every time and
 * tells nothing. AUTH_TEMPFAIL on a store error, else AUTH_OK. */
enum auth_result auth_scram_lookup(struct store *s, const char *user, struct scram_keys *keys_r,
				   int64_t *account_id_r, bool *known_r);
/* One throttled proof check, the same steps, log lines and answers as
 * auth_attempt_start() (the proof stands in for the password). */
struct auth_request *auth_scram_start(struct store *s, struct conn *c, const char *proto,
				      const char *user, const struct scram_keys *keys, bool known,
				      int64_t account_id, const char *auth_message,
				      const unsigned char proof[SCRAM_KEY_LEN], auth_done_cb *done,
				      void *ctx);

/* Throttle settings from the auth.* keys; logs them (at start-up). */
struct config;
void auth_configure(const struct config *cfg);
#endif
