/*
 * URLAUTH (RFC 4467): GENURLAUTH signs URL rumps with the mailbox's
 * access key (INTERNAL mechanism, HMAC-SHA256: store/store-urlauth.h),
 * RESETKEY replaces keys (every URL signed with them stops working),
 * URLFETCH returns what signed URLs name. As everywhere, a session
 * reaches only its own account: it signs only URLs of its own messages,
 * for access "submit+" or "user+" of its own user (authuser, anonymous
 * and other users are refused until accounts can share), and fetches
 * only such URLs. Section and partial range come from the URL (RFC 5092).
 */
#include "imap/imap-commands.h"
#include "imap/imap-fetch-section.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/membudget.h"
#include "mail/imap-quote.h"
#include "mail/imap-url.h"
#include "mail/mailbox-name.h"
#include "store/store-imap.h"
#include "store/store-urlauth.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* URLs in one GENURLAUTH or URLFETCH. */
#define IMAP_URLAUTH_MAX_URLS 16

/* The session's account address (caller frees), or NULL after a NO. */
static char *own_address(struct imap_cmd *cmd)
{
	struct store_account a;
	enum store_err err = store_account_get_by_id(cmd->s->srv->store, cmd->s->account_id, &a);
	if (err != STORE_OK) {
		imap_store_no(cmd, err, "Cannot read the account");
		return NULL;
	}
	char *addr = xstrdup(a.address);
	store_account_clear(&a);
	return addr;
}

/* --- GENURLAUTH (RFC 4467 3.1) --- */

struct gen_ctx {
	struct store_op op;
	struct store_urlauth_key key;
	const struct imap_arg *urls[IMAP_URLAUTH_MAX_URLS];
	int64_t mailbox_ids[IMAP_URLAUTH_MAX_URLS];
	size_t rump_lens[IMAP_URLAUTH_MAX_URLS];
	size_t n, next;
	struct buf out;
};

static void gen_cleanup(struct imap_cmd *cmd)
{
	struct gen_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	memset(ctx->key.key, 0, sizeof(ctx->key.key));
	buf_free(&ctx->out);
	free(ctx);
}

static void gen_next(struct imap_cmd *cmd);

static void gen_done(struct imap_cmd *cmd, struct store_op *op)
{
	struct gen_ctx *ctx = cmd->ctx;
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, "GENURLAUTH failed");
		return;
	}
	const struct imap_arg *u = ctx->urls[ctx->next];
	char token[STORE_URLAUTH_TOKEN_HEX + 1];
	store_urlauth_token(ctx->key.key, u->str, ctx->rump_lens[ctx->next], token);
	memset(ctx->key.key, 0, sizeof(ctx->key.key));
	struct buf full;
	buf_init(&full, SIZE_MAX);
	buf_append(&full, u->str, u->len);
	buf_printf(&full, ":internal:%s", token);
	buf_putc(&ctx->out, ' ');
	imap_quote_string(&ctx->out, full.data, full.len);
	buf_free(&full);
	ctx->next++;
	store_op_clear(&ctx->op);
	gen_next(cmd);
}

/* One key op per URL, in turn (a FUNC op cannot be a MULTI sub-op). */
static void gen_next(struct imap_cmd *cmd)
{
	struct gen_ctx *ctx = cmd->ctx;
	if (ctx->next == ctx->n) {
		buf_puts(&ctx->out, "\r\n");
		imap_write(cmd->s, ctx->out.data, ctx->out.len);
		imap_cmd_ok(cmd, "GENURLAUTH completed");
		return;
	}
	ctx->key.account_id = cmd->s->account_id;
	ctx->key.mailbox_id = ctx->mailbox_ids[ctx->next];
	ctx->key.reset = false;
	store_urlauth_key_init(&ctx->op, &ctx->key);
	imap_op_submit(cmd, &ctx->op, gen_done);
}

/* A rump this session may sign: its own message, its own user, for
 * submit+ or user+ of itself. *mailbox_id_r on success; else a reply. */
