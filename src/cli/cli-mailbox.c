/*
 * cli-mailbox: the mailbox an import or a migration writes into, found by
 * name or created (with its SPECIAL-USE attribute) when it is missing.
 */
#include "cli/cli.h"
#include "store/store.h"

int cli_mailbox_ensure(struct cli *cli, int64_t account_id, const char *name,
		       const char *special_use, int64_t *id_r, bool *created_r)
{
	*created_r = false;
	/* twice at most: a client may create the mailbox between our look
	 * and our create (EEXISTS), then it is found the second time */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct store_mailbox mb = {0};
		enum store_err err = store_mailbox_get(cli->store, account_id, name, &mb);
		if (err == STORE_OK) {
			*id_r = mb.id;
			store_mailbox_clear(&mb);
			return STORE_OK;
		}
		if (err != STORE_ENOTFOUND)
			return err;
		struct store_op op;
		store_op_init(&op, STORE_OP_MAILBOX_CREATE);
		op.u.mailbox.account_id = account_id;
		op.u.mailbox.name = name;
		op.u.mailbox.special_use = special_use;
		err = store_run(cli->store, &op);
		*id_r = op.u.mailbox.mailbox_id;
		store_op_clear(&op);
		if (err != STORE_EEXISTS) {
			*created_r = err == STORE_OK;
			return err;
		}
	}
	return STORE_EEXISTS;
}
