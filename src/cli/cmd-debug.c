/*
 * cmd-debug: `roost debug fail-reads <count> ioerr|busy [<skip>]`, the
 * test-only switch of the store's read fault hook (store.h,
 * store_debug_fail_reads). It only acts inside a running daemon whose
 * configuration says debug.fault_injection = yes (default no): the e2e
 * tests use it to prove that a failing read gives a temporary error
 * (451 4.3.0, NO [UNAVAILABLE], -ERR [SYS/TEMP]) and never "no such user".
 * `roost debug memory` reports the daemon's memory budget (lib/membudget.h);
 * read-only, so it needs no switch. `roost debug dkim-sign DOMAIN` signs
 * the message on stdin (dkim/dkim.h) for independent verifiers.
 */
#include "cli/cli.h"
#include "dkim/dkim.h"
#include "lib/config.h"
#include "lib/membudget.h"
#include "store/store.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The fault switches act only inside a daemon that allows them: the
 * refusal's exit code, or CLI_EX_OK when `cmd` may go on. */
static int fault_switch_refused(struct cli *cli, const char *cmd)
{
	if (!cli->via_daemon)
		return cli_fail(cli, CLI_EX_ERROR, "debug %s: needs a running daemon (roost serve)",
				cmd);
	if (!config_bool(cli->cfg, "debug.fault_injection"))
		return cli_fail(cli, CLI_EX_ERROR,
				"debug %s: refused: debug.fault_injection is off (a test-only setting)",
				cmd);
	return CLI_EX_OK;
}

int cmd_debug_fail_reads(struct cli *cli, int argc, char **argv)
{
	int refused = fault_switch_refused(cli, "fail-reads");
	if (refused != CLI_EX_OK)
		return refused;
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

/* `roost debug lose-commits <count>`: the writer's next commits on
 * PostgreSQL lose their answer (store_debug_lose_commits), to prove that
 * a commit that happened is reported as done (tests/e2e/test_pg_restart.py). */
int cmd_debug_lose_commits(struct cli *cli, int argc, char **argv)
{
	int refused = fault_switch_refused(cli, "lose-commits");
	if (refused != CLI_EX_OK)
		return refused;
	unsigned count;
	if (parse_count(argv[0], &count) < 0)
		return cli_fail(cli, CLI_EX_USAGE, "debug lose-commits: the count is 0..%u",
				CLI_DEBUG_MAX_FAULTS);
	store_debug_lose_commits(count);
	fprintf(cli->out, "armed\t%u\n", count);
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

/* `roost debug dkim-sign DOMAIN < msg`: the signed message on stdout, as
 * the outbound queue would send it (the DKIM-Signature fields first). It
 * lets an independent verifier check our signatures (tests/e2e/test_dkim.py). */
int cmd_debug_dkim_sign(struct cli *cli, int argc, char **argv)
{
	char *msg = NULL, *error = NULL, *fields = NULL;
	size_t len = 0;
	int r = cli_read_message(cli->in, -1, &msg, &len);
	if (r < 0)
		return cli_fail(cli, CLI_EX_DATAERR, "debug dkim-sign: cannot read the message");
	struct dkim_signer *signer = NULL;
	r = dkim_signer_load(cli->datadir, argv[0], &signer, &error);
	int code = CLI_EX_OK;
	if (r > 0)
		code = cli_fail(cli, CLI_EX_ERROR, "debug dkim-sign: %.253s has no DKIM keys", argv[0]);
	else if (r < 0 || dkim_sign(signer, msg, len, time(NULL), &fields, &error) < 0)
		code = cli_fail(cli, CLI_EX_ERROR, "debug dkim-sign: %s", error);
	if (code == CLI_EX_OK) {
		fputs(fields, cli->out);
		fwrite(msg, 1, len, cli->out);
	}
	free(error);
	free(fields);
	free(msg);
	dkim_signer_free(&signer);
	return code;
}
