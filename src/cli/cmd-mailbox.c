/*
 * cmd-mailbox: `roost mailbox list ADDRESS` — an admin's view into an
 * account: one tab-separated line per mailbox (name, messages, unseen,
 * bytes).
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "store/store.h"
#include <inttypes.h>
#include <stdlib.h>

int cmd_mailbox_list(struct cli *cli, int argc, char **argv)
{
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	struct store_account a = {0};
	enum store_err err = store_account_get(cli->store, addr, &a);
	struct store_mailbox *list = NULL;
	size_t n = 0;
	if (err == STORE_OK)
		err = store_mailbox_list(cli->store, a.id, &list, &n);
	int code = cli_store_result(cli, err, NULL, addr);
	for (size_t i = 0; err == STORE_OK && i < n; i++)
		fprintf(cli->out, "%s\t%" PRIu32 "\t%" PRIu32 "\t%" PRId64 "\n", list[i].name,
			list[i].messages, list[i].unseen, list[i].bytes);
	store_mailbox_list_free(list, n);
	store_account_clear(&a);
	free(addr);
	return code;
}
