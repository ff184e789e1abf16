/*
 * pop3-capa: CAPA (RFC 2449), STLS (RFC 2595) and UTF8 (RFC 6856).
 */
#include "pop3/pop3-private.h"
#include "lib/conn.h"

void pop3_cmd_capa(struct pop3_session *s, char **args, int nargs)
{
	const struct pop3_settings *set = &s->server->set;
	struct conn *c = s->conn;
	/* RFC 2595 section 6: do not offer password logins where they would
	 * be refused (plaintext on an unprotected non-loopback connection). */
	bool passwords = conn_tls_active(c) || conn_plaintext_auth_ok(c);

	conn_puts(c, "+OK Capability list follows\r\n");
	conn_puts(c, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (s->state == POP3_STATE_AUTH && passwords)
		conn_puts(c, "USER\r\nSASL PLAIN LOGIN\r\n");
	if (s->state == POP3_STATE_AUTH && conn_tls_available(c) && !conn_tls_active(c))
		conn_puts(c, "STLS\r\n");
	/* RFC 2449 section 6.7: EXPIRE in days, or NEVER. */
	if (set->expire_days > 0)
		conn_printf(c, "EXPIRE %lld\r\n", (long long)set->expire_days);
	else
		conn_puts(c, "EXPIRE NEVER\r\n");
	/* Section 6.8: the minimum seconds between logins, when configured. */
	if (set->login_delay_ms > 0)
		conn_printf(c, "LOGIN-DELAY %lld\r\n", (long long)((set->login_delay_ms + 999) / 1000));
	/* RFC 6856 section 2: UTF8, and USER accepts UTF-8 names. */
	conn_puts(c, "UTF8 USER\r\nIMPLEMENTATION Roost\r\n.\r\n");
}

void pop3_cmd_stls(struct pop3_session *s, char **args, int nargs)
{
	if (conn_tls_active(s->conn)) {
		pop3_err(s, "TLS already active");
		return;
	}
	if (!conn_tls_available(s->conn)) {
		pop3_err(s, "TLS not available");
		return;
	}
	pop3_ok(s, "Begin TLS negotiation");
	/* conn discards anything pipelined after STLS (RFC 2595 section 4
	 * requires not acting on plaintext sent before the handshake). */
	if (conn_starttls(s->conn) < 0) {
		conn_log(s->conn, LOG_WARN, "STLS failed to start");
		conn_close(s->conn);
	}
}

void pop3_cmd_utf8(struct pop3_session *s, char **args, int nargs)
{
	/* RFC 6856 section 2: valid before login; messages are already sent
	 * as stored, and user names and passwords are taken as UTF-8. */
	s->utf8 = true;
	pop3_ok(s, "UTF8 enabled");
}
