/* imap-messagelimit: see imap-messagelimit.h. */
#include "imap/imap-messagelimit.h"
#include "imap/imap-session.h"
#include <string.h>

uint32_t imap_messagelimit(const struct imap_session *s)
{
	return s->srv->message_limit;
}

uint32_t imap_messagelimit_cut(const struct imap_session *s, uint32_t *uids, size_t *n)
{
	uint32_t limit = imap_messagelimit(s);
	if (limit == 0 || *n <= limit)
		return 0;
	/* RFC 9738 3.1: the highest UIDs are the ones processed */
	memmove(uids, uids + (*n - limit), limit * sizeof(*uids));
	*n = limit;
	return uids[0];
}

void imap_messagelimit_ok(struct imap_cmd *cmd, uint32_t lowest, const char *other_code,
			  const char *text)
{
	uint32_t limit = imap_messagelimit(cmd->s);
	if (other_code != NULL) {
		imap_printf(cmd->s, "* NO [MESSAGELIMIT %u %u] Only the %u messages from UID %u up"
				    " were processed\r\n", limit, lowest, limit, lowest);
		imap_cmd_ok(cmd, "[%s] %s", other_code, text);
		return;
	}
	imap_cmd_ok(cmd, "[MESSAGELIMIT %u %u] %s, only the %u messages from UID %u up", limit, lowest,
		    text, limit, lowest);
}

void imap_messagelimit_no(struct imap_cmd *cmd, uint32_t lowest, const char *text)
{
	uint32_t limit = imap_messagelimit(cmd->s);
	if (lowest != 0)
		imap_cmd_no(cmd, "[MESSAGELIMIT %u %u] %s: more than %u messages", limit, lowest, text,
			    limit);
	else
		imap_cmd_no(cmd, "[MESSAGELIMIT %u] %s: more than %u messages", limit, text, limit);
}
