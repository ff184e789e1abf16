/* imap-op: see imap-op.h. */
#include "imap/imap-op.h"
#include "imap/imap-session.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include <stdlib.h>

struct op_wrap {
	struct imap_cmd *cmd;
	imap_op_done_fn *done;
};

static void op_done(struct store_op *op, void *ctx)
{
	struct op_wrap *w = ctx;
	struct imap_cmd *cmd = w->cmd;
	imap_op_done_fn *done = w->done;
	free(w);
	/* The session may have lost its client meanwhile: then this frees it
	 * (and the command, and the op) and we stop here. */
	if (!imap_session_unref(cmd->s))
		return;
	done(cmd, op);
}

void imap_op_submit(struct imap_cmd *cmd, struct store_op *op, imap_op_done_fn *done)
{
	struct op_wrap *w = xmalloc(sizeof(*w));
	w->cmd = cmd;
	w->done = done;
	imap_session_ref(cmd->s);
	if (cmd->s->conn != NULL)
		conn_pause(cmd->s->conn);
	store_submit(cmd->s->srv->store, op, op_done, w);
}

const char *imap_store_err_code(enum store_err err)
{
	switch (err) {
	case STORE_OK: return "";
	case STORE_ENOTFOUND: return "[NONEXISTENT] ";
	case STORE_EEXISTS: return "[ALREADYEXISTS] ";
	case STORE_EPERM: return "[CANNOT] ";
	case STORE_ENOQUOTA: return "[OVERQUOTA] ";
	case STORE_EEXPUNGED: return "[EXPUNGEISSUED] ";
	case STORE_EINUSE: return "[INUSE] ";
	case STORE_ELIMIT: return "[LIMIT] ";
	case STORE_EINVAL: return "[CANNOT] ";
	case STORE_ENOSPACE: return "[UNAVAILABLE] ";
	case STORE_ETEMP: return "[UNAVAILABLE] ";
	case STORE_ECORRUPT: return "[SERVERBUG] ";
	}
	return "[SERVERBUG] ";
}

void imap_store_no(struct imap_cmd *cmd, enum store_err err, const char *text)
{
	imap_cmd_no(cmd, "%s%s", imap_store_err_code(err), text);
}

void imap_op_fail(struct imap_cmd *cmd, enum store_err err, const char *what)
{
	imap_cmd_no(cmd, "%s%s: %s", imap_store_err_code(err), what, store_strerror(err));
}
