/*
 * imap-auth: the end of a login, shared by LOGIN and AUTHENTICATE. The
 * check, its throttle delay (before the check) and the failure log line
 * are auth/auth.h's; here the answer: OK and the authenticated state, the
 * same NO whether or not the user exists (RFC 9051 6.2.2, 6.2.3), or
 * NO [UNAVAILABLE] while the client's network is blocked.
 */
#ifndef ROOST_IMAP_AUTH_H
#define ROOST_IMAP_AUTH_H
#include <stddef.h>
#include <stdint.h>
struct imap_cmd;
/* Finishes cmd later, on the event loop. The password is wiped by the caller. */
void imap_auth_attempt(struct imap_cmd *cmd, const char *user, const char *password);
/* SCRAM-SHA-256 (auth/auth-scram.h): the client-final-message in b64.
 * Finishes cmd with NO on a failure; on success calls proven(cmd,
 * account_id) and leaves cmd running (the server-final goes out, the
 * client answers with an empty line, then imap_auth_login_done()). */
struct auth_scram;
void imap_auth_scram_final(struct imap_cmd *cmd, struct auth_scram *x, const char *b64,
			   size_t len, void (*proven)(struct imap_cmd *cmd, int64_t account_id));
/* The login succeeded: authenticated state and the tagged OK. */
void imap_auth_login_done(struct imap_cmd *cmd, const char *user, int64_t account_id);
#endif
