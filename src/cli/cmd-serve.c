/*
 * cmd-serve: `roost serve [--set key=value]...` applies the overrides to
 * the loaded roost.conf (unknown keys and bad values are errors naming
 * the key) and runs the daemon in the foreground (daemon/serve.c), giving
 * it cli_control_run() for the commands that arrive on its control socket.
 * The daemon never sees the grammar table: cli is the layer above it.
 */
#include "cli/cli.h"
#include "daemon/control.h"
#include "daemon/serve.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include <stdlib.h>
#include <string.h>

/* What the CLI sends must fit what the control socket accepts. */
_Static_assert(CLI_MAX_ARGS <= CONTROL_MAX_ARGS, "CLI_MAX_ARGS exceeds the control socket");
_Static_assert(CLI_MAX_ARG <= CONTROL_MAX_ARG, "CLI_MAX_ARG exceeds the control socket");
_Static_assert(CLI_MAX_MESSAGE <= (int64_t)CONTROL_MAX_DATA, "CLI_MAX_MESSAGE exceeds the socket");

int cli_control_run(const struct control_request *req, const char **name_r)
{
	struct cli cli = {
		.datadir = config_datadir(req->cfg),
		.cfg = req->cfg,
		.store = req->store,
		.in = req->in,
		.out = req->out,
		.err = req->err,
		.via_daemon = true,
	};
	int nwords;
	char *error = NULL;
	const struct cli_command *cmd = cli_lookup(req->argc, req->argv, &nwords, &error);
	if (cmd == NULL) {
		int code = cli_fail(&cli, CLI_EX_USAGE, "%s", error);
		free(error);
		return code;
	}
	if (cmd->flags & CLI_LOCAL)
		return cli_fail(&cli, CLI_EX_USAGE, "%s: cannot run inside the daemon", cmd->words);
	*name_r = cmd->words;
	return cmd->fn(&cli, req->argc - nwords, req->argv + nwords);
}

/* The `serve --set` overrides, kept for a reload (SIGHUP): argv lives
 * as long as serve_run(). */
static char **serve_overrides;
static int serve_noverrides;

static struct config *serve_config_reload(const char *datadir, char **error_r)
{
	struct config *cfg = config_new(datadir, cli_config_tables);
	char *path = xasprintf("%s/roost.conf", datadir);
	int ret = config_load_file(cfg, path, error_r);
	free(path);
	for (int i = 0; ret == 0 && i < serve_noverrides; i++)
		ret = config_set_arg(cfg, serve_overrides[i], error_r);
	if (ret < 0)
		config_free(&cfg);
	return cfg;
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	serve_overrides = xcalloc((size_t)argc + 1, sizeof(*serve_overrides));
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
		serve_overrides[serve_noverrides++] = (char *)arg;
		if (config_set_arg(cli->cfg, arg, &error) < 0) {
			int code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
			free(error);
			return code;
		}
	}
	serve_set_reload(serve_config_reload);
	int code = serve_run(cli->cfg, cli_control_run);
	free(serve_overrides);
	serve_overrides = NULL;
	serve_noverrides = 0;
	return code;
}
