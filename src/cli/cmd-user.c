/*
 * cmd-user: `roost user add|del|passwd|disable|enable|list|show|quota|
 * pop3-delete`. Passwords come from stdin (cli_read_password), are hashed
 * with yescrypt (mail/password.h) and the plaintext is wiped at once; only the hash
 * reaches the store.
 *
 * del, passwd and disable end every live IMAP and POP3 session of the
 * account when the daemon runs (the command then runs inside it, on a
 * control thread): the change is committed first, then the sessions are
 * told (registry.h) before the command answers, so a script that runs
 * `user del` and then `user add` never leaves an old session open.
 *
 * add and passwd also store the password's SCRAM-SHA-256 keys (mail/scram.h).
 *
 * `user app-password add|list|del`: per-device passwords. add generates
 * one (OpenSSL's RNG), prints it once and stores only its yescrypt hash;
 * del revokes one and ends the account's sessions (the devices whose
 * password still holds log in again). `user passwd` keeps them: a device
 * password is revoked on its own, so changing the main password does not
 * force every phone to be set up again.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/registry.h"
#include "lib/trace.h"
#include "mail/password.h"
#include "store/store.h"
#include "store/store-auth.h"
#include "store/store-pop3.h"
#include <openssl/rand.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* After a committed del/passwd/disable: end the account's sessions. The
 * reason is what IMAP (BYE) and POP3 (-ERR) clients are told. */
static void end_sessions(struct cli *cli, int64_t account_id, const char *reason)
{
	if (!cli->via_daemon || account_id <= 0)
		return;
	if (registry_end_owner_wait(account_id, reason) < 0)
		fprintf(cli->err, "roost: warning: the daemon did not end the account's sessions "
				  "(shutting down?)\n");
}

/* The id whose sessions a del/disable ends, read before the change: a
 * read that fails stops the command, so no change is made that leaves
 * sessions behind. */
static enum store_err account_id_of(struct cli *cli, const char *addr, int64_t *id_r)
{
	struct store_account a = {0};
	enum store_err err = store_account_get(cli->store, addr, &a);
	*id_r = err == STORE_OK ? a.id : 0;
	if (err == STORE_OK)
		store_account_clear(&a);
	return err;
}

/* Read a password, hash it and derive its SCRAM-SHA-256 keys (the only
 * moment besides a PLAIN/LOGIN login that the plaintext is here); NULL
 * after printing why. */
static char *read_hash(struct cli *cli, struct scram_keys *keys_r, bool *have_keys_r)
{
	char *password = NULL;
	if (cli_read_password(cli, &password) < 0)
		return NULL;
	char *hash = password_hash(password);
	*have_keys_r = hash != NULL && scram_keys_new(password, keys_r) == 0;
	wipe(password, strlen(password));
	free(password);
	if (hash == NULL)
		cli_fail(cli, CLI_EX_ERROR, "cannot hash the password (libcrypt failed)");
	return hash;
}

static int set_password(struct cli *cli, const char *arg, bool create)
{
	char *addr = cli_address(cli, arg);
	if (addr == NULL)
		return CLI_EX_ERROR;
	/* Check the account first, so a typo fails before the prompt. */
	struct store_account a = {0};
	enum store_err err = store_account_get(cli->store, addr, &a);
	int64_t id = err == STORE_OK ? a.id : 0;
	store_account_clear(&a);
	if (create && err == STORE_OK)
		err = STORE_EEXISTS;
	else if (create && err == STORE_ENOTFOUND)
		err = STORE_OK;
	if (err != STORE_OK) {
		int code = cli_store_result(cli, err, NULL, addr);
		free(addr);
		return code;
	}
	struct scram_keys keys;
	bool have_keys = false;
	char *hash = read_hash(cli, &keys, &have_keys);
	if (hash == NULL) {
		free(addr);
		return CLI_EX_ERROR;
	}
	char *error = NULL;
	if (create)
		err = store_account_add(cli->store, addr, hash, &error);
	else
		err = store_account_passwd(cli->store, addr, hash, &error);
	if (create && err == STORE_OK)
		(void)account_id_of(cli, addr, &id);
	/* The keys are bound to this hash (store-auth.h): if writing them
	 * fails, SCRAM waits for the next PLAIN/LOGIN login; the old keys are
	 * stale either way. */
	if (err == STORE_OK && have_keys && id > 0 &&
	    store_scram_set(cli->store, id, hash, &keys) != STORE_OK)
		fprintf(cli->err, "roost: warning: SCRAM keys not stored; they are added at the "
				  "next login\n");
	wipe(&keys, sizeof(keys));
	if (!create && err == STORE_OK)
		end_sessions(cli, id, "Password changed, log in again");
	int code = cli_store_result(cli, err, error, addr);
	free(hash);
	free(addr);
	return code;
}

