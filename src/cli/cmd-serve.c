/*
 * cmd-serve: `roost serve [--set key=value]...` applies the overrides to
 * the loaded roost.conf (unknown keys and bad values are errors naming
 * the key) and runs the daemon in the foreground (daemon/serve.c).
 */
#include "cli/cli.h"
#include "daemon/serve.h"
#include "lib/config.h"
#include <stdlib.h>
#include <string.h>

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--set") == 0) {
			if (++i == argc)
				return cli_fail(cli, CLI_EX_USAGE, "--set needs key=value");
			arg = argv[i];
		} else if (strncmp(arg, "--set=", 6) == 0) {
			arg += 6;
		} else {
			return cli_fail(cli, CLI_EX_USAGE,
					"serve: unknown argument '%.64s' (usage: roost serve "
					"[--set key=value]...)",
					arg);
		}
		char *error = NULL;
		if (config_set_arg(cli->cfg, arg, &error) < 0) {
			int code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
			free(error);
			return code;
		}
	}
	return serve_run(cli->cfg);
}
