/*
 * auth: passwords and login policy shared by IMAP, POP3 and submission.
 * Hashes are yescrypt ($y$) through libcrypt; $6$ (SHA-512) and $2b$
 * (bcrypt) hashes verify too, for accounts migrated from other servers.
 */
#ifndef ROOST_AUTH_H
#define ROOST_AUTH_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct store;

#define AUTH_MAX_PASSWORD 1024
#define AUTH_MAX_USERNAME 320

/* New yescrypt hash of `password` (caller frees), or NULL on failure. */
char *auth_hash_password(const char *password);
/* Constant-time check of `password` against a crypt(3) hash. */
bool auth_verify_password(const char *password, const char *hash);

/* The outcome of a login check. AUTH_TEMPFAIL: the account could not be
 * read (a store error): say "try again later", never "wrong password",
 * and do not count it as a failed login. */
enum auth_result { AUTH_OK = 0, AUTH_DENIED, AUTH_TEMPFAIL };

/* Check a login: AUTH_OK and the account id on success. Whether the user
 * exists never changes the outcome's timing class or the caller's reply:
 * unknown users are checked against a dummy hash. */
enum auth_result auth_login(struct store *s, const char *user, const char *password,
			    int64_t *account_id_r);

/* The same check off the event loop: the hash runs on a worker thread
 * (lib/workers.h) and `done` is called on the event loop. The user and
 * password are copied (the copy is wiped). auth_request_cancel() (on the
 * event loop, e.g. when the session closes) means `done` is never called. */
struct auth_request;
typedef void auth_done_cb(void *ctx, enum auth_result result, int64_t account_id);
struct auth_request *auth_login_start(struct store *s, const char *user, const char *password,
				      auth_done_cb *done, void *ctx);
void auth_request_cancel(struct auth_request **req);

/* Failed-login throttling per source IP: after a failure call
 * auth_fail_record(); before answering, wait auth_fail_delay_ms(). The delay
 * doubles per recent failure from that address, capped (auth.fail_delay,
 * auth.fail_delay_max). Success clears the address. Table size is bounded. */
void auth_fail_configure(int64_t base_ms, int64_t max_ms);
void auth_fail_record(const char *ip);
void auth_fail_clear(const char *ip);
int64_t auth_fail_delay_ms(const char *ip);
#endif