int cmd_user_add(struct cli *cli, int argc, char **argv)
{
	return set_password(cli, argv[0], true);
}

int cmd_user_passwd(struct cli *cli, int argc, char **argv)
{
	return set_password(cli, argv[0], false);
}

/* One admin change to an existing account that ends its live sessions:
 * the account id is read before the change (a deleted account has none
 * after), the change is committed, then the sessions are told (`reason`
 * is their BYE / -ERR text; NULL = the change ends none). */
static int change_account(struct cli *cli, const char *arg,
			  enum store_err (*change)(struct store *s, const char *addr, bool on,
						   char **error_r),
			  bool on, const char *reason)
{
	char *addr = cli_address(cli, arg);
	if (addr == NULL)
		return CLI_EX_ERROR;
	int64_t id;
	enum store_err err = account_id_of(cli, addr, &id);
	if (err != STORE_OK) {
		int code = cli_store_result(
			cli, err, err == STORE_ENOTFOUND ? xstrdup("no such account") : NULL, addr);
		free(addr);
		return code;
	}
	char *error = NULL;
	err = change(cli->store, addr, on, &error);
	if (err == STORE_OK && reason != NULL)
		end_sessions(cli, id, reason);
	int code = cli_store_result(cli, err, error, addr);
	free(addr);
	return code;
}

static enum store_err delete_account(struct store *s, const char *addr, bool on, char **error_r)
{
	return store_account_del(s, addr, error_r);
}

int cmd_user_del(struct cli *cli, int argc, char **argv)
{
	return change_account(cli, argv[0], delete_account, true, "Account deleted");
}

/* `user disable`: logins are refused (answered like a wrong password, the
 * log says why) and live sessions end; mail is still accepted and stored,
 * so a suspended user loses nothing. `user enable` undoes it. */
int cmd_user_disable(struct cli *cli, int argc, char **argv)
{
	return change_account(cli, argv[0], store_account_set_disabled, true, "Account disabled");
}

int cmd_user_enable(struct cli *cli, int argc, char **argv)
{
	return change_account(cli, argv[0], store_account_set_disabled, false, NULL);
}

static void print_limit(FILE *out, int64_t v)
{
	if (v < 0)
		fputs("unlimited", out);
	else
		fprintf(out, "%" PRId64, v);
}

/* "90" or "90%" (0-1000, over 100 finds accounts past their quota
 * through an admin's lowered limit); -1 when malformed. */
static int parse_percent(const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || v > 1000 || (*end != '\0' && strcmp(end, "%") != 0))
		return -1;
	return (int)v;
}

/* `user list --over PCT`: accounts with a storage limit whose use is at
 * or over PCT percent of it (the support desk's "who is nearly full"). */
static void list_over(struct cli *cli, const struct store_account *list, size_t n, int pct)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_account *a = &list[i];
		if (a->quota_bytes <= 0 || a->used_bytes * 100 < (int64_t)pct * a->quota_bytes)
			continue;
		int64_t tenths = a->used_bytes * 1000 / a->quota_bytes;
		fprintf(cli->out, "%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 ".%" PRId64 "%%\n",
			a->address, a->used_bytes, a->quota_bytes, tenths / 10, tenths % 10);
	}
}

int cmd_user_list(struct cli *cli, int argc, char **argv)
{
	int over = -1;
	if (argc > 0) {
		if (argc != 2 || strcmp(argv[0], "--over") != 0)
			return cli_fail(cli, CLI_EX_ERROR, "usage: roost user list [--over <percent>]");
		if ((over = parse_percent(argv[1])) < 0)
			return cli_fail(cli, CLI_EX_ERROR,
					"%.64s: invalid percentage (expected e.g. 90 or 90%%)", argv[1]);
	}
	struct store_account *list = NULL;
	size_t n = 0;
	enum store_err err = store_account_list(cli->store, &list, &n);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, "user list");
	if (over >= 0) {
		list_over(cli, list, n, over);
		store_account_list_free(list, n);
		return CLI_EX_OK;
	}
	for (size_t i = 0; i < n; i++) {
		fprintf(cli->out, "%s\t", list[i].address);
		print_limit(cli->out, list[i].quota_bytes);
		fprintf(cli->out, "\t%" PRId64 "\t%" PRId64 "\t%s\n", list[i].used_bytes,
			list[i].used_messages, list[i].disabled ? "disabled" : "active");
	}
	store_account_list_free(list, n);
	return CLI_EX_OK;
}

