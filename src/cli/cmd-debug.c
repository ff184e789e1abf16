/*
 * cmd-debug: `roost debug fail-reads <count> ioerr|busy [<skip>]`, the
 * test-only switch of the store's read fault hook (store.h,
 * store_debug_fail_reads). It only acts inside a running daemon whose
 * configuration says debug.fault_injection = yes (default no): the e2e
 * tests use it to prove that a failing read gives a temporary error
 * (451 4.3.0, NO [UNAVAILABLE], -ERR [SYS/TEMP]) and never "no such user".
 * `roost debug memory` reports the daemon's memory budget (lib/membudget.h);
 * read-only, so it needs no switch.
 */
#include "cli/cli.h"
#include "lib/config.h"
#include "lib/membudget.h"
#include "store/store.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Most read steps one command may arm (or skip). */
#define CLI_DEBUG_MAX_FAULTS 1000000u

static int parse_count(const char *arg, unsigned *n_r)
{
	if (arg[0] < '0' || arg[0] > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v > CLI_DEBUG_MAX_FAULTS)
		return -1;
	*n_r = (unsigned)v;
	return 0;
}

int cmd_debug_fail_reads(struct cli *cli, int argc, char **argv)
{
	if (!cli->via_daemon)
		return cli_fail(cli, CLI_EX_ERROR, "debug fail-reads: needs a running daemon (roost serve)");
	if (!config_bool(cli->cfg, "debug.fault_injection"))
		return cli_fail(cli, CLI_EX_ERROR,
				"debug fail-reads: refused: debug.fault_injection is off (a test-only setting)");
	unsigned count, skip = 0;
	if (parse_count(argv[0], &count) < 0 || (argc == 3 && parse_count(argv[2], &skip) < 0))
		return cli_fail(cli, CLI_EX_USAGE, "debug fail-reads: counts are 0..%u",
				CLI_DEBUG_MAX_FAULTS);
	enum store_fault kind;
	if (strcmp(argv[1], "ioerr") == 0)
		kind = STORE_FAULT_IOERR;
	else if (strcmp(argv[1], "busy") == 0)
		kind = STORE_FAULT_BUSY;
	else
		return cli_fail(cli, CLI_EX_USAGE, "debug fail-reads: '%.32s': expected ioerr or busy",
				argv[1]);
	store_debug_fail_reads(skip, count, kind);
	fprintf(cli->out, "armed\t%u\t%s\tafter %u\n", count, argv[1], skip);
	return CLI_EX_OK;
}

int cmd_debug_memory(struct cli *cli, int argc, char **argv)
{
	/* The budget lives in the daemon: this process's own is meaningless. */
	if (!cli->via_daemon)
		return cli_fail(cli, CLI_EX_ERROR, "debug memory: needs a running daemon (roost serve)");
	fprintf(cli->out, "used\t%zu\nlimit\t%zu\n", membudget_used(), membudget_limit());
	return CLI_EX_OK;
}
