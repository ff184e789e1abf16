/*
 * cmd-domain: `roost domain add|del|list`, and `roost domain dkim DOMAIN
 * generate|rotate|show|remove` (the domain's DKIM keys, dkim/dkim.h). A hosted domain is one whose
 * addresses Roost accepts mail for; everything else is relaying and is
 * refused.
 */
#include "cli/cli.h"
#include "dkim/dkim.h"
#include "lib/buf.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include "store/store.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Is `domain` hosted? 1 yes, 0 no (after printing why), -1 store error. */
static int domain_hosted(struct cli *cli, const char *domain)
{
	char **names = NULL;
	size_t n = 0;
	enum store_err err = store_domain_list(cli->store, &names, &n);
	if (err != STORE_OK) {
		cli_store_result(cli, err, NULL, "domain list");
		return -1;
	}
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		found |= strcmp(names[i], domain) == 0;
		free(names[i]);
	}
	free(names);
	if (!found)
		cli_fail(cli, CLI_EX_ERROR, "%s: not a hosted domain (roost domain add %s)", domain,
			 domain);
	return found;
}

/* A new selector: "roostYYYYMMDD", then "roostYYYYMMDD-2"... for a second
 * rotation on one day. A date says when a key was made, which is what an
 * administrator asks when deciding whether an old record may go. */
static char *new_selector(struct cli *cli, const char *domain)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char base[32];
	strftime(base, sizeof(base), "roost%Y%m%d", &tm);
	char **sels = NULL;
	size_t n = 0;
	char *error = NULL;
	if (dkim_selectors(cli->datadir, domain, &sels, &n, &error) < 0) {
		cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		return NULL;
	}
	char *sel = NULL;
	for (int k = 1; k < 100 && sel == NULL; k++) {
		char *cand = k == 1 ? xstrdup(base) : xasprintf("%s-%d", base, k);
		int used = 0;
		for (size_t i = 0; i < n; i++)
			used |= strcmp(sels[i], cand) == 0;
		if (used)
			free(cand);
		else
			sel = cand;
	}
	for (size_t i = 0; i < n; i++)
		free(sels[i]);
	free(sels);
	if (sel == NULL)
		cli_fail(cli, CLI_EX_ERROR, "%s: too many selectors today", domain);
	return sel;
}

static int dkim_generate(struct cli *cli, const char *domain, const char *selector, int rotate)
{
	char *current = NULL, *error = NULL;
	int r = dkim_current_selector(cli->datadir, domain, &current, &error);
	if (r < 0) {
		cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		return CLI_EX_ERROR;
	}
	if (r == 0 && !rotate) {
		cli_fail(cli, CLI_EX_ERROR, "%s already has DKIM keys (selector %s): use rotate", domain,
			 current);
		free(current);
		return CLI_EX_ERROR;
	}
	if (r == 1 && rotate) {
		cli_fail(cli, CLI_EX_ERROR, "%s has no DKIM keys yet: use generate", domain);
		return CLI_EX_ERROR;
	}
	char *sel = selector != NULL ? xstrdup(selector) : new_selector(cli, domain);
	if (sel == NULL) {
		free(current);
		return CLI_EX_ERROR;
	}
	int code = CLI_EX_OK;
	if (dkim_keys_generate(cli->datadir, domain, sel, &error) < 0) {
		code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
	} else {
		fprintf(cli->out, "selector\t%s\n", sel);
		if (rotate)
			fprintf(cli->out,
				"note\tnew mail is signed with %s; keep the records of %s published for "
				"at least a week (mail it signed may still be in transit or re-verified), "
				"then: roost domain dkim %s remove %s\n",
				sel, current, domain, current);
		fprintf(cli->out, "publish\troost domain dkim %s show\n", domain);
	}
	free(sel);
	free(current);
	return code;
}

static int dkim_show(struct cli *cli, const char *domain)
{
	char *current = NULL, *error = NULL;
	int r = dkim_current_selector(cli->datadir, domain, &current, &error);
	if (r != 0) {
		if (r > 0)
			return cli_fail(cli, CLI_EX_ERROR,
					"%s has no DKIM keys: roost domain dkim %s generate", domain,
					domain);
		cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		return CLI_EX_ERROR;
	}
	char **sels = NULL;
	size_t n = 0;
	struct buf out;
	buf_init(&out, (size_t)1 << 20);
	int code = CLI_EX_OK;
	if (dkim_selectors(cli->datadir, domain, &sels, &n, &error) < 0 ||
	    dkim_dns_records(cli->datadir, domain, current, &out, &error) < 0) {
		code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
	}
	for (size_t i = 0; i < n && code == CLI_EX_OK; i++) {
		if (strcmp(sels[i], current) == 0)
			continue;
		buf_printf(&out, "; %s: retired selector, keep published about a week after the "
				 "rotation, then: roost domain dkim %s remove %s\n",
			   sels[i], domain, sels[i]);
		if (dkim_dns_records(cli->datadir, domain, sels[i], &out, &error) < 0) {
			code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
			free(error);
		}
	}
	if (code == CLI_EX_OK)
		fwrite(out.data, 1, out.len, cli->out);
	for (size_t i = 0; i < n; i++)
		free(sels[i]);
	free(sels);
	buf_free(&out);
	free(current);
	return code;
}

static int dkim_remove(struct cli *cli, const char *domain, const char *selector)
{
	char *error = NULL;
	if (dkim_keys_remove(cli->datadir, domain, selector, &error) < 0) {
		cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		return CLI_EX_ERROR;
	}
	fprintf(cli->out, "removed\t%s\nunpublish\t%s-rsa._domainkey.%s, %s-ed25519._domainkey.%s\n",
		selector, selector, domain, selector, domain);
	return CLI_EX_OK;
}

int cmd_domain_dkim(struct cli *cli, int argc, char **argv)
{
	char *domain = domain_arg(cli, argv[0]);
	if (domain == NULL)
		return CLI_EX_ERROR;
	const char *verb = argv[1];
	int code;
	int takes_selector = strcmp(verb, "generate") == 0 || strcmp(verb, "remove") == 0;
	if ((argc == 3 && !takes_selector) || (argc == 2 && strcmp(verb, "remove") == 0)) {
		code = cli_fail(cli, CLI_EX_USAGE,
				"domain dkim: generate may, remove must, name a selector; "
				"rotate and show take none");
	} else if (argc == 3 && !dkim_selector_valid(argv[2])) {
		code = cli_fail(cli, CLI_EX_USAGE,
				"domain dkim: '%.63s': a selector is 1-%d of a-z 0-9 -", argv[2],
				DKIM_MAX_SELECTOR);
	} else if (strcmp(verb, "generate") != 0 && strcmp(verb, "rotate") != 0 &&
		   strcmp(verb, "show") != 0 && strcmp(verb, "remove") != 0) {
		code = cli_fail(cli, CLI_EX_USAGE,
				"domain dkim: '%.32s': expected generate|rotate|show|remove", verb);
	} else {
		int hosted = domain_hosted(cli, domain);
		if (hosted <= 0)
			code = CLI_EX_ERROR;
		else if (strcmp(verb, "show") == 0)
			code = dkim_show(cli, domain);
		else if (strcmp(verb, "remove") == 0)
			code = dkim_remove(cli, domain, argv[2]);
		else
			code = dkim_generate(cli, domain, argc == 3 ? argv[2] : NULL,
					     strcmp(verb, "rotate") == 0);
	}
	free(domain);
	return code;
}
