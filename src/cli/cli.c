/*
 * cli: the command grammar table and its dispatcher (see cli.h).
 *
 * The table is the whole command language: words, argument counts and
 * flags are checked here, once, before a command function runs, so each
 * cmd-*.c function only does its job. `roost help` prints this table.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/version.h"
#include "mail/address.h"
#include "store/store.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const struct cli_command cli_commands[] = {
	{"init", "[--hostname <name>]", 0, 2, CLI_NO_CONFIG | CLI_NO_STORE | CLI_LOCAL, cmd_init,
	 "create the data directory: roost.conf, TLS certificate, database"},
	{"serve", "[--set key=value]...", 0, -1, CLI_NO_STORE | CLI_LOCAL, cmd_serve,
	 "run the daemon in the foreground"},
	{"domain add", "<domain>", 1, 1, 0, cmd_domain_add, "host a domain"},
	{"domain del", "<domain>", 1, 1, 0, cmd_domain_del, "stop hosting a domain"},
	{"domain list", "", 0, 0, 0, cmd_domain_list, "list hosted domains"},
	{"domain dkim", "<domain> generate [<selector>]|rotate|show|remove <selector>", 2, 3, 0,
	 cmd_domain_dkim,
	 "create or rotate the domain's DKIM keys (RSA-2048, Ed25519), print their DNS records, "
	 "or delete a retired selector's keys"},
	{"dns", "<domain>", 1, 1, 0, cmd_dns,
	 "print every DNS record the domain needs, in zone-file form"},
	{"user add", "<address>", 1, 1, CLI_STDIN_PASSWORD, cmd_user_add,
	 "create an account (password: one line on stdin)"},
	{"user del", "<address>", 1, 1, 0, cmd_user_del, "delete an account and all its mail"},
	{"user passwd", "<address>", 1, 1, CLI_STDIN_PASSWORD, cmd_user_passwd,
	 "set an account's password (one line on stdin)"},
	{"user disable", "<address>", 1, 1, 0, cmd_user_disable,
	 "refuse the account's logins and end its sessions (mail is still delivered)"},
	{"user enable", "<address>", 1, 1, 0, cmd_user_enable, "allow a disabled account to log in"},
	{"user list", "[--over <percent>]", 0, 2, 0, cmd_user_list,
	 "list accounts: address, quota bytes, used bytes, messages, active|disabled; "
	 "with --over 90 (or 90%) only those at or over that share of their quota: "
	 "address, used bytes, quota bytes, percent"},
	{"user quota", "<address> <size>|unlimited|default [<messages>|unlimited|default]", 2, 3, 0,
	 cmd_user_quota, "set an account's storage (and message count) quota"},
	{"user show", "<address>", 1, 1, 0, cmd_user_show,
	 "show an account's settings and usage, one \"key<TAB>value\" per line"},
	{"user pop3-delete", "<address> expunge|hide|default", 2, 2, 0, cmd_user_pop3_delete,
	 "what POP3 DELE does for this account (default: the pop3.delete setting)"},
	{"user pop3-mailboxes", "<address> inbox|all|default", 2, 2, 0, cmd_user_pop3_mailboxes,
	 "which mailboxes POP3 shows for this account (default: the pop3.mailboxes setting)"},
	{"user save-sent", "<address> yes|no|default", 2, 2, 0, cmd_user_save_sent,
	 "whether submission keeps a copy of sent mail in the account's Sent (default: submission.save_sent)"},
	{"user trace", "<address> on|off", 2, 2, 0, cmd_user_trace,
	 "write the account's IMAP, POP3 and submission sessions to DATADIR/trace/ (passwords "
	 "redacted), from its next login"},
	{"user app-password add", "<address> <label>", 2, 2, 0, cmd_user_app_password_add,
	 "create a per-device password for IMAP, POP3 and submission; prints it once"},
	{"user app-password list", "<address>", 1, 1, 0, cmd_user_app_password_list,
	 "list an account's app passwords: label, created (unix time)"},
	{"user app-password del", "<address> <label>", 2, 2, 0, cmd_user_app_password_del,
	 "revoke one app password (the account's sessions end; others log in again)"},
	{"alias add", "<alias>|@<domain> <address>", 2, 2, 0, cmd_alias_add,
	 "deliver mail for an alias (or a domain's catch-all) to an account"},
	{"alias del", "<alias>|@<domain> [<address>]", 1, 2, 0, cmd_alias_del,
	 "remove an alias (one target, or all)"},
	{"alias list", "", 0, 0, 0, cmd_alias_list, "list aliases: alias, target"},
	{"mailbox list", "<address>", 1, 1, 0, cmd_mailbox_list,
	 "list an account's mailboxes: name, messages, unseen, bytes"},
	{"message get", "<address> <mailbox> <uid>", 3, 3, 0, cmd_message_get,
	 "write a stored message to stdout, byte for byte"},
	{"who", "[<address>]", 0, 1, 0, cmd_who,
	 "list live sessions: address, protocol, client address, login time (UTC), mailbox"},
	{"kick", "<address>", 1, 1, 0, cmd_kick,
	 "end every live session of an account (IMAP BYE, POP3 -ERR); prints how many"},
	{"check", "[--quick]", 0, 1, 0, cmd_store_check,
	 "check the database's consistency: one line per problem, or \"clean\" (exit 0)"},
	{"store copy", "--to postgresql <conninfo> | --to sqlite", 2, 3, CLI_NO_STORE | CLI_LOCAL,
	 cmd_store_copy,
	 "move the store into an empty PostgreSQL database, or back into a new DIR/roost.db "
	 "(the daemon stopped); every UID, MODSEQ, flag and POP3 UIDL kept; roost.conf switched, "
	 "the old store left as it was"},
	{"backup", "<dest>", 1, 1, CLI_NO_STORE | CLI_LOCAL, cmd_backup,
	 "copy the database (online, one consistent snapshot), config and keys into <dest>, atomically"},
	{"backup verify", "<dest>", 1, 1, CLI_NO_CONFIG | CLI_NO_STORE | CLI_LOCAL, cmd_backup_verify,
	 "check a backup: manifest checksums, SQLite integrity and roost check's invariants"},
	{"restore", "[--force] <src>", 1, 2, CLI_NO_CONFIG | CLI_NO_STORE | CLI_LOCAL, cmd_restore,
	 "restore the whole server from a backup (the daemon stopped; --force: replace a non-empty data directory)"},
	{"restore --account", "<address> <src>", 2, 2, 0, cmd_restore_account,
	 "restore one account from a backup into this server, running or not (the account must not exist)"},
	{"export", "<address> maildir|mbox <dest>", 3, 3, CLI_LOCAL, cmd_export,
	 "write an account's mail as Maildir++ (flags in file names) or mboxrd files (Status, X-Keywords)"},
	{"import", "maildir|mbox|eml|dovecot <address> <path>", 3, 3, 0, cmd_import,
	 "import a Maildir++ tree (flags, dovecot-keywords, mtime) or mbox/.eml file(s); a rerun imports only what is missing; "
	 "dovecot: keep dovecot-uidlist's UIDVALIDITY, UIDs and POP3 UIDLs"},
	{"migrate", "[--password-file <file>] [--insecure] [--ca <file>] [--allow-plaintext] [--timeout <seconds>] [--pop3-uidl dovecot|source] [--pop3 <pop3[s]://user@host[:port]>] <imap[s]://user@host[:port]> <address>",
	 2, 14, CLI_LOCAL, cmd_migrate,
	 "copy a live account from an IMAP server (password: --password-file or $ROOST_MIGRATE_PASSWORD): "
	 "folders, flags, keywords, dates, subscriptions, UIDs when the mailbox is new; a rerun fetches only new mail"},
	{"reindex", "[<address>]", 0, 1, 0, cmd_reindex,
	 "(re)build the full-text search index of an account's messages, or of all"},
	{"deliver", "[-f <sender>] <address>...", 1, -1, CLI_STDIN_MESSAGE, cmd_deliver,
	 "deliver the message on stdin (exit codes: see roost help)"},
	{"sendmail", "[-f <from>] [-t] [-N <notify>] [-R full|hdrs] [-V <envid>] [<address>...]",
	 0, -1, CLI_STDIN_MESSAGE, cmd_sendmail,
	 "send the message on stdin: local recipients delivered, remote ones queued"},
	{"sieve list", "<address>", 1, 1, 0, cmd_sieve_list,
	 "an account's Sieve scripts: name, active|inactive, bytes"},
	{"sieve get", "<address> <name>", 2, 2, 0, cmd_sieve_get, "write a Sieve script to stdout"},
	{"sieve put", "<address> <name>", 2, 2, CLI_STDIN_MESSAGE, cmd_sieve_put,
	 "store the Sieve script on stdin (compiled first: errors as line, column: message)"},
	{"sieve activate", "<address> <name>", 2, 2, 0, cmd_sieve_activate,
	 "make a script the account's active one (runs at delivery)"},
	{"sieve deactivate", "<address>", 1, 1, 0, cmd_sieve_deactivate,
	 "no active script for the account"},
	{"sieve delete", "<address> <name>", 2, 2, 0, cmd_sieve_delete,
	 "delete an inactive script"},
	{"sieve check", "<address> <name>", 2, 2, 0, cmd_sieve_check,
	 "compile a stored script: \"ok\" or the first error"},
	{"sieve check -", "", 0, 0, CLI_STDIN_MESSAGE, cmd_sieve_check_stdin,
	 "compile the script on stdin: \"ok\" or the first error"},
	{"queue list", "", 0, 0, 0, cmd_queue_list,
	 "the outbound queue: id, sender, recipients, state, next attempt, last error"},
	{"queue show", "<id>", 1, 1, 0, cmd_queue_show, "one queued message and its recipients"},
	{"queue retry", "<id>|all", 1, 1, 0, cmd_queue_retry, "attempt delivery now"},
	{"queue hold", "<id>|all", 1, 1, 0, cmd_queue_hold,
	 "no delivery attempts until released (kept across restarts)"},
	{"queue release", "<id>|all", 1, 1, 0, cmd_queue_release, "undo hold; attempt now"},
	{"queue delete", "<id>|all", 1, 1, 0, cmd_queue_delete, "remove without notifying the sender"},
	{"queue bounce", "<id>|all", 1, 1, 0, cmd_queue_bounce,
	 "fail the pending recipients now, with a bounce to the sender"},
	{"debug fail-reads", "<count> ioerr|busy [<skip>]", 2, 3, 0, cmd_debug_fail_reads,
	 "test only (debug.fault_injection = yes): fail the daemon's next <count> store reads"},
	{"debug lose-commits", "<count>", 1, 1, 0, cmd_debug_lose_commits,
	 "test only (debug.fault_injection = yes): the next <count> commits on PostgreSQL lose"
	 " their answer"},
	{"debug dkim-sign", "<domain>", 1, 1, CLI_STDIN_MESSAGE | CLI_NO_STORE | CLI_LOCAL,
	 cmd_debug_dkim_sign, "sign the message on stdin with the domain's DKIM keys, print it"},
	{"debug memory", "", 0, 0, 0, cmd_debug_memory,
	 "the daemon's memory budget: \"used<TAB>bytes\", \"limit<TAB>bytes\" (server.memory_budget)"},
	{"version", "", 0, 0, CLI_NO_CONFIG | CLI_NO_STORE | CLI_LOCAL, cmd_version,
	 "print the version"},
	{"help", "", 0, 0, CLI_NO_CONFIG | CLI_NO_STORE | CLI_LOCAL, cmd_help,
	 "print this list"},
	{NULL, NULL, 0, 0, 0, NULL, NULL},
};

/* Does argv start with the space-separated words of `words`? Returns the
 * number of words matched, or 0. */
