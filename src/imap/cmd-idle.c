/*
 * IDLE (RFC 2177; RFC 9051 6.3.13). While idling, changes to the selected
 * mailbox are pushed as they are committed (imap_sync_notify); "DONE" ends
 * the command. Anything else ends it with BAD.
 */
#include "imap/imap-commands.h"
#include "imap/imap-sync.h"
#include <strings.h>

static void on_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_cmd_ok(cmd, "IDLE terminated");
	else
		imap_cmd_bad(cmd, "Expected DONE");
}

void cmd_idle(struct imap_cmd *cmd)
{
	if (cmd->a.count != 0) {
		imap_cmd_bad(cmd, "IDLE takes no arguments");
		return;
	}
	cmd->on_line = on_line;
	imap_printf(cmd->s, "+ idling\r\n");
	/* whatever happened before IDLE started goes out now */
	imap_sync(cmd->s, true);
}