/* "500M", "2G", "unlimited" -> bytes/-1; "default" -> -2 (store.h). */
static int parse_quota(struct cli *cli, const char *arg, bool count, int64_t *v_r)
{
	if (strcmp(arg, "default") == 0) {
		*v_r = -2;
		return 0;
	}
	if (count && strcmp(arg, "unlimited") != 0) {
		char *end;
		long long v = strtoll(arg, &end, 10);
		if (arg[0] >= '0' && arg[0] <= '9' && *end == '\0' && v >= 0) {
			*v_r = v;
			return 0;
		}
	} else if (config_parse_size(arg, v_r) == 0) {
		return 0;
	}
	cli_fail(cli, CLI_EX_ERROR, "%.64s: invalid %s (expected %s, unlimited or default)", arg,
		 count ? "message count" : "size", count ? "a number" : "e.g. 500M or 2G");
	return -1;
}

int cmd_user_quota(struct cli *cli, int argc, char **argv)
{
	int64_t bytes, messages = -3; /* -3: leave the message quota alone */
	if (parse_quota(cli, argv[1], false, &bytes) < 0 ||
	    (argc > 2 && parse_quota(cli, argv[2], true, &messages) < 0))
		return CLI_EX_ERROR;
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	char *error = NULL;
	enum store_err err = store_account_quota(cli->store, addr, bytes, messages, &error);
	int code = cli_store_result(cli, err, error, addr);
	free(addr);
	return code;
}

/* `user show`: one "key<TAB>value" line per setting, for people and scripts.
 * pop3-delete is the account's own override, or "default" (pop3.delete). */
int cmd_user_show(struct cli *cli, int argc, char **argv)
{
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	struct store_account a = {0};
	enum store_err err = store_account_get(cli->store, addr, &a);
	if (err != STORE_OK) {
		int code = cli_store_result(cli, err, NULL, addr);
		free(addr);
		return code;
	}
	fprintf(cli->out, "address\t%s\nquota\t", a.address);
	print_limit(cli->out, a.quota_bytes);
	fputs("\nquota-messages\t", cli->out);
	print_limit(cli->out, a.quota_messages);
	fprintf(cli->out, "\nquota-default\t%s\nused\t%" PRId64 "\nmessages\t%" PRId64
			  "\npop3-delete\t%s\ndisabled\t%s\n",
		a.quota_is_default ? "yes" : "no", a.used_bytes, a.used_messages,
		a.pop3_delete != NULL ? a.pop3_delete : "default", a.disabled ? "yes" : "no");
	int save_sent = -1;
	int64_t account_id = a.id;
	err = store_save_sent_get(cli->store, a.id, &save_sent);
	store_account_clear(&a);
	if (err != STORE_OK) {
		int code = cli_store_result(cli, err, NULL, addr);
		free(addr);
		return code;
	}
	fprintf(cli->out, "save-sent\t%s\n",
		save_sent < 0 ? "default" : save_sent ? "yes" : "no");
	char *pop3_mailboxes = NULL;
	if ((err = store_account_pop3_mailboxes_get(cli->store, account_id, &pop3_mailboxes)) != STORE_OK) {
		int code = cli_store_result(cli, err, NULL, addr);
		free(addr);
		return code;
	}
	fprintf(cli->out, "pop3-mailboxes\t%s\n", pop3_mailboxes != NULL ? pop3_mailboxes : "default");
	free(pop3_mailboxes);
	free(addr);
	return CLI_EX_OK;
}

/* `user pop3-delete <address> expunge|hide|default`: the per-account
 * override of pop3.delete. Takes effect at the account's
 * next POP3 login and the next pop3.expire_days pass. */
int cmd_user_pop3_delete(struct cli *cli, int argc, char **argv)
{
	const char *mode = argv[1];
	if (strcmp(mode, "default") == 0)
		mode = NULL;
	else if (strcmp(mode, "expunge") != 0 && strcmp(mode, "hide") != 0)
		return cli_fail(cli, CLI_EX_ERROR, "%.64s: invalid mode (expected expunge, hide or default)",
				argv[1]);
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	char *error = NULL;
	enum store_err err = store_account_pop3_delete(cli->store, addr, mode, &error);
	int code = cli_store_result(cli, err, error, addr);
	free(addr);
	return code;
}

/* A generated app password: APP_PASSWORD_GROUPS groups of four lowercase
 * letters joined by '-' (16 letters: about 75 bits), easy to type on a
 * phone. */
#define APP_PASSWORD_GROUPS 4

