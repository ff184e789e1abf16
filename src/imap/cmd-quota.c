/*
 * QUOTA (RFC 9208): one quota root "" per account with STORAGE (in units
 * of 1024 octets, RFC 9208 5.1: usage rounded up, limit down) and MESSAGE
 * resources. A resource without a limit is not listed; an account with no
 * limits at all has no quota root (the resource list may not be empty,
 * RFC 9208 section 8 "quota_list").
 *
 * SETQUOTA (RFC 9208 4.1.3) is for quota administrators: the addresses
 * listed in imap.quota_admins, each for the accounts of its own domain.
 * An administrator names an account by its address as the quota root
 * ("" is the administrator's own account), and may read it back with
 * GETQUOTA. Everyone else gets NO [NOPERM] (RFC 5530), also for an
 * account of another domain. Resources not named keep their limits.
 */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "mail/address.h"
#include "store/store-quota-admin.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool has_limits(const struct store_account *a)
{
	return a->quota_bytes >= 0 || a->quota_messages >= 0;
}

/* The QUOTA response of an account with limits, under quota root `root`
 * ("" for the session's own account). */
static void write_quota_root(struct imap_session *s, const char *root,
			     const struct store_account *a)
{
	struct buf b;
	buf_init(&b, 1024);
	const char *sep = "";
	buf_puts(&b, "* QUOTA ");
	imap_buf_string(&b, root, strlen(root));
	buf_puts(&b, " (");
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

static void write_quota(struct imap_session *s, const struct store_account *a)
{
	write_quota_root(s, "", a);
}

/* Is `address` one of imap.quota_admins? */
static bool is_quota_admin(const struct imap_session *s, const char *address)
{
	const char *list = config_str(s->srv->cfg, "imap.quota_admins");
	size_t alen = strlen(address);
	while (list != NULL && *list != '\0') {
		size_t skip = strspn(list, ", \t");
		list += skip;
		size_t n = strcspn(list, ", \t");
		if (n == alen && n > 0 && strncasecmp(list, address, n) == 0)
			return true;
		list += n;
	}
	return false;
}

bool imap_quota_admins_configured(const struct imap_session *s)
{
	const char *list = config_str(s->srv->cfg, "imap.quota_admins");
	return list != NULL && list[strspn(list, ", \t")] != '\0';
}

/* The account a quota root names for this session: "" is its own; an
 * address is that account, for a quota administrator of its domain.
 * Fills *a_r; NO reply sent and false when refused or failed. */
static bool root_account(struct imap_cmd *cmd, const struct imap_arg *root,
			 struct store_account *a_r)
{
	struct imap_session *s = cmd->s;
	struct store_account self;
	enum store_err err = store_account_get_by_id(s->srv->store, s->account_id, &self);
	if (err != STORE_OK) {
		imap_store_no(cmd, err, "Cannot read quota");
		return false;
	}
	if (root->len == 0) {
		*a_r = self;
		return true;
	}
	const char *error;
	char *addr = memchr(root->str, '\0', root->len) == NULL
			     ? address_normalize(root->str, &error) : NULL;
	bool admin = is_quota_admin(s, self.address);
	bool same_domain = addr != NULL &&
			   strcmp(address_domain(addr), address_domain(self.address)) == 0;
	store_account_clear(&self);
	if (addr == NULL || !admin || !same_domain) {
		free(addr);
		/* the same answer whether or not such an account exists */
		imap_cmd_no(cmd, admin ? "[NOPERM] Not a quota root you administer"
				       : "[NONEXISTENT] No such quota root");
		return false;
	}
	err = store_account_get(s->srv->store, addr, a_r);
	free(addr);
	if (err != STORE_OK) {
		imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such quota root"
							: "Cannot read quota");
		return false;
	}
	return true;
}

void cmd_getquota(struct imap_cmd *cmd)
{
	if (cmd->a.count != 1 || !imap_arg_is_astring(&cmd->a.args[0])) {
		imap_cmd_bad(cmd, "GETQUOTA needs a quota root");
		return;
	}
	struct store_account a;
	if (!root_account(cmd, &cmd->a.args[0], &a))
		return;
	bool limited = has_limits(&a);
	if (limited)
		write_quota_root(cmd->s, cmd->a.args[0].str, &a);
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

struct setquota_ctx {
	struct store_op op;
	struct store_quota_set q;
	char *root;
};

static void setquota_cleanup(struct imap_cmd *cmd)
{
	struct setquota_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	free(ctx->root);
	free(ctx);
}

static void setquota_done(struct imap_cmd *cmd, struct store_op *op)
{
	struct setquota_ctx *ctx = cmd->ctx;
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, "SETQUOTA failed");
		return;
	}
	/* RFC 9208 4.1.3: the new limits in an untagged QUOTA response */
	struct store_account a;
	enum store_err err = store_account_get_by_id(cmd->s->srv->store, ctx->q.account_id, &a);
	if (err == STORE_OK) {
		if (has_limits(&a))
			write_quota_root(cmd->s, ctx->root, &a);
		store_account_clear(&a);
	}
	imap_cmd_ok(cmd, "SETQUOTA completed");
}

/* SETQUOTA quota-root "(" [setquota-resource *(SP setquota-resource)] ")"
 * (RFC 9208 section 8); STORAGE in units of 1024 octets. */
void cmd_setquota(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->a.count != 2 || !imap_arg_is_astring(&cmd->a.args[0]) ||
	    cmd->a.args[1].type != IMAP_ARG_LIST || cmd->a.args[1].count % 2 != 0) {
		imap_cmd_bad(cmd, "SETQUOTA quota-root (resource limit ...)");
		return;
	}
	struct store_account self;
	enum store_err err = store_account_get_by_id(s->srv->store, s->account_id, &self);
	if (err != STORE_OK) {
		imap_store_no(cmd, err, "Cannot read quota");
		return;
	}
	bool admin = is_quota_admin(s, self.address);
	store_account_clear(&self);
	if (!admin) {
		imap_cmd_no(cmd, "[NOPERM] Quotas are set by a quota administrator");
		return;
	}
	int64_t bytes = -3, messages = -3;
	const struct imap_arg *l = cmd->a.args[1].list;
	for (size_t i = 0; i < cmd->a.args[1].count; i += 2) {
		uint64_t v;
		if (l[i + 1].type != IMAP_ARG_ATOM ||
		    imap_parse_number(l[i + 1].str, (uint64_t)INT64_MAX / 1024, &v) < 0) {
			imap_cmd_bad(cmd, "A resource limit is a number");
			return;
		}
		if (imap_arg_is_atom(&l[i], "STORAGE")) {
			bytes = (int64_t)v * 1024;
		} else if (imap_arg_is_atom(&l[i], "MESSAGE")) {
			messages = (int64_t)v;
		} else {
			imap_cmd_no(cmd, "[CANNOT] Only the STORAGE and MESSAGE resources have limits");
			return;
		}
	}
	struct store_account a;
	if (!root_account(cmd, &cmd->a.args[0], &a))
		return;
	struct setquota_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = setquota_cleanup;
	ctx->root = xstrdup(cmd->a.args[0].str);
	ctx->q.account_id = a.id;
	ctx->q.bytes = bytes;
	ctx->q.messages = messages;
	store_account_clear(&a);
	store_quota_set_init(&ctx->op, &ctx->q);
	imap_op_submit(cmd, &ctx->op, setquota_done);
}
