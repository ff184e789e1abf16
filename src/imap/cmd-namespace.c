/* NAMESPACE (RFC 2342; RFC 9051 6.3.10): one personal namespace, "/". */
#include "imap/imap-commands.h"

void cmd_namespace(struct imap_cmd *cmd)
{
	imap_printf(cmd->s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	imap_cmd_ok(cmd, "NAMESPACE completed");
}