static int match_words(const char *words, int argc, char **argv)
{
	int n = 0;
	const char *p = words;
	while (*p != '\0') {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], p, len) != 0)
			return 0;
		n++;
		p += len;
		if (*p == ' ')
			p++;
	}
	return n;
}

/* The subcommands of a group ("add|del|list" for "domain"), for errors. */
static char *group_choices(const char *group)
{
	size_t glen = strlen(group);
	char *out = xstrdup("");
	for (const struct cli_command *c = cli_commands; c->words; c++) {
		if (strncmp(c->words, group, glen) != 0 || c->words[glen] != ' ')
			continue;
		char *next = xasprintf("%s%s%s", out, *out ? "|" : "", c->words + glen + 1);
		free(out);
		out = next;
	}
	return out;
}

const struct cli_command *cli_lookup(int argc, char **argv, int *nwords_r, char **error_r)
{
	if (argc < 1) {
		*error_r = xstrdup("no command given (try: roost help)");
		return NULL;
	}
	if (argc > CLI_MAX_ARGS) {
		*error_r = xasprintf("more than %d arguments", CLI_MAX_ARGS);
		return NULL;
	}
	const struct cli_command *found = NULL;
	int nwords = 0;
	for (const struct cli_command *c = cli_commands; c->words; c++) {
		int n = match_words(c->words, argc, argv);
		if (n > nwords) {
			found = c;
			nwords = n;
		}
	}
	if (found == NULL) {
		char *choices = group_choices(argv[0]);
		if (*choices == '\0')
			*error_r = xasprintf("unknown command '%.64s' (try: roost help)", argv[0]);
		else if (argc < 2)
			*error_r = xasprintf("%s: missing subcommand (%s)", argv[0], choices);
		else
			*error_r = xasprintf("%s: unknown subcommand '%.64s' (%s)", argv[0], argv[1],
					     choices);
		free(choices);
		return NULL;
	}
	int nargs = argc - nwords;
	if (nargs < found->min_args || (found->max_args >= 0 && nargs > found->max_args)) {
		*error_r = xasprintf("usage: roost %s%s%s", found->words, *found->args ? " " : "",
				     found->args);
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		if (strlen(argv[i]) > CLI_MAX_ARG) {
			*error_r = xasprintf("argument %d longer than %d bytes", i + 1, CLI_MAX_ARG);
			return NULL;
		}
	}
	*nwords_r = nwords;
	return found;
}