static bool gen_check(struct imap_cmd *cmd, const char *me, const struct imap_arg *arg,
		      const struct imap_arg *mech, int64_t *mailbox_id_r, size_t *rump_len_r)
{
	struct imap_session *s = cmd->s;
	struct imap_url u;
	const char *error;
	if (!imap_arg_is_astring(arg) || imap_url_parse(arg->str, arg->len, &u, &error) < 0) {
		imap_cmd_no(cmd, "[BADURL] %s", "Not an IMAP URL");
		return false;
	}
	bool ok = false;
	if (!imap_arg_is_atom(mech, "INTERNAL")) {
		imap_cmd_no(cmd, "[BADURL] Only the INTERNAL mechanism is supported");
	} else if (!u.absolute || u.access == NULL || u.mechanism != NULL || u.user == NULL) {
		imap_cmd_no(cmd, "[BADURL] Expected an absolute URL rump with ;URLAUTH=");
	} else if (strcasecmp(u.user, me) != 0) {
		imap_cmd_no(cmd, "[BADURL] URL of another user");
	} else if (u.access_user == NULL || strcasecmp(u.access_user, me) != 0) {
		imap_cmd_no(cmd, "[BADURL] Access is granted only to submit+ or user+ of yourself");
	} else {
		char *name = mailbox_name_normalize(u.mailbox);
		struct store_mailbox mb = {0};
		enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
		free(name);
		struct store_msg *msgs = NULL;
		size_t n = 0;
		if (err == STORE_OK && u.uidvalidity != 0 && u.uidvalidity != mb.uidvalidity)
			err = STORE_ENOTFOUND;
		if (err == STORE_OK)
			err = store_imap_messages_range(s->srv->store, s->account_id, mb.id, u.uid,
							u.uid, &msgs, &n);
		if (err == STORE_OK && n == 0)
			err = STORE_ENOTFOUND;
		store_msg_list_free(msgs, n);
		if (err == STORE_ENOTFOUND) {
			imap_cmd_no(cmd, "[BADURL] No such message");
		} else if (err != STORE_OK) {
			imap_store_no(cmd, err, "Cannot read the mailbox");
		} else {
			*mailbox_id_r = mb.id;
			*rump_len_r = arg->len;
			ok = true;
		}
		store_mailbox_clear(&mb);
	}
	imap_url_clear(&u);
	return ok;
}

void cmd_genurlauth(struct imap_cmd *cmd)
{
	const struct imap_command_args *a = &cmd->a;
	if (a->count == 0 || a->count % 2 != 0) {
		imap_cmd_bad(cmd, "GENURLAUTH url-rump mechanism ...");
		return;
	}
	if (a->count / 2 > IMAP_URLAUTH_MAX_URLS) {
		imap_cmd_no(cmd, "[LIMIT] At most %d URLs", IMAP_URLAUTH_MAX_URLS);
		return;
	}
	char *me = own_address(cmd);
	if (me == NULL)
		return;
	struct gen_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = gen_cleanup;
	buf_init(&ctx->out, SIZE_MAX);
	buf_puts(&ctx->out, "* GENURLAUTH");
	for (size_t i = 0; i < a->count; i += 2) {
		if (!gen_check(cmd, me, &a->args[i], &a->args[i + 1], &ctx->mailbox_ids[ctx->n],
			       &ctx->rump_lens[ctx->n])) {
			free(me);
			return;
		}
		ctx->urls[ctx->n++] = &a->args[i];
	}
	free(me);
	gen_next(cmd);
}

/* --- RESETKEY (RFC 4467 3.2) --- */

struct reset_ctx {
	struct store_op op;
	struct store_urlauth_key key;
};

static void reset_cleanup(struct imap_cmd *cmd)
{
	struct reset_ctx *ctx = cmd->ctx;
	store_op_clear(&ctx->op);
	memset(ctx->key.key, 0, sizeof(ctx->key.key));
	free(ctx);
}

static void reset_done(struct imap_cmd *cmd, struct store_op *op)
{
	if (op->err != STORE_OK) {
		imap_op_fail(cmd, op->err, "RESETKEY failed");
		return;
	}
	imap_cmd_ok(cmd, "[URLMECH INTERNAL] RESETKEY completed");
}

