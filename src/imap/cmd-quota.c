/*
 * QUOTA (RFC 9208): one quota root "" per account with STORAGE (in units
 * of 1024 octets, RFC 9208 5.1: usage rounded up, limit down) and MESSAGE
 * resources. A resource without a limit is not listed; an account with no
 * limits at all has no quota root (the resource list may not be empty,
 * RFC 9208 section 8 "quota_list"). SETQUOTA is an admin action: refused.
 */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "lib/buf.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

static bool has_limits(const struct store_account *a)
{
	return a->quota_bytes >= 0 || a->quota_messages >= 0;
}

/* The QUOTA response of an account with limits. */
static void write_quota(struct imap_session *s, const struct store_account *a)
{
	struct buf b;
	buf_init(&b, 1024);
	const char *sep = "";
	buf_puts(&b, "* QUOTA \"\" (");
	if (a->quota_bytes >= 0) {
		buf_printf(&b, "STORAGE %lld %lld", (long long)((a->used_bytes + 1023) / 1024),
			   (long long)(a->quota_bytes / 1024));
		sep = " ";
	}
	if (a->quota_messages >= 0)
		buf_printf(&b, "%sMESSAGE %lld %lld", sep, (long long)a->used_messages,
			   (long long)a->quota_messages);
	buf_puts(&b, ")\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
}

void cmd_getquota(struct imap_cmd *cmd)
{
	if (cmd->a.count != 1 || !imap_arg_is_astring(&cmd->a.args[0])) {
		imap_cmd_bad(cmd, "GETQUOTA needs a quota root");
		return;
	}
	if (cmd->a.args[0].len != 0) {
		imap_cmd_no(cmd, "[NONEXISTENT] No such quota root");
		return;
	}
	struct store_account a;
	enum store_err err = store_account_get_by_id(cmd->s->srv->store, cmd->s->account_id, &a);
	if (err != STORE_OK) {
		imap_store_no(cmd, err, "Cannot read quota");
		return;
	}
	bool limited = has_limits(&a);
	if (limited)
		write_quota(cmd->s, &a);
	store_account_clear(&a);
	if (!limited) {
		imap_cmd_no(cmd, "[NONEXISTENT] No quota limits for this account");
		return;
	}
	imap_cmd_ok(cmd, "GETQUOTA completed");
}

void cmd_getquotaroot(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *error;
	char *name;
	if (cmd->a.count != 1) {
		imap_cmd_bad(cmd, "GETQUOTAROOT needs a mailbox name");
		return;
	}
	if (imap_mailbox_from_wire(s, &cmd->a.args[0], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	/* every read first, so a failure answers NO with nothing half-sent */
	struct store_mailbox mb;
	struct store_account a;
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	if (err == STORE_OK) {
		store_mailbox_clear(&mb);
		err = store_account_get_by_id(s->srv->store, s->account_id, &a);
	}
	if (err != STORE_OK) {
		free(name);
		imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such mailbox" : "Cannot read quota");
		return;
	}
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, "* QUOTAROOT ");
	char *wire = imap_mailbox_to_wire(s, name);
	imap_session_buf_string(s, &b, wire, strlen(wire));
	buf_puts(&b, has_limits(&a) ? " \"\"\r\n" : "\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	free(wire);
	free(name);
	if (has_limits(&a))
		write_quota(s, &a);
	store_account_clear(&a);
	imap_cmd_ok(cmd, "GETQUOTAROOT completed");
}

void cmd_setquota(struct imap_cmd *cmd)
{
	imap_cmd_no(cmd, "[NOPERM] Quotas are set by the administrator");
}
