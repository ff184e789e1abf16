/*
 * cmd-sieve: `roost sieve list|get|put|activate|deactivate|delete|check`:
 * an account's Sieve scripts (store-sieve.h). put and check compile the
 * script first and report the first error as "line L: message (column C)".
 * Scripts come on stdin, so the same command works through the daemon's
 * control socket without the daemon opening files an admin names.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "sieve/sieve.h"
#include "store/store-sieve.h"
#include <stdlib.h>
#include <string.h>

static size_t max_script_size(struct cli *cli)
{
	int64_t max = config_size(cli->cfg, "sieve.max_script_size");
	return max < 0 || max > STORE_SIEVE_MAX_CONTENT ? STORE_SIEVE_MAX_CONTENT : (size_t)max;
}

/* The account's id after printing why not; 0 on failure. */
static int64_t account_id(struct cli *cli, const char *arg)
{
	char *addr = cli_address(cli, arg);
	if (addr == NULL)
		return 0;
	struct store_account a;
	enum store_err err = store_account_get(cli->store, addr, &a);
	int64_t id = err == STORE_OK ? a.id : 0;
	if (err == STORE_OK)
		store_account_clear(&a);
	else
		cli_store_result(cli, err, NULL, addr);
	free(addr);
	return id;
}

/* Compile `text`: 0, or -1 after printing the first error. */
static int compile_check(struct cli *cli, const char *text, size_t len)
{
	if (len > max_script_size(cli))
	{
		cli_fail(cli, CLI_EX_ERROR, "script larger than sieve.max_script_size (%zu)",
			 max_script_size(cli));
		return -1;
	}
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_script_size = max_script_size(cli);
	struct sieve_diag diag = {0};
	struct sieve_script *script = sieve_compile(text, len, &lim, sieve_include_unchecked, NULL, &diag);
	if (script == NULL) {
		/* diag.message already reads "line L: ... (column C)" */
		cli_fail(cli, CLI_EX_ERROR, "%s", diag.message);
		return -1;
	}
	sieve_script_free(script);
	return 0;
}

static int read_script(struct cli *cli, char **text_r, size_t *len_r)
{
	int r = cli_read_message(cli->in, (int64_t)max_script_size(cli), text_r, len_r);
	if (r == -1)
		return cli_fail(cli, CLI_EX_ERROR, "script larger than sieve.max_script_size (%zu)",
				max_script_size(cli));
	if (r < 0)
		return cli_fail(cli, CLI_EX_TEMPFAIL, "cannot read the script from stdin");
	return 0;
}

int cmd_sieve_list(struct cli *cli, int argc, char **argv)
{
	int64_t id = account_id(cli, argv[0]);
	if (id == 0)
		return CLI_EX_ERROR;
	struct store_sieve_script *list;
	size_t n;
	enum store_err err = store_sieve_list(cli->store, id, &list, &n);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, argv[0]);
	for (size_t i = 0; i < n; i++)
		fprintf(cli->out, "%s\t%s\t%zu\n", list[i].name, list[i].active ? "active" : "inactive",
			list[i].size);
	store_sieve_list_free(list, n);
	return CLI_EX_OK;
}

int cmd_sieve_get(struct cli *cli, int argc, char **argv)
{
	int64_t id = account_id(cli, argv[0]);
	if (id == 0)
		return CLI_EX_ERROR;
	char *text;
	size_t len;
	enum store_err err = store_sieve_get(cli->store, id, argv[1], &text, &len, NULL);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, argv[1]);
	int code = fwrite(text, 1, len, cli->out) == len ? CLI_EX_OK
							 : cli_fail(cli, CLI_EX_ERROR, "write error");
	free(text);
	return code;
}

int cmd_sieve_put(struct cli *cli, int argc, char **argv)
{
	if (!store_sieve_name_valid(argv[1]))
		return cli_fail(cli, CLI_EX_ERROR, "invalid script name");
	int64_t id = account_id(cli, argv[0]);
	if (id == 0)
		return CLI_EX_ERROR;
	char *text;
	size_t len;
	int code = read_script(cli, &text, &len);
	if (code != 0)
		return code;
	if (compile_check(cli, text, len) < 0) {
		free(text);
		return CLI_EX_ERROR;
	}
	struct store_sieve_put p = {.account_id = id, .name = argv[1], .content = text, .len = len};
	struct store_op op;
	store_sieve_put_init(&op, &p);
	enum store_err err = store_run(cli->store, &op);
	code = cli_store_result(cli, err, op.error ? xstrdup(op.error) : NULL, argv[1]);
	store_op_clear(&op);
	free(text);
	return code;
}

static int name_op(struct cli *cli, const char *address, const char *name,
		   void (*init)(struct store_op *, struct store_sieve_name *))
{
	int64_t id = account_id(cli, address);
	if (id == 0)
		return CLI_EX_ERROR;
	struct store_sieve_name n = {.account_id = id, .name = name};
	struct store_op op;
	init(&op, &n);
	enum store_err err = store_run(cli->store, &op);
	int code;
	if (err == STORE_EINUSE)
		code = cli_fail(cli, CLI_EX_ERROR, "%s: is the active script (deactivate it first)",
				name);
	else
		code = cli_store_result(cli, err, NULL, name != NULL ? name : address);
	store_op_clear(&op);
	return code;
}

int cmd_sieve_activate(struct cli *cli, int argc, char **argv)
{
	return name_op(cli, argv[0], argv[1], store_sieve_activate_init);
}

int cmd_sieve_deactivate(struct cli *cli, int argc, char **argv)
{
	return name_op(cli, argv[0], NULL, store_sieve_activate_init);
}

int cmd_sieve_delete(struct cli *cli, int argc, char **argv)
{
	return name_op(cli, argv[0], argv[1], store_sieve_delete_init);
}

int cmd_sieve_check(struct cli *cli, int argc, char **argv)
{
	int64_t id = account_id(cli, argv[0]);
	if (id == 0)
		return CLI_EX_ERROR;
	char *text;
	size_t len;
	enum store_err err = store_sieve_get(cli->store, id, argv[1], &text, &len, NULL);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, argv[1]);
	int code = compile_check(cli, text, len) < 0 ? CLI_EX_ERROR : CLI_EX_OK;
	if (code == CLI_EX_OK)
		fputs("ok\n", cli->out);
	free(text);
	return code;
}

int cmd_sieve_check_stdin(struct cli *cli, int argc, char **argv)
{
	char *text;
	size_t len;
	int code = read_script(cli, &text, &len);
	if (code != 0)
		return code;
	code = compile_check(cli, text, len) < 0 ? CLI_EX_ERROR : CLI_EX_OK;
	if (code == CLI_EX_OK)
		fputs("ok\n", cli->out);
	free(text);
	return code;
}
