/*
 * cmd-domain: `roost domain add|del|list`. A hosted domain is one whose
 * addresses Roost accepts mail for; everything else is relaying and is
 * refused.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include "store/store.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Validate a domain argument and lowercase it; NULL after printing why. */
static char *domain_arg(struct cli *cli, const char *arg)
{
	if (!domain_valid(arg)) {
		cli_fail(cli, CLI_EX_ERROR, "%.*s: invalid domain name", ADDRESS_MAX_DOMAIN, arg);
		return NULL;
	}
	char *d = xstrdup(arg);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

int cmd_domain_add(struct cli *cli, int argc, char **argv)
{
	char *domain = domain_arg(cli, argv[0]);
	if (domain == NULL)
		return CLI_EX_ERROR;
	char *error = NULL;
	enum store_err err = store_domain_add(cli->store, domain, &error);
	int code = cli_store_result(cli, err, error, domain);
	free(domain);
	return code;
}

int cmd_domain_del(struct cli *cli, int argc, char **argv)
{
	char *domain = domain_arg(cli, argv[0]);
	if (domain == NULL)
		return CLI_EX_ERROR;
	char *error = NULL;
	enum store_err err = store_domain_del(cli->store, domain, &error);
	int code = cli_store_result(cli, err, error, domain);
	free(domain);
	return code;
}

int cmd_domain_list(struct cli *cli, int argc, char **argv)
{
	char **names = NULL;
	size_t n = 0;
	enum store_err err = store_domain_list(cli->store, &names, &n);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, "domain list");
	for (size_t i = 0; i < n; i++) {
		fprintf(cli->out, "%s\n", names[i]);
		free(names[i]);
	}
	free(names);
	return CLI_EX_OK;
}
