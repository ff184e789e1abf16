/* ENABLE (RFC 5161; RFC 9051 6.3.1). IMAP4rev2 switches this session to
 * rev2 semantics: UTF-8 mailbox names, no \Recent, ESEARCH-style SEARCH.
 * CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2.3; QRESYNC implies CONDSTORE)
 * add MODSEQ to FETCH responses and VANISHED in place of EXPUNGE.
 *
 * UTF8=ACCEPT (RFC 6855) turns on, for this session: UTF-8 mailbox names;
 * UTF-8 in the quoted strings the server sends (imap_session_buf_string;
 * never before, RFC 6855 3); APPEND of messages with 8-bit header fields,
 * which without it are refused with NO (RFC 6855 4, imap-append.c).
 * Messages with UTF-8 header fields (SMTPUTF8 mail) reach clients that did
 * not enable it as stored, not downgraded: header bytes in BODY[...] and
 * 8-bit ENVELOPE/BODYSTRUCTURE strings always travel as literals, which
 * carry 8-bit text validly (RFC 3501 4.3). RFC 6855 section 7 leaves the
 * legacy-client choice (hide, notify, or a surrogate per RFC 6857/6858) to
 * the server; a surrogate would give two clients of one mailbox different
 * bytes, sizes and partial-fetch offsets for the same UID. */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "lib/buf.h"
#include <strings.h>

void cmd_enable(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct buf b;
	if (cmd->a.count == 0) {
		imap_cmd_bad(cmd, "ENABLE needs capability names");
		return;
	}
	buf_init(&b, 4096);
	for (size_t i = 0; i < cmd->a.count; i++) {
		const struct imap_arg *a = &cmd->a.args[i];
		if (a->type != IMAP_ARG_ATOM) {
			buf_free(&b);
			imap_cmd_bad(cmd, "Capability names are atoms");
			return;
		}
		if (strcasecmp(a->str, "IMAP4rev2") == 0 && !s->rev2) {
			s->rev2 = true;
			s->utf8_names = true;
			buf_puts(&b, " IMAP4rev2");
		} else if (strcasecmp(a->str, "CONDSTORE") == 0 && !s->condstore) {
			imap_condstore_enable(s);
			buf_puts(&b, " CONDSTORE");
		} else if (strcasecmp(a->str, "QRESYNC") == 0 && !s->qresync) {
			/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE; ENABLED
			 * lists only what the client named (RFC 5161 3.2) */
			imap_condstore_enable(s);
			s->qresync = true;
			buf_puts(&b, " QRESYNC");
		} else if (strcasecmp(a->str, "UIDONLY") == 0 && !s->uidonly) {
			/* RFC 9586 3: UIDs only from now on (imap-uidonly.h) */
			s->uidonly = true;
			buf_puts(&b, " UIDONLY");
		} else if (strcasecmp(a->str, "UTF8=ACCEPT") == 0 && !s->utf8_accept) {
			/* RFC 6855 3: UTF-8 mailbox names and quoted strings,
			 * and APPEND's "UTF8 (literal8)" (imap-append.c) */
			s->utf8_accept = true;
			s->utf8_names = true;
			buf_puts(&b, " UTF8=ACCEPT");
		}
	}
	imap_printf(s, "* ENABLED%s\r\n", b.data ? b.data : "");
	buf_free(&b);
	imap_cmd_ok(cmd, "ENABLE completed");
}
