/*
 * main: the `roost` binary. `roost [-d DIR] COMMAND [ARGS]...`
 *
 * Parses the global options, looks the command up in the grammar table
 * (cli.c), loads DIR/roost.conf, and then runs the command in one of two
 * places: inside a running daemon, through its control socket, so its
 * sessions see the change; or, when no daemon answers, right here on the
 * data directory. `init`, `serve`, `help` and `version` always run here.
 */
#include "cli/cli.h"
#include "daemon/control.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "store/store.h"
#include "store/store-config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DATADIR "var"

/* Read what a command will read from stdin, so it can travel to the
 * daemon. 0 and a malloc'd buffer, or an exit code after printing why. */
static int read_input(struct cli *cli, const struct cli_command *cmd, char **data_r,
		      size_t *len_r)
{
	*data_r = NULL;
	*len_r = 0;
	if (cmd->flags & CLI_STDIN_PASSWORD) {
		char *pw;
		if (cli_read_password(cli, &pw) < 0)
			return CLI_EX_ERROR;
		*data_r = xasprintf("%s\n", pw);
		*len_r = strlen(*data_r);
		wipe(pw, strlen(pw));
		free(pw);
	} else if (cmd->flags & CLI_STDIN_MESSAGE) {
		int r = cli_read_message(cli->in, config_size(cli->cfg, "message.max_size"), data_r,
					 len_r);
		if (r == -1)
			return cli_fail(cli, CLI_EX_DATAERR, "message larger than message.max_size (%s)",
					config_str(cli->cfg, "message.max_size"));
		if (r < 0)
			return cli_fail(cli, CLI_EX_TEMPFAIL, "cannot read the message from stdin");
	}
	return 0;
}

static int run_via_daemon(struct cli *cli, const struct cli_command *cmd, int fd, int argc,
			  char **argv)
{
	char *input;
	size_t len;
	int code = read_input(cli, cmd, &input, &len);
	if (code == 0)
		code = control_client_run(fd, argc, argv, input, len, cli->out, cli->err);
	if (input != NULL) {
		wipe(input, len);
		free(input);
	}
	return code;
}

static int run_here(struct cli *cli, const struct cli_command *cmd, int nwords, int argc,
		    char **argv)
{
	if (!(cmd->flags & CLI_NO_STORE)) {
		struct store_settings settings;
		char *error = NULL;
		enum store_err err = store_config_settings(cli->cfg, &settings, &error) < 0
					     ? STORE_EINVAL
					     : store_open(cli->datadir, &settings, &cli->store, &error);
		if (err != STORE_OK) {
			int code = cmd->flags & CLI_STDIN_MESSAGE ? CLI_EX_TEMPFAIL : CLI_EX_ERROR;
			cli_fail(cli, code, "cannot open the database: %s",
				 error ? error : store_strerror(err));
			free(error);
			return code;
		}
	}
	int code = cmd->fn(cli, argc - nwords, argv + nwords);
	store_close(&cli->store);
	return code;
}

static int load_config(struct cli *cli)
{
	char *path = xasprintf("%s/roost.conf", cli->datadir);
	struct stat st;
	int code = 0;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		code = cli_fail(cli, CLI_EX_ERROR,
				"%s is not a Roost data directory (run roost -d %s init)",
				cli->datadir, cli->datadir);
	} else {
		char *error = NULL;
		cli->cfg = config_new(cli->datadir, cli_config_tables);
		if (config_load_file(cli->cfg, path, &error) < 0) {
			code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
			free(error);
		}
	}
	free(path);
	return code;
}

static int run(struct cli *cli, int argc, char **argv)
{
	int nwords;
	char *error = NULL;
	const struct cli_command *cmd = cli_lookup(argc, argv, &nwords, &error);
	if (cmd == NULL) {
		int code = cli_fail(cli, CLI_EX_USAGE, "%s", error);
		free(error);
		return code;
	}
	if (!(cmd->flags & CLI_NO_CONFIG)) {
		int code = load_config(cli);
		if (code != 0)
			return code;
	}
	if (!(cmd->flags & CLI_LOCAL)) {
		int fd;
		int r = control_client_connect(config_path(cli->cfg, "control.socket"), &fd, cli->err);
		if (r == 0)
			return run_via_daemon(cli, cmd, fd, argc, argv);
		if (r > 0)
			return r;
	}
	return run_here(cli, cmd, nwords, argc, argv);
}

int main(int argc, char **argv)
{
	struct cli cli = {.datadir = DEFAULT_DATADIR, .in = stdin, .out = stdout, .err = stderr};
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
			cli.datadir = argv[++i];
		} else if (strncmp(argv[i], "-d", 2) == 0 && argv[i][2] != '\0') {
			cli.datadir = argv[i] + 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			return cmd_help(&cli, 0, NULL);
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			return cmd_version(&cli, 0, NULL);
		} else {
			cli_fail(&cli, CLI_EX_USAGE, "unknown option '%.64s' (usage: roost [-d DIR] COMMAND ...)",
				 argv[i]);
			return CLI_EX_USAGE;
		}
	}
	int code = run(&cli, argc - i, argv + i);
	config_free(&cli.cfg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (code == 0)
			code = cli_fail(&cli, CLI_EX_ERROR, "error writing the output");
	}
	return code;
}