int cli_fail(struct cli *cli, int code, const char *fmt, ...)
{
	va_list ap;
	fputs("roost: ", cli->err);
	va_start(ap, fmt);
	vfprintf(cli->err, fmt, ap);
	va_end(ap);
	fputc('\n', cli->err);
	return code;
}

int cli_usage(struct cli *cli, const struct cli_command *cmd)
{
	return cli_fail(cli, CLI_EX_USAGE, "usage: roost %s%s%s", cmd->words,
			*cmd->args ? " " : "", cmd->args);
}

char *cli_address(struct cli *cli, const char *arg)
{
	const char *why = NULL;
	char *addr = address_normalize(arg, &why);
	if (addr == NULL)
		cli_fail(cli, CLI_EX_ERROR, "%.*s: invalid address: %s", 330, arg, why);
	return addr;
}

int cli_store_result(struct cli *cli, int err, char *detail, const char *what)
{
	if (err == STORE_OK) {
		free(detail);
		return CLI_EX_OK;
	}
	int code = err == STORE_ETEMP || err == STORE_EINUSE ? CLI_EX_TEMPFAIL : CLI_EX_ERROR;
	if (detail != NULL && *detail != '\0')
		cli_fail(cli, code, "%s: %s", what, detail);
	else
		cli_fail(cli, code, "%s: %s", what, store_strerror((enum store_err)err));
	free(detail);
	return code;
}

int cmd_help(struct cli *cli, int argc, char **argv)
{
	fputs("usage: roost [-d DIR] COMMAND [ARGS]...\n"
	      "  -d DIR  data directory (default ./var)\n\ncommands:\n",
	      cli->out);
	for (const struct cli_command *c = cli_commands; c->words; c++) {
		char *line = xasprintf("%s%s%s", c->words, *c->args ? " " : "", c->args);
		fprintf(cli->out, "  %s\n      %s\n", line, c->help);
		free(line);
	}
	fputs("\nexit codes: 0 ok, 1 error, 64 usage; deliver: 65 message too large,\n"
	      "67 unknown recipient, 75 temporary failure, 77 over quota\n",
	      cli->out);
	return CLI_EX_OK;
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	fprintf(cli->out, "roost %s\n", ROOST_VERSION);
	return CLI_EX_OK;
}
