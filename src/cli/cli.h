/*
 * cli: the `roost` admin commands.
 *
 * Every command is one row of the grammar table in cli.c ("domain add
 * <domain>" -> cmd_domain_add) and one function in a cmd-<group>.c file.
 * A command function sees only a struct cli: the configuration, an open
 * store and three streams. The same function runs in two places:
 *   - in the `roost` process itself, on the data directory, when no daemon
 *     is running (streams = stdin/stdout/stderr);
 *   - inside `roost serve`, on the control thread, when the CLI sent the
 *     command over the control socket (streams = memory buffers whose
 *     contents go back to the CLI). See daemon/control.h.
 *
 * Exit codes (also the process exit status):
 *   0 success, 1 a runtime error (not found, exists, bad value, I/O),
 *   64 EX_USAGE a malformed command line (unknown command, wrong number of
 *   arguments). `deliver` adds the sysexits codes an MTA understands:
 *   65 EX_DATAERR message too large, 67 EX_NOUSER unknown or malformed
 *   recipient, 75 EX_TEMPFAIL temporary failure (and over quota when
 *   quota.overquota = temporary), 77 EX_NOPERM over quota.
 * Errors are one line "roost: <reason>" on the error stream.
 */
#ifndef ROOST_CLI_H
#define ROOST_CLI_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct config_key;
struct control_request;
struct store;

#define CLI_EX_OK 0
#define CLI_EX_ERROR 1
#define CLI_EX_USAGE 64
#define CLI_EX_DATAERR 65
#define CLI_EX_NOUSER 67
#define CLI_EX_SOFTWARE 70
#define CLI_EX_TEMPFAIL 75
#define CLI_EX_NOPERM 77

/* Longest command line word we accept (an address, a size, a path). */
#define CLI_MAX_ARG 4096
/* Most words on one command line (deliver may name many recipients). */
#define CLI_MAX_ARGS 1024

struct cli {
	const char *datadir;
	struct config *cfg;	/* NULL for commands flagged CLI_NO_CONFIG */
	struct store *store;	/* NULL for commands flagged CLI_NO_STORE */
	FILE *in, *out, *err;
	bool via_daemon;	/* running inside `roost serve` for a CLI client */
};

/* Command flags. */
#define CLI_NO_CONFIG 0x01u	 /* runs without roost.conf (init, help) */
#define CLI_NO_STORE 0x02u	 /* does not open the store (serve, help) */
#define CLI_LOCAL 0x04u		 /* never sent to a running daemon */
#define CLI_STDIN_PASSWORD 0x08u /* reads a password from stdin */
#define CLI_STDIN_MESSAGE 0x10u	 /* reads a message from stdin */

struct cli_command {
	const char *words;	/* "domain add" */
	const char *args;	/* "<domain>", for usage lines */
	int min_args, max_args;	/* after the words; -1 = no maximum */
	unsigned flags;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *help;
};

extern const struct cli_command cli_commands[];

/* Every module's configuration key table, NULL-terminated (cli-config.c):
 * what config_new() gets in main.c and `roost init`. */
extern const struct config_key *const cli_config_tables[];

/* Find the command named by the first words of argv. On success returns
 * it with *nwords_r set; otherwise NULL and a one-line *error_r (caller
 * frees) whose exit code is CLI_EX_USAGE. Argument counts are checked. */
const struct cli_command *cli_lookup(int argc, char **argv, int *nwords_r, char **error_r);
/* The daemon's control_run_fn (daemon/control.h): look req->argv up and
 * run it inside `roost serve` on the daemon's store; commands flagged
 * CLI_LOCAL are refused. Returns the exit code. */
int cli_control_run(const struct control_request *req, const char **name_r);