static int generate_app_password(char *out, size_t size)
{
	size_t pos = 0;
	for (int g = 0; g < APP_PASSWORD_GROUPS; g++) {
		for (int i = 0; i < 4; i++) {
			unsigned char b;
			/* 26 * 9 = 234: reject 234..255 so every letter is as likely */
			do {
				if (RAND_bytes(&b, 1) != 1)
					return -1;
			} while (b >= 234);
			if (pos + 1 >= size)
				return -1;
			out[pos++] = (char)('a' + b % 26);
		}
		if (g + 1 < APP_PASSWORD_GROUPS && pos + 1 < size)
			out[pos++] = '-';
	}
	out[pos] = '\0';
	return 0;
}

int cmd_user_app_password_add(struct cli *cli, int argc, char **argv)
{
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	char password[APP_PASSWORD_GROUPS * 5];
	if (generate_app_password(password, sizeof(password)) < 0) {
		free(addr);
		return cli_fail(cli, CLI_EX_ERROR, "cannot generate a password (no randomness)");
	}
	char *hash = password_hash(password);
	if (hash == NULL) {
		wipe(password, sizeof(password));
		free(addr);
		return cli_fail(cli, CLI_EX_ERROR, "cannot hash the password (libcrypt failed)");
	}
	char *error = NULL;
	enum store_err err = store_app_password_add(cli->store, addr, argv[1], hash, &error);
	free(hash);
	if (err == STORE_OK)
		fprintf(cli->out, "%s\n", password);
	wipe(password, sizeof(password));
	int code = cli_store_result(cli, err, error, addr);
	free(addr);
	return code;
}

int cmd_user_app_password_list(struct cli *cli, int argc, char **argv)
{
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	struct store_app_password *list = NULL;
	size_t n = 0;
	enum store_err err = store_app_password_list(cli->store, addr, &list, &n);
	for (size_t i = 0; err == STORE_OK && i < n; i++)
		fprintf(cli->out, "%s\t%" PRId64 "\n", list[i].label, list[i].created);
	store_app_password_list_free(list, n);
	int code = cli_store_result(cli, err,
				    err == STORE_ENOTFOUND ? xstrdup("no such account") : NULL, addr);
	free(addr);
	return code;
}

int cmd_user_app_password_del(struct cli *cli, int argc, char **argv)
{
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	int64_t id;
	enum store_err err = account_id_of(cli, addr, &id);
	char *error = NULL;
	if (err == STORE_ENOTFOUND)
		error = xstrdup("no such account");
	if (err == STORE_OK)
		err = store_app_password_del(cli->store, addr, argv[1], &error);
	/* Sessions do not remember which password they used: end them all;
	 * the devices whose password still holds log in again at once. */
	if (err == STORE_OK)
		end_sessions(cli, id, "An app password was revoked, log in again");
	int code = cli_store_result(cli, err, error, addr);
	free(addr);
	return code;
}

/* `user save-sent <address> yes|no|default`: the per-account override of
 * submission.save_sent, read at each submitted message. */
int cmd_user_save_sent(struct cli *cli, int argc, char **argv)
{
	int mode;
	if (strcmp(argv[1], "yes") == 0)
		mode = 1;
	else if (strcmp(argv[1], "no") == 0)
		mode = 0;
	else if (strcmp(argv[1], "default") == 0)
		mode = -1;
	else
		return cli_fail(cli, CLI_EX_ERROR, "%.64s: expected yes, no or default", argv[1]);
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	char *error = NULL;
	enum store_err err = store_save_sent_set(cli->store, addr, mode, &error);
	int code = cli_store_result(cli, err, error, addr);
	free(addr);
	return code;
}

/* `user trace <address> on|off` (lib/trace.h): the switch is a flag file
 * in DATADIR/trace/; run inside the daemon (control socket) it also
 * reaches the running daemon, so the account's next login is traced. */
int cmd_user_trace(struct cli *cli, int argc, char **argv)
{
	bool on = strcmp(argv[1], "on") == 0;
	if (!on && strcmp(argv[1], "off") != 0)
		return cli_fail(cli, CLI_EX_ERROR, "%.64s: expected on or off", argv[1]);
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	int64_t id;
	enum store_err err = on ? account_id_of(cli, addr, &id) : STORE_OK;
	if (err != STORE_OK) {
		int code = cli_store_result(
			cli, err, err == STORE_ENOTFOUND ? xstrdup("no such account") : NULL, addr);
		free(addr);
		return code;
	}
	char *error = NULL;
	if (trace_switch(cli->datadir, addr, on, &error) < 0) {
		cli_fail(cli, CLI_EX_ERROR, "%s: %s", addr, error);
		free(error);
		free(addr);
		return CLI_EX_ERROR;
	}
	if (!cli->via_daemon)
		fprintf(cli->err, "roost: the daemon is not running: it reads the switch when it starts\n");
	free(addr);
	return CLI_EX_OK;
}
