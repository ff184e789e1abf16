/*
 * cmd-alias: `roost alias add|del|list`. An alias maps an address to one
 * or more accounts; "@domain" as the alias names the domain's catch-all
 * (mail to unknown users of that domain).
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include "store/store.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* "@domain" -> lowercased domain; NULL if arg is not of that form. */
static char *catchall_domain(const char *arg)
{
	if (arg[0] != '@' || !domain_valid(arg + 1))
		return NULL;
	char *d = xstrdup(arg + 1);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

int cmd_alias_add(struct cli *cli, int argc, char **argv)
{
	char *target = cli_address(cli, argv[1]);
	if (target == NULL)
		return CLI_EX_ERROR;
	char *error = NULL;
	int code;
	char *domain = catchall_domain(argv[0]);
	if (domain != NULL) {
		enum store_err err = store_domain_catchall(cli->store, domain, target, &error);
		code = cli_store_result(cli, err, error, argv[0]);
		free(domain);
	} else {
		char *alias = cli_address(cli, argv[0]);
		if (alias == NULL) {
			free(target);
			return CLI_EX_ERROR;
		}
		enum store_err err = store_alias_add(cli->store, alias, target, &error);
		code = cli_store_result(cli, err, error, alias);
		free(alias);
	}
	free(target);
	return code;
}

int cmd_alias_del(struct cli *cli, int argc, char **argv)
{
	char *error = NULL;
	int code;
	char *domain = catchall_domain(argv[0]);
	if (domain != NULL) {
		/* A domain has one catch-all: any target given names it. */
		enum store_err err = store_domain_catchall(cli->store, domain, NULL, &error);
		code = cli_store_result(cli, err, error, argv[0]);
		free(domain);
		return code;
	}
	char *alias = cli_address(cli, argv[0]);
	if (alias == NULL)
		return CLI_EX_ERROR;
	char *target = NULL;
	if (argc > 1 && (target = cli_address(cli, argv[1])) == NULL) {
		free(alias);
		return CLI_EX_ERROR;
	}
	enum store_err err = store_alias_del(cli->store, alias, target, &error);
	code = cli_store_result(cli, err, error, alias);
	free(alias);
	free(target);
	return code;
}

int cmd_alias_list(struct cli *cli, int argc, char **argv)
{
	struct store_alias *list = NULL;
	size_t n = 0;
	enum store_err err = store_alias_list(cli->store, &list, &n);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, "alias list");
	for (size_t i = 0; i < n; i++)
		fprintf(cli->out, "%s\t%s\n", list[i].alias, list[i].target);
	store_alias_list_free(list, n);
	return CLI_EX_OK;
}
