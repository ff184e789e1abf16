/*
 * cmd-who: `roost who [<address>]` lists the live logged-in sessions
 * (IMAP, POP3, submission) from the daemon's session registry
 * (lib/registry.c): address, protocol, client address, login time (UTC),
 * selected mailbox. Without a running daemon there is no session and
 * nothing is printed.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/registry.h"
#include "store/store.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One registry line "owner\tsince\tproto\tip\tmailbox" printed with the
 * owner's address and the time in ISO 8601. */
static void print_line(struct cli *cli, char *line)
{
	char *since_s = strchr(line, '\t');
	if (since_s == NULL)
		return;
	*since_s++ = '\0';
	char *rest = strchr(since_s, '\t');
	if (rest == NULL)
		return;
	*rest++ = '\0';
	int64_t owner = strtoll(line, NULL, 10);
	time_t since = (time_t)strtoll(since_s, NULL, 10);
	struct store_account a = {0};
	/* an account deleted meanwhile: its sessions are ending, show the id */
	enum store_err err = store_account_get_by_id(cli->store, owner, &a);
	char when[32];
	struct tm tm;
	gmtime_r(&since, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *proto = rest, *ip = "-", *mailbox = "-";
	char *tab = strchr(proto, '\t');
	if (tab != NULL) {
		*tab = '\0';
		ip = tab + 1;
		tab = strchr(ip, '\t');
		if (tab != NULL) {
			*tab = '\0';
			mailbox = tab + 1;
		}
	}
	if (err == STORE_OK)
		fprintf(cli->out, "%s\t%s\t%s\t%s\t%s\n", a.address, proto, ip, when, mailbox);
	else
		fprintf(cli->out, "(account %" PRId64 ")\t%s\t%s\t%s\t%s\n", owner, proto, ip, when,
			mailbox);
	if (err == STORE_OK)
		store_account_clear(&a);
}

/* The account id of an address argument: 0 and *id_r, or the exit code
 * after printing why ("no such account", or a store error). */
static int account_of(struct cli *cli, const char *arg, int64_t *id_r)
{
	char *addr = cli_address(cli, arg);
	if (addr == NULL)
		return CLI_EX_ERROR;
	struct store_account a = {0};
	enum store_err err = store_account_get(cli->store, addr, &a);
	int code = cli_store_result(cli, err, err == STORE_ENOTFOUND ? xstrdup("no such account") : NULL,
				    addr);
	free(addr);
	*id_r = err == STORE_OK ? a.id : 0;
	if (err == STORE_OK)
		store_account_clear(&a);
	return code;
}

int cmd_who(struct cli *cli, int argc, char **argv)
{
	int64_t owner = 0;
	int code = argc == 1 ? account_of(cli, argv[0], &owner) : 0;
	if (code != 0)
		return code;
	if (!cli->via_daemon)
		return 0; /* no daemon, no session */
	char *text = NULL;
	if (registry_list_wait(owner, &text) < 0)
		return cli_fail(cli, 1, "the daemon did not answer (shutting down?)");
	for (char *line = text, *nl; line != NULL && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		print_line(cli, line);
	}
	free(text);
	return 0;
}

int cmd_kick(struct cli *cli, int argc, char **argv)
{
	int64_t id = 0;
	int code = account_of(cli, argv[0], &id);
	if (code != 0)
		return code;
	int n = 0;
	if (cli->via_daemon) {
		n = registry_end_owner_wait(id, "Session ended by the administrator");
		if (n < 0)
			return cli_fail(cli, 1, "the daemon did not answer (shutting down?)");
	}
	fprintf(cli->out, "%d\n", n);
	return 0;
}
