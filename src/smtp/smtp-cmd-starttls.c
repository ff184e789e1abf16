/*
 * smtp-cmd-starttls: STARTTLS (RFC 3207). Anything the client pipelined
 * after STARTTLS in plaintext is discarded by conn_starttls() and never
 * executed after the handshake (RFC 3207 4.2, the CVE-2011-0411 class of
 * bugs); after it the session starts over: the client must EHLO again.
 */
#include "smtp/smtp-session.h"
#include "lib/conn.h"

void smtp_cmd_starttls(struct smtp_session *s, char *args)
{
	if (conn_tls_active(s->conn)) {
		smtp_reply_error(s, "503 5.5.1 TLS already active");
		return;
	}
	if (!conn_tls_available(s->conn)) {
		smtp_reply_error(s, "454 4.7.0 TLS not available");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_session_reset_helo(s);
	if (conn_starttls(s->conn) < 0) {
		/* checked above; a failure here means the conn is unusable */
		s->quitting = true;
		conn_close(s->conn);
	}
}
