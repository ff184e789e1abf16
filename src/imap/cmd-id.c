/* ID (RFC 2971): the client's list is accepted (and bounded by the parser);
 * the server names itself. */
#include "imap/imap-commands.h"

void cmd_id(struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->a.count == 1 ? &cmd->a.args[0] : NULL;
	if (a == NULL || (a->type != IMAP_ARG_LIST && !imap_arg_is_nil(a)) ||
	    (a->type == IMAP_ARG_LIST && (a->count % 2 != 0 || a->count > 60))) {
		imap_cmd_bad(cmd, "ID takes NIL or a list of field/value pairs");
		return;
	}
	imap_printf(cmd->s, "* ID (\"name\" \"Roost\" \"vendor\" \"Roost\")\r\n");
	imap_cmd_ok(cmd, "ID completed");
}
