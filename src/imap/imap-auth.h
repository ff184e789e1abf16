/*
 * imap-auth: the end of a login, shared by LOGIN and AUTHENTICATE. The
 * check, its throttle delay (before the check) and the failure log line
 * are auth/auth.h's; here the answer: OK and the authenticated state, the
 * same NO whether or not the user exists (RFC 9051 6.2.2, 6.2.3), or
 * NO [UNAVAILABLE] while the client's network is blocked.
 */
#ifndef ROOST_IMAP_AUTH_H
#define ROOST_IMAP_AUTH_H
struct imap_cmd;
/* Finishes cmd later, on the event loop. The password is wiped by the caller. */
void imap_auth_attempt(struct imap_cmd *cmd, const char *user, const char *password);
#endif
