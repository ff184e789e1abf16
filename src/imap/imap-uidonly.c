/* imap-uidonly: see imap-uidonly.h. */
#include "imap/imap-uidonly.h"
#include "imap/imap-commands.h"
#include "imap/imap-session.h"
#include <string.h>

void imap_uidonly_fetch_start(const struct imap_session *s, struct buf *b, uint32_t seq,
			      uint32_t uid)
{
	if (s->uidonly)
		buf_printf(b, "* %u UIDFETCH (", uid);
	else
		buf_printf(b, "* %u FETCH (", seq);
}

bool imap_uidonly_refuse(struct imap_cmd *cmd)
{
	if (!cmd->s->uidonly || cmd->a.uid || (cmd->def->flags & IMAP_CMD_UID) == 0)
		return false;
	/* plain EXPUNGE names no message (RFC 9586 3: only UID-less forms
	 * that take sequence numbers are refused) */
	if (strcmp(cmd->def->name, "EXPUNGE") == 0)
		return false;
	imap_cmd_bad(cmd, "[UIDREQUIRED] Message sequence numbers are off (UIDONLY)");
	return true;
}
