/* NOOP and CHECK (RFC 9051 6.1.2; CHECK is RFC 3501 6.4.1, a NOOP here since
 * every change is already durable). Pending updates go out before OK. */
#include "imap/imap-commands.h"

void cmd_noop(struct imap_cmd *cmd)
{
	imap_cmd_ok(cmd, "NOOP completed");
}

void cmd_check(struct imap_cmd *cmd)
{
	imap_cmd_ok(cmd, "CHECK completed");
}
