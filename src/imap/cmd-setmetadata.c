/*
 * SETMETADATA (RFC 5464 4.3): set (a value) or remove (NIL) entries of the
 * server ("") or of one of the account's mailboxes, all or none, through
 * the writer. Past a limit (store/store-metadata.h): NO [METADATA MAXSIZE
 * n] for a value too large, NO [METADATA TOOMANY] when the mailbox or the
 * account holds as many entries (or octets) as it may. Private entries
 * are supported everywhere, so [METADATA NOPRIVATE] never applies. Other
 * sessions of the account that asked NOTIFY for MailboxMetadataChange or
 * ServerMetadataChange hear of it (imap-notify.h).
 */
#include "imap/imap-commands.h"
#include "imap/imap-metadata.h"
#include "imap/imap-notify.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "store/store-metadata.h"
#include <stdlib.h>
#include <string.h>

/* Entries in one SETMETADATA (more is [METADATA TOOMANY] anyway). */
#define IMAP_METADATA_MAX_SET STORE_METADATA_MAX_MAILBOX_ENTRIES

struct set_ctx {
	struct store_op op;
	struct store_metadata_set set;
	struct store_metadata_entry *entries;
	size_t n;
	char *mailbox;		/* store name; NULL: the server's entries */
	bool subscribed;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct set_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	for (size_t i = 0; i < ctx->n; i++) {
		free(ctx->entries[i].name);
		free(ctx->entries[i].value);
	}
	free(ctx->entries);
	free(ctx->mailbox);
	free(ctx);
}

static void done(struct imap_cmd *cmd, struct store_op *op)
{
	struct set_ctx *ctx = cmd->ctx;
	if (op->err == STORE_ELIMIT && ctx->set.too_large)
		imap_cmd_no(cmd, "[METADATA MAXSIZE %d] Value too large", STORE_METADATA_MAX_VALUE);
	else if (op->err == STORE_ELIMIT)
		imap_cmd_no(cmd, "[METADATA TOOMANY] Too many metadata entries");
	else if (op->err != STORE_OK)
		imap_op_fail(cmd, op->err, "SETMETADATA failed");
	else {
		/* NOTIFY MailboxMetadataChange / ServerMetadataChange */
		const char **names = xcalloc(ctx->n, sizeof(*names));
		for (size_t i = 0; i < ctx->n; i++)
			names[i] = ctx->entries[i].name;
		imap_notify_metadata(cmd->s, ctx->mailbox, ctx->set.mailbox_id, ctx->subscribed,
				     names, ctx->n);
		free(names);
		imap_cmd_ok(cmd, "SETMETADATA completed");
	}
}

void cmd_setmetadata(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->a.count != 2 || cmd->a.args[1].type != IMAP_ARG_LIST ||
	    cmd->a.args[1].count == 0 || cmd->a.args[1].count % 2 != 0) {
		imap_cmd_bad(cmd, "SETMETADATA mailbox (entry value ...)");
		return;
	}
	const struct imap_arg *list = cmd->a.args[1].list;
	size_t n = cmd->a.args[1].count / 2;
	if (n > IMAP_METADATA_MAX_SET) {
		imap_cmd_no(cmd, "[METADATA TOOMANY] Too many entries in one command");
		return;
	}
	/* the sizes first: a value too large is refused before any lookup */
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *k = &list[2 * i], *v = &list[2 * i + 1];
		bool is_value = v->type == IMAP_ARG_QUOTED || v->type == IMAP_ARG_LITERAL ||
				imap_arg_is_nil(v);
		if (!imap_arg_is_astring(k) || !is_value) {
			imap_cmd_bad(cmd, "Expected entry names and values (or NIL)");
			return;
		}
		if (!imap_arg_is_nil(v) && v->len > STORE_METADATA_MAX_VALUE) {
			imap_cmd_no(cmd, "[METADATA MAXSIZE %d] Value too large",
				    STORE_METADATA_MAX_VALUE);
			return;
		}
	}
	struct store_metadata_entry *entries = xcalloc(n, sizeof(*entries));
	const char *error;
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *k = &list[2 * i], *v = &list[2 * i + 1];
		if (imap_metadata_entry_parse(k->str, k->len, false, &entries[i].name, &error) < 0) {
			store_metadata_entries_free(entries, n);
			imap_cmd_bad(cmd, "%s", error);
			return;
		}
		if (!imap_arg_is_nil(v)) {
			entries[i].value = xmemdup(v->str, v->len);
			entries[i].len = v->len;
		}
	}
	int64_t mailbox_id;
	char *name;
	bool subscribed;
	enum store_err err;
	if (imap_metadata_mailbox(s, &cmd->a.args[0], &mailbox_id, &name, &subscribed, &err,
				  &error) < 0) {
		store_metadata_entries_free(entries, n);
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (err != STORE_OK) {
		store_metadata_entries_free(entries, n);
		imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such mailbox"
							: "Cannot read the mailbox");
		return;
	}
	struct set_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	ctx->entries = entries;
	ctx->n = n;
	ctx->mailbox = name;
	ctx->subscribed = subscribed;
	ctx->set.account_id = s->account_id;
	ctx->set.mailbox_id = mailbox_id;
	ctx->set.entries = entries;
	ctx->set.nentries = n;
	store_metadata_set_init(&ctx->op, &ctx->set);
	imap_op_submit(cmd, &ctx->op, done);
}
