/* LOGOUT (RFC 9051 6.1.3): BYE, then the tagged OK, then close. */
#include "imap/imap-commands.h"
#include "lib/conn.h"

void cmd_logout(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	imap_printf(s, "* BYE Logging out\r\n");
	s->state = IMAP_STATE_LOGOUT;
	imap_cmd_ok(cmd, "LOGOUT completed");
	if (s->conn != NULL) {
		conn_set_close_reason(s->conn, "logout");
		conn_close(s->conn);
	}
}