/* "roost: <reason>\n" on cli->err; returns `code`. */
int cli_fail(struct cli *cli, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Usage error for cmd: "roost: usage: roost <words> <args>". */
int cli_usage(struct cli *cli, const struct cli_command *cmd);
/* Validate and normalise an address argument; NULL after printing why. */
char *cli_address(struct cli *cli, const char *arg);

/* Read a password: one line from cli->in; on a terminal, prompt twice
 * without echo and require both to match. Refuses empty and overlong
 * passwords. Returns 0 and a malloc'd string (wipe it), or -1 after
 * printing the reason. */
int cli_read_password(struct cli *cli, char **password_r);

/* Create a self-signed certificate for localhost (SAN DNS:localhost,
 * IP:127.0.0.1, IP:::1; EC P-256; valid 10 years) as PEM files. */
int cli_cert_selfsigned(const char *cert_path, const char *key_path, char **error_r);

/* The id of the account's mailbox `name`, created (with `special_use`,
 * may be NULL) when missing; *created_r says which. Returns an enum
 * store_err value (cli.h does not include the store). */
int cli_mailbox_ensure(struct cli *cli, int64_t account_id, const char *name,
		       const char *special_use, int64_t *id_r, bool *created_r);

/* Hard cap on a message read from stdin, whatever message.max_size says. */
#define CLI_MAX_MESSAGE ((int64_t)1 << 30)
/* Read all of `in` up to `max` bytes (-1: CLI_MAX_MESSAGE). 0 and a
 * malloc'd buffer; -1 when the input is larger; -2 on a read error. */
int cli_read_message(FILE *in, int64_t max, char **data_r, size_t *len_r);

/* The command functions (one cmd-<group>.c file per group). */
int cmd_help(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_domain_add(struct cli *cli, int argc, char **argv);
int cmd_domain_del(struct cli *cli, int argc, char **argv);
int cmd_domain_list(struct cli *cli, int argc, char **argv);
int cmd_domain_dkim(struct cli *cli, int argc, char **argv);
int cmd_dns(struct cli *cli, int argc, char **argv);
int cmd_debug_dkim_sign(struct cli *cli, int argc, char **argv);
int cmd_user_add(struct cli *cli, int argc, char **argv);
int cmd_user_del(struct cli *cli, int argc, char **argv);
int cmd_user_passwd(struct cli *cli, int argc, char **argv);
int cmd_user_disable(struct cli *cli, int argc, char **argv);
int cmd_user_enable(struct cli *cli, int argc, char **argv);
int cmd_user_list(struct cli *cli, int argc, char **argv);
int cmd_user_trace(struct cli *cli, int argc, char **argv);
int cmd_user_quota(struct cli *cli, int argc, char **argv);
int cmd_user_show(struct cli *cli, int argc, char **argv);
int cmd_user_pop3_delete(struct cli *cli, int argc, char **argv);
int cmd_user_pop3_mailboxes(struct cli *cli, int argc, char **argv);
int cmd_user_save_sent(struct cli *cli, int argc, char **argv);
int cmd_user_app_password_add(struct cli *cli, int argc, char **argv);
int cmd_user_app_password_list(struct cli *cli, int argc, char **argv);
int cmd_user_app_password_del(struct cli *cli, int argc, char **argv);
int cmd_alias_add(struct cli *cli, int argc, char **argv);
int cmd_alias_del(struct cli *cli, int argc, char **argv);
int cmd_alias_list(struct cli *cli, int argc, char **argv);
int cmd_mailbox_list(struct cli *cli, int argc, char **argv);
int cmd_message_get(struct cli *cli, int argc, char **argv);
int cmd_deliver(struct cli *cli, int argc, char **argv);
struct delivery;
/* Run the recipients' Sieve scripts before delivery_prepare() (cmd-deliver.c). */
void cli_deliver_sieve(struct cli *cli, struct delivery *d, const char *data, size_t len);
int cmd_sendmail(struct cli *cli, int argc, char **argv);
int cmd_sieve_list(struct cli *cli, int argc, char **argv);
int cmd_sieve_get(struct cli *cli, int argc, char **argv);
int cmd_sieve_put(struct cli *cli, int argc, char **argv);
int cmd_sieve_activate(struct cli *cli, int argc, char **argv);
int cmd_sieve_deactivate(struct cli *cli, int argc, char **argv);
int cmd_sieve_delete(struct cli *cli, int argc, char **argv);
int cmd_sieve_check(struct cli *cli, int argc, char **argv);
int cmd_sieve_check_stdin(struct cli *cli, int argc, char **argv);
int cmd_queue_list(struct cli *cli, int argc, char **argv);
int cmd_queue_show(struct cli *cli, int argc, char **argv);
int cmd_queue_retry(struct cli *cli, int argc, char **argv);
int cmd_queue_hold(struct cli *cli, int argc, char **argv);
int cmd_queue_release(struct cli *cli, int argc, char **argv);
int cmd_queue_delete(struct cli *cli, int argc, char **argv);
int cmd_queue_bounce(struct cli *cli, int argc, char **argv);
int cmd_store_check(struct cli *cli, int argc, char **argv);
int cmd_store_copy(struct cli *cli, int argc, char **argv);
int cmd_reindex(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_backup_verify(struct cli *cli, int argc, char **argv);
int cmd_restore(struct cli *cli, int argc, char **argv);
int cmd_restore_account(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_who(struct cli *cli, int argc, char **argv);
int cmd_kick(struct cli *cli, int argc, char **argv);
int cmd_debug_fail_reads(struct cli *cli, int argc, char **argv);
int cmd_debug_lose_commits(struct cli *cli, int argc, char **argv);
int cmd_debug_memory(struct cli *cli, int argc, char **argv);
int cmd_migrate(struct cli *cli, int argc, char **argv);

/* Shared by cmd_*: a store result as an exit code. STORE_OK gives 0;
 * errors print "roost: <what>: <detail or store_strerror>". Frees detail. */
int cli_store_result(struct cli *cli, int err, char *detail, const char *what);
#endif
