/*
 * imap-auth: the end of a login, shared by LOGIN and AUTHENTICATE. Checks
 * the password; on success the session is authenticated; on failure the
 * answer waits auth_fail_delay_ms() on an event timer (never a sleep) and
 * is the same whether or not the user exists (RFC 9051 6.2.2, 6.2.3).
 */
#ifndef ROOST_IMAP_AUTH_H
#define ROOST_IMAP_AUTH_H
struct imap_cmd;
/* Finishes cmd (now or after the delay). The password is wiped by the caller. */
void imap_auth_attempt(struct imap_cmd *cmd, const char *user, const char *password);
#endif
