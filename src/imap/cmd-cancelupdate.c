/* CANCELUPDATE (RFC 5267 4.4): end live search results by the tags of
 * the commands that made them (imap-context.h).
 *   cancelupdate = "CANCELUPDATE" 1*(SP tag-string) */
#include "imap/imap-commands.h"
#include "imap/imap-context.h"

void cmd_cancelupdate(struct imap_cmd *cmd)
{
	const struct imap_command_args *a = &cmd->a;
	if (a->count == 0) {
		imap_cmd_bad(cmd, "CANCELUPDATE needs tags");
		return;
	}
	for (size_t i = 0; i < a->count; i++) {
		if (!imap_arg_is_astring(&a->args[i])) {
			imap_cmd_bad(cmd, "Tags are strings");
			return;
		}
	}
	/* every tag is checked before any context ends, so a BAD changes
	 * nothing */
	for (size_t i = 0; i < a->count; i++) {
		if (!imap_context_has(cmd->s, a->args[i].str)) {
			imap_cmd_bad(cmd, "No live result with that tag");
			return;
		}
	}
	for (size_t i = 0; i < a->count; i++)
		(void)imap_context_cancel(cmd->s, a->args[i].str);
	imap_cmd_ok(cmd, "CANCELUPDATE completed");
}
