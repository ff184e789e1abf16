/* LOGIN (RFC 9051 6.2.3). Refused without TLS unless auth.allow_plaintext
 * permits it (then CAPABILITY says LOGINDISABLED). */
#include "imap/imap-auth.h"
#include "imap/imap-commands.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include <string.h>

void cmd_login(struct imap_cmd *cmd)
{
	if (cmd->a.count != 2 || !imap_arg_is_astring(&cmd->a.args[0]) ||
	    !imap_arg_is_astring(&cmd->a.args[1])) {
		imap_cmd_bad(cmd, "LOGIN needs a user name and a password");
		return;
	}
	if (!conn_plaintext_auth_ok(cmd->s->conn)) {
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
		return;
	}
	struct imap_arg *pass = &cmd->a.args[1];
	if (memchr(cmd->a.args[0].str, '\0', cmd->a.args[0].len) != NULL ||
	    memchr(pass->str, '\0', pass->len) != NULL) {
		wipe(pass->str, pass->len);
		imap_cmd_bad(cmd, "NUL in user name or password");
		return;
	}
	/* the arguments are wiped when the command ends (IMAP_CMD_SECRET) */
	imap_auth_attempt(cmd, cmd->a.args[0].str, pass->str);
}
