/*
 * cmd-message: `roost message get ADDRESS MAILBOX UID` writes the stored
 * message (trace prefix + content) to stdout byte for byte, unchanged.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "store/store.h"
#include <errno.h>
#include <stdlib.h>

/* A UID is a non-zero 32-bit number (RFC 9051 2.3.1.1). */
static int parse_uid(const char *s, uint32_t *uid_r)
{
	if (s[0] < '1' || s[0] > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -1;
	*uid_r = (uint32_t)v;
	return 0;
}

int cmd_message_get(struct cli *cli, int argc, char **argv)
{
	uint32_t uid;
	if (parse_uid(argv[2], &uid) < 0)
		return cli_fail(cli, CLI_EX_ERROR, "%.32s: invalid UID", argv[2]);
	if (!store_mailbox_name_valid(argv[1]))
		return cli_fail(cli, CLI_EX_ERROR, "invalid mailbox name");
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	struct store_account a = {0};
	struct store_mailbox mb = {0};
	char *data = NULL;
	size_t len = 0;
	const char *what = addr;
	enum store_err err = store_account_get(cli->store, addr, &a);
	if (err == STORE_OK) {
		what = argv[1];
		err = store_mailbox_get(cli->store, a.id, argv[1], &mb);
	}
	if (err == STORE_OK) {
		what = argv[2];
		err = store_message_content(cli->store, a.id, mb.id, uid, &data, &len, NULL);
	}
	int code = cli_store_result(cli, err, NULL, what);
	if (err == STORE_OK && fwrite(data, 1, len, cli->out) != len)
		code = cli_fail(cli, CLI_EX_ERROR, "write error");
	free(data);
	store_mailbox_clear(&mb);
	store_account_clear(&a);
	free(addr);
	return code;
}
