/* STARTTLS (RFC 9051 6.2.1). The OK goes out in plaintext; conn_starttls()
 * drops whatever plaintext the client pipelined after the command, so it can
 * never be taken as a command sent under TLS. */
#include "imap/imap-commands.h"
#include "lib/conn.h"

void cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->a.count != 0) {
		imap_cmd_bad(cmd, "STARTTLS takes no arguments");
		return;
	}
	if (conn_tls_active(s->conn)) {
		imap_cmd_bad(cmd, "TLS is already active");
		return;
	}
	if (!conn_tls_available(s->conn)) {
		imap_cmd_no(cmd, "TLS is not configured");
		return;
	}
	imap_cmd_ok(cmd, "Begin TLS negotiation now");
	if (s->conn != NULL && conn_starttls(s->conn) < 0)
		imap_session_bye(s, "TLS failed");
}
