/*
 * auth-scram: the server's side of one SCRAM-SHA-256 exchange (RFC 5802,
 * RFC 7677), the same for every protocol that offers it (submission's
 * AUTH, IMAP's AUTHENTICATE). The protocol frames the messages (334 / "+"
 * lines, "*" cancels) and passes them here base64-encoded, as they
 * arrive:
 *   client-first -> auth_scram_first() -> send the server-first challenge
 *   client-final -> auth_scram_final() -> a throttled check (auth.h)
 *   check AUTH_OK -> send auth_scram_server_final(), wait for an empty
 *                    response, then the login is done.
 */
#ifndef ROOST_AUTH_SCRAM_H
#define ROOST_AUTH_SCRAM_H
#include "auth/auth.h"

enum auth_scram_status {
	AUTH_SCRAM_OK,
	AUTH_SCRAM_MALFORMED,	/* not base64, or not a SCRAM message */
	AUTH_SCRAM_AUTHZID,	/* asks to act as another identity */
	AUTH_SCRAM_MISMATCH,	/* nonce or channel binding not ours: a failure */
	AUTH_SCRAM_TEMPFAIL,	/* the store or the RNG failed */
};

struct auth_scram;
struct auth_scram *auth_scram_new(void);
/* No-op on NULL; clears the pointer; wipes the keys. */
void auth_scram_free(struct auth_scram **x);
/* The client-first-message: AUTH_SCRAM_OK and *challenge_r (base64 of
 * the server-first-message, malloc'd). */
enum auth_scram_status auth_scram_first(struct auth_scram *x, struct store *s, const char *b64,
					size_t len, char **challenge_r);
/* The client-final-message: AUTH_SCRAM_OK once the check was started
 * (*req_r as from auth_attempt_start(); `done` follows). */
enum auth_scram_status auth_scram_final(struct auth_scram *x, struct store *s, struct conn *c,
					const char *proto, const char *b64, size_t len,
					auth_done_cb *done, void *ctx, struct auth_request **req_r);
/* After the check said AUTH_OK: base64 of the server-final-message. */
char *auth_scram_server_final(const struct auth_scram *x);
/* The login name the client gave (for logs and the session). */
const char *auth_scram_user(const struct auth_scram *x);
#endif
