/* CAPABILITY (RFC 9051 6.1.1). */
#include "imap/imap-commands.h"
#include "lib/buf.h"

void cmd_capability(struct imap_cmd *cmd)
{
	struct buf b;
	buf_init(&b, 4096);
	imap_capabilities(cmd->s, &b);
	imap_printf(cmd->s, "* CAPABILITY %s\r\n", b.data);
	buf_free(&b);
	imap_cmd_ok(cmd, "CAPABILITY completed");
}
