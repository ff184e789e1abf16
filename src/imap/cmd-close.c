/*
 * CLOSE and UNSELECT (RFC 9051 6.4.1, 6.4.2). CLOSE expunges \Deleted
 * messages silently (no EXPUNGE responses) unless the mailbox is read-only;
 * UNSELECT just leaves.
 */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include <stdlib.h>

static void leave(struct imap_session *s)
{
	imap_view_free(&s->view);
	s->state = IMAP_STATE_AUTH;
}

static void cleanup(struct imap_cmd *cmd)
{
	struct store_op *op = cmd->ctx;
	store_op_clear(op);
	free(op);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	leave(cmd->s);
	if (op->err != STORE_OK)
		imap_op_fail(cmd, op->err, "CLOSE could not expunge");
	else
		imap_cmd_ok(cmd, "CLOSE completed");
}

void cmd_close(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->a.count != 0) {
		imap_cmd_bad(cmd, "CLOSE takes no arguments");
		return;
	}
	if (s->view->readonly) {
		leave(s);
		imap_cmd_ok(cmd, "CLOSE completed");
		return;
	}
	struct store_op *op = xcalloc(1, sizeof(*op));
	cmd->ctx = op;
	cmd->cleanup = cleanup;
	store_op_init(op, STORE_OP_EXPUNGE);
	op->u.expunge.account_id = s->account_id;
	op->u.expunge.mailbox_id = s->view->mailbox_id;
	op->u.expunge.only_deleted = true;
	/* Stop reporting: nothing about this mailbox goes out any more. */
	imap_op_submit(cmd, op, done);
}

void cmd_unselect(struct imap_cmd *cmd)
{
	if (cmd->a.count != 0) {
		imap_cmd_bad(cmd, "UNSELECT takes no arguments");
		return;
	}
	leave(cmd->s);
	imap_cmd_ok(cmd, "UNSELECT completed");
}
