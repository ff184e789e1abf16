/*
 * cmd-check: `roost check [--quick]` — the store's consistency check
 * (store_check()): one line per problem, or "clean". Exit 0 when clean,
 * 1 when a problem was found or the check could not run. Read-only, so it
 * is as safe through a running daemon's control socket as on a stopped
 * data directory.
 */
#include "cli/cli.h"
#include "store/store.h"
#include <string.h>

/* Most problem lines printed; the rest are counted. A badly broken
 * database would otherwise flood the terminal (and the control socket's
 * reply, which has its own cap). */
#define CHECK_MAX_LINES 1000

struct check_out {
	struct cli *cli;
	size_t printed;
};

static void report_line(void *ctx, const char *line)
{
	struct check_out *o = ctx;
	if (o->printed >= CHECK_MAX_LINES)
		return;
	fprintf(o->cli->out, "%s\n", line);
	o->printed++;
}

int cmd_store_check(struct cli *cli, int argc, char **argv)
{
	bool quick = false;
	if (argc == 1) {
		if (strcmp(argv[0], "--quick") != 0)
			return cli_fail(cli, CLI_EX_USAGE, "usage: roost check [--quick]");
		quick = true;
	}
	struct check_out o = {.cli = cli};
	size_t n = 0;
	char *error = NULL;
	enum store_err err = store_check(cli->store, quick, report_line, &o, &n, &error);
	if (err != STORE_OK)
		return cli_store_result(cli, err, error, "check");
	if (n > o.printed)
		fprintf(cli->out, "... and %zu more problems\n", n - o.printed);
	if (n == 0) {
		fputs("clean\n", cli->out);
		return CLI_EX_OK;
	}
	fprintf(cli->out, "problems: %zu\n", n);
	return CLI_EX_ERROR;
}
