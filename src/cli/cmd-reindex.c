/*
 * cmd-reindex: `roost reindex [<address>]` — (re)build the full-text
 * index SEARCH uses (store-fts.h) for one account's messages, or for
 * all. Needed for messages stored while search.fts was off; safe beside
 * a running daemon (its writer takes the index rows in small batches).
 * Prints "indexed <n>" (contents; copies share one).
 */
#include "cli/cli.h"
#include "store/store-fts.h"
#include <inttypes.h>
#include <stdlib.h>

int cmd_reindex(struct cli *cli, int argc, char **argv)
{
	int64_t account_id = 0;
	if (argc == 1) {
		char *addr = cli_address(cli, argv[0]);
		if (addr == NULL)
			return CLI_EX_ERROR;
		struct store_account a = {0};
		enum store_err err = store_account_get(cli->store, addr, &a);
		if (err != STORE_OK) {
			int code = cli_store_result(cli, err, NULL, addr);
			free(addr);
			return code;
		}
		free(addr);
		account_id = a.id;
		store_account_clear(&a);
	}
	size_t n = 0;
	char *error = NULL;
	enum store_err err = store_fts_reindex(cli->store, account_id, &n, &error);
	if (err != STORE_OK)
		return cli_store_result(cli, err, error, "reindex");
	free(error);
	fprintf(cli->out, "indexed %zu\n", n);
	return CLI_EX_OK;
}
