/*
 * cmd-user-pop3: `roost user pop3-mailboxes <address> inbox|all|default`,
 * the per-account override of pop3.mailboxes (which mailboxes a POP3
 * maildrop holds). Takes effect at the account's next POP3 login.
 */
#include "cli/cli.h"
#include "store/store-pop3.h"
#include <stdlib.h>
#include <string.h>

int cmd_user_pop3_mailboxes(struct cli *cli, int argc, char **argv)
{
	const char *mode = argv[1];
	if (strcmp(mode, "default") == 0)
		mode = NULL;
	else if (strcmp(mode, "inbox") != 0 && strcmp(mode, "all") != 0)
		return cli_fail(cli, CLI_EX_ERROR, "%.64s: invalid mode (expected inbox, all or default)",
				argv[1]);
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	char *error = NULL;
	enum store_err err = store_account_pop3_mailboxes(cli->store, addr, mode, &error);
	int code = cli_store_result(cli, err, error, addr);
	free(addr);
	return code;
}
