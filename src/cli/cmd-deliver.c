/*
 * cmd-deliver: `roost deliver [-f SENDER] ADDRESS... < message`, local
 * delivery for an MTA (e.g. Postfix pipe(8) or mailbox_command) through
 * the same path SMTP and LMTP use (store/delivery.h): aliases, catch-all,
 * plus-addressing, quota, durability.
 *
 * All recipients or none: the message is stored for every recipient in
 * one store op, or for nobody, so an MTA that retries after a failure
 * never creates duplicates. The exit status is the sysexits code an MTA
 * acts on (see cli.h). The message is stored exactly as read (bare LF line
 * endings included).
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/metrics.h"
#include "mail/address.h"
#include "store/delivery.h"
#include "store/delivery-sieve.h"
#include <stdlib.h>
#include <string.h>

/* Read chunk size; the message limit itself is message.max_size. */
#define DELIVER_READ_CHUNK 65536

int cli_read_message(FILE *in, int64_t max, char **data_r, size_t *len_r)
{
	if (max < 0 || max > CLI_MAX_MESSAGE)
		max = CLI_MAX_MESSAGE;
	struct buf b;
	buf_init(&b, (size_t)max);
	char *chunk = xmalloc(DELIVER_READ_CHUNK);
	int ret = 0;
	size_t n;
	while ((n = fread(chunk, 1, DELIVER_READ_CHUNK, in)) > 0) {
		if (buf_append(&b, chunk, n) < 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && ferror(in))
		ret = -2;
	free(chunk);
	if (ret < 0) {
		buf_free(&b);
		return ret;
	}
	*len_r = b.len;
	*data_r = buf_steal(&b);
	return 0;
}

/* Exit code and reason for a failed store op. */
static int deliver_fail(struct cli *cli, enum store_err err, const char *detail)
{
	int code;
	const char *why;
	switch (err) {
	case STORE_ENOQUOTA:
		code = strcmp(config_str(cli->cfg, "quota.overquota"), "temporary") == 0 ?
			       CLI_EX_TEMPFAIL : CLI_EX_NOPERM;
		why = "over quota";
		break;
	case STORE_ENOTFOUND:
		code = CLI_EX_NOUSER;
		why = "no such user";
		break;
	case STORE_ELIMIT:
		code = CLI_EX_DATAERR;
		why = "message exceeds a limit of the store";
		break;
	default:
		/* Anything else may succeed later: let the MTA retry. */
		code = CLI_EX_TEMPFAIL;
		why = store_strerror(err);
		break;
	}
	if (detail != NULL && *detail != '\0')
		return cli_fail(cli, code, "delivery failed: %s (%s)", why, detail);
	return cli_fail(cli, code, "delivery failed: %s", why);
}

static int add_rcpt(struct cli *cli, struct delivery *d, const char *arg)
{
	const char *why;
	char *addr = address_normalize(arg, &why);
	if (addr == NULL)
		return cli_fail(cli, CLI_EX_NOUSER, "%.*s: invalid address: %s", ADDRESS_MAX, arg, why);
	enum store_err err = delivery_add_rcpt(d, cli->store, addr);
	int code = CLI_EX_OK;
	if (err == STORE_ENOTFOUND)
		code = cli_fail(cli, CLI_EX_NOUSER, "%s: no such user", addr);
	else if (err == STORE_EPERM)
		code = cli_fail(cli, CLI_EX_NOUSER, "%s: domain not hosted here", addr);
	else if (err == STORE_EINVAL)
		code = cli_fail(cli, CLI_EX_NOUSER, "%s: invalid address", addr);
	else if (err != STORE_OK)
		code = cli_fail(cli, CLI_EX_TEMPFAIL, "%s: %s", addr, store_strerror(err));
	free(addr);
	return code;
}

void cli_deliver_sieve(struct cli *cli, struct delivery *d, const char *data, size_t len)
{
	/* the recipients' Sieve scripts (delivery-sieve.h); a reject becomes
	 * a DSN, as the caller's exit code covers every recipient at once */
	struct delivery_sieve_config sc;
	delivery_sieve_config_load(&sc, cli->cfg, config_str(cli->cfg, "server.hostname"));
	delivery_sieve_run(d, cli->store, &sc, data, len, false);
	delivery_sieve_config_clear(&sc);
}

int cmd_deliver(struct cli *cli, int argc, char **argv)
{
	const char *sender = "";
	if (strcmp(argv[0], "-f") == 0) {
		if (argc < 3)
			return cli_fail(cli, CLI_EX_USAGE,
					"usage: roost deliver [-f <sender>] <address>...");
		sender = argv[1];
		argc -= 2;
		argv += 2;
		const char *why;
		char *check = NULL;
		if (*sender != '\0' && (check = address_normalize(sender, &why)) == NULL)
			return cli_fail(cli, CLI_EX_USAGE, "-f %.*s: invalid sender: %s",
					ADDRESS_MAX, sender, why);
		free(check);
	}
	struct delivery d;
	delivery_init(&d, sender, NULL);
	int code = CLI_EX_OK;
	for (int i = 0; i < argc && code == CLI_EX_OK; i++)
		code = add_rcpt(cli, &d, argv[i]);
	char *data = NULL;
	size_t len = 0;
	if (code == CLI_EX_OK) {
		int r = cli_read_message(cli->in, config_size(cli->cfg, "message.max_size"), &data,
					 &len);
		if (r == -1)
			code = cli_fail(cli, CLI_EX_DATAERR, "message larger than message.max_size (%s)",
					config_str(cli->cfg, "message.max_size"));
		else if (r < 0)
			code = cli_fail(cli, CLI_EX_TEMPFAIL, "cannot read the message from stdin");
	}
	if (code == CLI_EX_OK) {
		cli_deliver_sieve(cli, &d, data, len);
		delivery_prepare(&d, data, len);
		d.op.u.deliver.per_target = false; /* all or nothing, see above */
		enum store_err err = delivery_nothing_to_store(&d) ? STORE_OK
								   : store_run(cli->store, &d.op);
		delivery_finish(&d);
		for (size_t i = 0; err == STORE_OK && i < d.nrcpts; i++)
			err = d.rcpts[i].err;
		/* counted when it runs inside the daemon (the control socket) */
		metrics_add("roost_deliveries_total", "deliver", err == STORE_OK ? "accepted" : "refused",
			    (int64_t)d.nrcpts);
		if (err != STORE_OK)
			code = deliver_fail(cli, err, d.op.error);
	}
	delivery_free(&d);
	free(data);
	return code;
}
