/* COMPRESS (RFC 4978). The tagged OK goes out uncompressed; from the next
 * byte on, both directions are raw deflate (lib/conn.c, lib/compress.c),
 * including whatever the client pipelined after the command. */
#include "imap/imap-commands.h"
#include "lib/conn.h"
#include <strings.h>

void cmd_compress(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->a.count != 1 || cmd->a.args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "COMPRESS takes one mechanism name");
		return;
	}
	if (strcasecmp(cmd->a.args[0].str, "DEFLATE") != 0) {
		imap_cmd_bad(cmd, "Unknown compression mechanism");
		return;
	}
	/* RFC 4978 section 3: the same mechanism is already in effect. */
	if (s->conn == NULL || conn_deflate_active(s->conn)) {
		imap_cmd_no(cmd, "[COMPRESSIONACTIVE] DEFLATE is already active");
		return;
	}
	struct conn *c = s->conn;
	imap_cmd_ok(cmd, "DEFLATE active");
	if (conn_start_deflate(c) < 0)
		imap_session_bye(s, "Compression failed");
}
