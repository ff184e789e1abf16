/* NOTIFY (RFC 5465): NOTIFY SET [STATUS] (filter events)... and NOTIFY
 * NONE. The groups, the watch and event delivery live in imap-notify.c. */
#include "imap/imap-commands.h"
#include "imap/imap-notify.h"
#include <stdlib.h>
#include <strings.h>

void cmd_notify(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *a = cmd->a.args;
	if (cmd->a.count == 1 && a[0].type == IMAP_ARG_ATOM && strcasecmp(a[0].str, "NONE") == 0) {
		imap_notify_free(&s->notify);
		imap_cmd_ok(cmd, "NOTIFY NONE completed");
		return;
	}
	if (cmd->a.count < 2 || a[0].type != IMAP_ARG_ATOM || strcasecmp(a[0].str, "SET") != 0) {
		imap_cmd_bad(cmd, "Expected NOTIFY SET or NOTIFY NONE");
		return;
	}
	struct imap_notify *n = NULL;
	bool send_status = false;
	const char *status = NULL;
	char *error = NULL;
	if (imap_notify_parse(s, a + 1, cmd->a.count - 1, &n, &send_status, &status, &error) < 0) {
		imap_cmd_finish(cmd, status, "%s", error);
		free(error);
		return;
	}
	imap_notify_set(s, n, send_status);
	imap_cmd_ok(cmd, "NOTIFY completed");
}