void cmd_resetkey(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_command_args *a = &cmd->a;
	int64_t mailbox_id = 0;
	for (size_t i = 1; i < a->count; i++)
		if (!imap_arg_is_atom(&a->args[i], "INTERNAL")) {
			imap_cmd_no(cmd, "Only the INTERNAL mechanism is supported");
			return;
		}
	if (a->count >= 1) {
		char *name;
		const char *error;
		if (imap_mailbox_from_wire(s, &a->args[0], &name, &error) < 0) {
			imap_cmd_no(cmd, "%s", error);
			return;
		}
		struct store_mailbox mb;
		enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
		free(name);
		if (err != STORE_OK) {
			imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such mailbox"
								: "Cannot read the mailbox");
			return;
		}
		mailbox_id = mb.id;
		store_mailbox_clear(&mb);
	}
	struct reset_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = reset_cleanup;
	ctx->key.account_id = s->account_id;
	ctx->key.mailbox_id = mailbox_id;
	ctx->key.reset = true;
	store_urlauth_key_init(&ctx->op, &ctx->key);
	imap_op_submit(cmd, &ctx->op, reset_done);
}

/* --- URLFETCH (RFC 4467 3.3) --- */

/* The bytes of a resolved URL's section and partial range, appended to
 * out as an nstring (NIL when the section does not exist). */
static void fetch_value(struct buf *out, const struct store_urlauth_message *m)
{
	const char *p = m->data;
	size_t n = m->len;
	char *owned = NULL;
	struct imap_section sec = {0};
	if (m->url.section != NULL &&
	    (imap_section_parse(m->url.section, &sec) < 0 ||
	     imap_section_extract(&sec, m->data, m->len, m->prefix_len, m->parts, &p, &n,
				  &owned) < 0)) {
		imap_section_clear(&sec);
		free(owned);
		buf_puts(out, "NIL");
		return;
	}
	if (m->url.partial) {
		size_t start = m->url.partial_start < n ? m->url.partial_start : n;
		size_t plen = n - start;
		if (m->url.partial_len != 0 && m->url.partial_len < plen)
			plen = m->url.partial_len;
		p += start;
		n = plen;
	}
	if (memchr(p, '\0', n) != NULL) {
		/* NUL cannot travel in a literal (RFC 9051 4.3); the nstring of
		 * URLFETCH has no literal8 without URLFETCH BINARY (RFC 5524) */
		buf_puts(out, "NIL");
	} else {
		buf_printf(out, "{%zu}\r\n", n);
		buf_append(out, p, n);
	}
	imap_section_clear(&sec);
	free(owned);
}

void cmd_urlfetch(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_command_args *a = &cmd->a;
	if (a->count == 0) {
		imap_cmd_bad(cmd, "URLFETCH url ...");
		return;
	}
	if (a->count > IMAP_URLAUTH_MAX_URLS) {
		imap_cmd_no(cmd, "[LIMIT] At most %d URLs", IMAP_URLAUTH_MAX_URLS);
		return;
	}
	for (size_t i = 0; i < a->count; i++)
		if (!imap_arg_is_astring(&a->args[i])) {
			imap_cmd_bad(cmd, "URLFETCH url ...");
			return;
		}
	char *me = own_address(cmd);
	if (me == NULL)
		return;
	struct buf out;
	buf_init(&out, SIZE_MAX);
	buf_puts(&out, "* URLFETCH");
	size_t budget = 0;
	enum store_err fail = STORE_OK;
	for (size_t i = 0; i < a->count && fail == STORE_OK; i++) {
		const struct imap_arg *u = &a->args[i];
		buf_putc(&out, ' ');
		imap_quote_string(&out, u->str, u->len);
		buf_putc(&out, ' ');
		struct store_urlauth_message m;
		enum store_err err = store_urlauth_resolve(s->srv->store, u->str, u->len, me,
							   (int64_t)time(NULL), &m);
		if (err == STORE_ETEMP || err == STORE_ECORRUPT || err == STORE_ENOSPACE) {
			fail = err;
		} else if (err != STORE_OK) {
			/* RFC 4467 3.3: NIL for a URL that cannot be fetched */
			buf_puts(&out, "NIL");
		} else if (!membudget_take(m.len)) {
			fail = STORE_ELIMIT;
		} else {
			budget += m.len;
			fetch_value(&out, &m);
		}
		store_urlauth_message_clear(&m);
	}
	free(me);
	if (fail == STORE_OK) {
		buf_puts(&out, "\r\n");
		imap_write(s, out.data, out.len);
	}
	buf_free(&out);
	membudget_give(budget);
	if (fail == STORE_ELIMIT)
		imap_cmd_no(cmd, "[LIMIT] Server memory budget exhausted, try again later");
	else if (fail != STORE_OK)
		imap_store_no(cmd, fail, "Cannot read the message");
	else
		imap_cmd_ok(cmd, "URLFETCH completed");
}
