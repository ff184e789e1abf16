/*
 * THREAD and UID THREAD (RFC 5256 section 4):
 *   thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
 * Algorithms ORDEREDSUBJECT and REFERENCES (imap-thread.c); an unknown
 * algorithm is BAD. The reply is "* THREAD" and the thread lists.
 */
#include "imap/imap-commands.h"
#include "imap/imap-sort.h"
#include "imap/imap-thread.h"
#include "lib/buf.h"
#include <stdlib.h>

void cmd_thread(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_command_args *a = &cmd->a;
	enum imap_thread_alg alg;
	if (a->count < 1 || a->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Missing thread algorithm");
		return;
	}
	if (imap_thread_alg_parse(a->args[0].str, &alg) < 0) {
		imap_cmd_bad(cmd, "Unknown thread algorithm");
		return;
	}
	uint32_t *idx;
	size_t n;
	if (imap_sort_search(cmd, a->args + 1, a->count - 1, false, &idx, &n) < 0)
		return;
	struct imap_sort_msg *msgs;
	int rc = imap_sort_load(s, idx, n, imap_thread_needs(alg), &msgs);
	free(idx);
	if (rc < 0) {
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot read messages");
		return;
	}
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, n ? "* THREAD " : "* THREAD");
	imap_thread_format(alg, msgs, n, a->uid, &b);
	buf_puts(&b, "\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	imap_sort_msgs_free(&msgs, n);
	imap_cmd_ok(cmd, "THREAD completed");
}
