/*
 * FETCH and UID FETCH (RFC 9051 6.4.5, RFC 3501 6.4.5). ENVELOPE, BODY and
 * BODYSTRUCTURE are served verbatim from the store-time index; BODY[...]
 * sections are cut from the message bytes with the part map. A non-PEEK
 * body fetch first sets \Seen (a store op), then answers with FLAGS too.
 * Output is streamed: when the connection's output queue is full, the
 * command waits for it to drain before rendering more messages.
 */
#include "imap/imap-return.h"
#include "imap/imap-uidonly.h" /* UIDONLY */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-date.h"
#include "imap/imap-fetch-section.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-flags.h"
#include "imap/imap-op.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/membudget.h"
#include "store/store-imap.h"
#include "store/store-msg-extra.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FETCH_MAX_ITEMS 100
#define FETCH_BATCH_BYTES (64 * 1024) /* rendered bytes per write */
/* A message larger than this draws its size from the memory budget
 * (lib/membudget.h) while it is rendered and queued for the client; the
 * draw is given back once the output has drained below the connection's
 * high-water mark (the next turn of emit()), or when the command ends. */
#define FETCH_BUDGET_MIN FETCH_BATCH_BYTES

enum item_kind {
	I_FLAGS, I_UID, I_INTERNALDATE, I_SIZE, I_ENVELOPE, I_BODY, I_BODYSTRUCTURE,
	I_SECTION, I_RFC822, I_RFC822_HEADER, I_RFC822_TEXT,
	I_BINARY, I_BINARY_SIZE,	/* RFC 3516 */
	I_MODSEQ,			/* RFC 7162 3.1.4.1 */
	I_EMAILID, I_THREADID,		/* RFC 8474 5 */
	I_SAVEDATE,			/* RFC 8514 4.3 */
	I_PREVIEW,			/* RFC 8970 3 */
};

struct item {
	enum item_kind kind;
	struct imap_section sec;
	char *label;		/* "BODY[HEADER]" as echoed */
	bool peek;
	bool partial;
	uint64_t p_start, p_len;
};

struct fetch_ctx {
	struct item items[FETCH_MAX_ITEMS];
	size_t nitems;
	bool need_meta, need_index, need_content, sets_seen;
	bool need_extra;	/* store-msg-extra.h: object ids, save date, preview */
	struct store_msg_extra extra; /* of the message being rendered */
	uint32_t *uids;
	size_t nuids, pos;
	struct store_msg *meta;
	size_t nmeta;
	uint32_t *seen_now;	/* UIDs that just got \Seen: add FLAGS */
	size_t nseen_now;
	struct store_op op;
	bool op_used;
	bool unknown_cte;	/* a BINARY part had an encoding we cannot undo */
	enum store_err read_err; /* a message could not be read (not: expunged) */
	bool want_modseq;	/* MODSEQ asked for, or CHANGEDSINCE (RFC 7162 3.1.4.1) */
	size_t budget_held;	/* memory budget of the message being sent */
	bool no_budget;		/* the budget refused a message: NO [UNAVAILABLE] */
	/* MESSAGELIMIT cut the set (RFC 9738 3.1): the lowest UID kept;
	 * the messages then go out from the highest UID down */
	uint32_t limit_lowest;
};

static void cleanup(struct imap_cmd *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	for (size_t i = 0; i < ctx->nitems; i++) {
		imap_section_clear(&ctx->items[i].sec);
		free(ctx->items[i].label);
	}
	if (ctx->op_used)
		store_op_clear(&ctx->op);
	store_msg_list_free(ctx->meta, ctx->nmeta);
	store_msg_extra_clear(&ctx->extra);
	membudget_give(ctx->budget_held);
	free(ctx->uids);
	free(ctx->seen_now);
	free(ctx);
}

static int add_item(struct fetch_ctx *ctx, enum item_kind kind)
{
	if (ctx->nitems >= FETCH_MAX_ITEMS)
		return -1;
	struct item *it = &ctx->items[ctx->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	switch (kind) {
	case I_INTERNALDATE: case I_SIZE: ctx->need_meta = true; break;
	case I_ENVELOPE: case I_BODY: case I_BODYSTRUCTURE: ctx->need_index = true; break;
	case I_EMAILID: case I_THREADID: case I_SAVEDATE: case I_PREVIEW:
		ctx->need_extra = true;
		break;
	case I_SECTION: case I_RFC822: case I_RFC822_HEADER: case I_RFC822_TEXT:
	case I_BINARY: case I_BINARY_SIZE:
		ctx->need_content = ctx->need_index = true;
		break;
	default: break;
	}
	if (kind == I_RFC822 || kind == I_RFC822_TEXT)
		ctx->sets_seen = true;
	return 0;
}

/* "BODY[...]<o.n>", "BODY.PEEK[...]", "BINARY[part]<o.n>", "BINARY.PEEK[part]",
 * "BINARY.SIZE[part]" (RFC 3516 section 4.1: BINARY sections are part
 * numbers only, and BINARY.SIZE takes no partial). */
static int parse_section_item(struct fetch_ctx *ctx, const char *s)
{
	bool binary = strncasecmp(s, "BINARY", 6) == 0;
	bool size = strncasecmp(s, "BINARY.SIZE[", 12) == 0;
	bool peek = strncasecmp(s, "BODY.PEEK[", 10) == 0 || strncasecmp(s, "BINARY.PEEK[", 12) == 0;
	const char *open = strchr(s, '[');
	const char *close = open ? strchr(open, ']') : NULL;
	if (close == NULL ||
	    add_item(ctx, size ? I_BINARY_SIZE : binary ? I_BINARY : I_SECTION) < 0)
		return -1;
	struct item *it = &ctx->items[ctx->nitems - 1];
	char *inner = xstrndup(open + 1, (size_t)(close - open - 1));
	int r = imap_section_parse(inner, &it->sec);
	it->label = xasprintf("%s[%s]", size ? "BINARY.SIZE" : binary ? "BINARY" : "BODY", inner);
	free(inner);
	if (r < 0 || (binary && it->sec.kind != SECTION_ALL))
		return -1;
	it->peek = peek || size;
	if (!it->peek)
		ctx->sets_seen = true;
	const char *p = close + 1;
	if (*p == '\0')
		return 0;
	if (size)
		return -1;
	/* partial "<" number "." nz-number ">" */
	char *end;
	if (*p != '<' || p[1] < '0' || p[1] > '9')
		return -1;
	unsigned long long a = strtoull(p + 1, &end, 10);
	if (*end != '.' || end[1] < '1' || end[1] > '9')
		return -1;
	unsigned long long b = strtoull(end + 1, &end, 10);
	if (strcmp(end, ">") != 0 || a > UINT32_MAX || b > UINT32_MAX)
		return -1;
	it->partial = true;
	it->p_start = a;
	it->p_len = b;
	return 0;
}

static int parse_one(struct fetch_ctx *ctx, const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	const char *s = a->str;
	static const struct {
		const char *name;
		enum item_kind kind;
	} simple[] = {
		{"FLAGS", I_FLAGS}, {"UID", I_UID}, {"INTERNALDATE", I_INTERNALDATE},
		{"RFC822.SIZE", I_SIZE}, {"ENVELOPE", I_ENVELOPE}, {"BODY", I_BODY},
		{"BODYSTRUCTURE", I_BODYSTRUCTURE}, {"RFC822", I_RFC822}, {"MODSEQ", I_MODSEQ},
		{"RFC822.HEADER", I_RFC822_HEADER}, {"RFC822.TEXT", I_RFC822_TEXT},
		{"EMAILID", I_EMAILID}, {"THREADID", I_THREADID}, {"SAVEDATE", I_SAVEDATE},
		{"PREVIEW", I_PREVIEW},
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (strcasecmp(s, simple[i].name) == 0)
			return add_item(ctx, simple[i].kind);
	if (strncasecmp(s, "BODY[", 5) == 0 || strncasecmp(s, "BODY.PEEK[", 10) == 0 ||
	    strncasecmp(s, "BINARY[", 7) == 0 || strncasecmp(s, "BINARY.PEEK[", 12) == 0 ||
	    strncasecmp(s, "BINARY.SIZE[", 12) == 0)
		return parse_section_item(ctx, s);
	return -1;
}

static int parse_items(struct fetch_ctx *ctx, const struct imap_arg *a)
{
	/* macros (RFC 9051 6.4.5) */
	enum item_kind all[] = {I_FLAGS, I_INTERNALDATE, I_SIZE, I_ENVELOPE};
	size_t nmacro = 0;
	if (imap_arg_is_atom(a, "ALL"))
		nmacro = 4;
	else if (imap_arg_is_atom(a, "FAST"))
		nmacro = 3;
	else if (imap_arg_is_atom(a, "FULL"))
		nmacro = 4;
	if (nmacro) {
		for (size_t i = 0; i < nmacro; i++)
			add_item(ctx, all[i]);
		if (imap_arg_is_atom(a, "FULL"))
			add_item(ctx, I_BODY);
		return 0;
	}
	if (a->type != IMAP_ARG_LIST)
		return parse_one(ctx, a);
	if (a->count == 0)
		return -1;
	for (size_t i = 0; i < a->count; i++) {
		if (parse_one(ctx, &a->list[i]) < 0)
			return -1;
		/* "PREVIEW (LAZY)" (RFC 8970 3.1): previews are computed at
		 * store time, so LAZY never has to wait; other modifiers are
		 * unknown */
		if (imap_arg_is_atom(&a->list[i], "PREVIEW") && i + 1 < a->count &&
		    a->list[i + 1].type == IMAP_ARG_LIST) {
			const struct imap_arg *mods = &a->list[++i];
			if (mods->count == 0)
				return -1;
			for (size_t m = 0; m < mods->count; m++)
				if (!imap_arg_is_atom(&mods->list[m], "LAZY"))
					return -1;
		}
	}
	return 0;
}

static void put_literal(struct buf *b, const char *data, size_t len)
{
	imap_section_put_literal(b, data, len); /* never a NUL (RFC 9051 4.3) */
}

static void put_section(struct buf *b, const struct item *it, const char *label, const char *data,
			size_t len, size_t prefix_len, const char *parts)
{
	const char *out;
	size_t outlen;
	char *owned;
	if (imap_section_extract(&it->sec, data, len, prefix_len, parts, &out, &outlen, &owned) < 0) {
		out = "";
		outlen = 0;
		owned = NULL;
	}
	buf_puts(b, label);
	if (it->partial) {
		buf_printf(b, "<%llu>", (unsigned long long)it->p_start);
		if (it->p_start >= outlen) {
			outlen = 0;
		} else {
			out += it->p_start;
			outlen -= (size_t)it->p_start;
			if (outlen > it->p_len)
				outlen = (size_t)it->p_len;
		}
	}
	buf_putc(b, ' ');
	put_literal(b, out, outlen);
	free(owned);
}

/* BINARY[part]<o.n> and BINARY.SIZE[part]. A missing part is an empty
 * string; decoded bytes with a NUL go out as literal8 (RFC 3516 4.3).
 * -1 on an encoding we cannot decode: the command ends NO [UNKNOWN-CTE]. */
static int put_binary(struct buf *b, const struct item *it, const char *data, size_t len,
		      size_t prefix_len, const char *parts)
{
	char *out;
	size_t outlen;
	int r = imap_section_binary(it->sec.part, data, len, prefix_len, parts, &out, &outlen);
	if (r == IMAP_BINARY_UNKNOWN_CTE)
		return -1;
	if (it->kind == I_BINARY_SIZE) {
		buf_printf(b, "%s %zu", it->label, outlen);
		free(out);
		return 0;
	}
	const char *p = out ? out : "";
	buf_puts(b, it->label);
	if (it->partial) {
		buf_printf(b, "<%llu>", (unsigned long long)it->p_start);
		if (it->p_start >= outlen) {
			outlen = 0;
		} else {
			p += it->p_start;
			outlen -= (size_t)it->p_start;
			if (outlen > it->p_len)
				outlen = (size_t)it->p_len;
		}
	}
	bool has_nul = memchr(p, '\0', outlen) != NULL;
	buf_printf(b, " %s{%zu}\r\n", has_nul ? "~" : "", outlen);
	buf_append(b, p, outlen);
	free(out);
	return 0;
}

/* Render one message. Returns false when it vanished (skip it). */
static bool render(struct imap_cmd *cmd, struct fetch_ctx *ctx, uint32_t uid, struct buf *b)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	uint32_t seq = imap_view_seq(v, uid);
	if (seq == 0)
		return false;
	const struct imap_view_msg *vm = &v->msgs[seq - 1];
	const struct store_msg *meta = NULL;
	if (ctx->need_meta) {
		/* rows ascend by UID; the messages may go out in either order */
		size_t lo = 0, hi = ctx->nmeta;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (ctx->meta[mid].uid < uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == ctx->nmeta || ctx->meta[lo].uid != uid)
			return false; /* expunged meanwhile */
		meta = &ctx->meta[lo];
	}
	struct store_msg_index idx;
	memset(&idx, 0, sizeof(idx));
	char *data = NULL;
	size_t len = 0, prefix_len = 0;
	enum store_err err = STORE_OK;
	store_msg_extra_clear(&ctx->extra);
	if (ctx->need_extra &&
	    (err = store_msg_extra_get(s->srv->store, s->account_id, v->mailbox_id, uid, &ctx->extra)) != STORE_OK) {
		if (err != STORE_ENOTFOUND)
			ctx->read_err = err;
		return false;
	}
	if (ctx->need_index &&
	    (err = store_message_index(s->srv->store, s->account_id, v->mailbox_id, uid, &idx)) != STORE_OK) {
		if (err != STORE_ENOTFOUND)
			ctx->read_err = err;
		return false;
	}
	if (ctx->need_content &&
	    (err = store_message_content(s->srv->store, s->account_id, v->mailbox_id, uid, &data, &len,
					 &prefix_len)) != STORE_OK) {
		if (err != STORE_ENOTFOUND) /* not found = expunged meanwhile */
			ctx->read_err = err;
		store_msg_index_clear(&idx);
		return false;
	}
	if (len > FETCH_BUDGET_MIN) {
		if (!membudget_take(len)) {
			ctx->no_budget = true;
			free(data);
			store_msg_index_clear(&idx);
			return false;
		}
		ctx->budget_held += len;
	}
	imap_uidonly_fetch_start(s, b, seq, vm->uid); /* UIDONLY */
	const char *sep = "";
	bool flags_done = false, uid_done = false;
	for (size_t i = 0; i < ctx->nitems; i++) {
		const struct item *it = &ctx->items[i];
		buf_puts(b, sep);
		sep = " ";
		switch (it->kind) {
		case I_FLAGS:
			buf_puts(b, "FLAGS (");
			imap_view_format_flags(s, b, vm);
			buf_putc(b, ')');
			flags_done = true;
			break;
		case I_UID:
			buf_printf(b, "UID %u", uid);
			uid_done = true;
			break;
		case I_INTERNALDATE: {
			char date[64];
			imap_date_time_format(meta->internaldate, date, sizeof(date));
			buf_printf(b, "INTERNALDATE \"%s\"", date);
			break;
		}
		case I_MODSEQ:
			buf_printf(b, "MODSEQ (%llu)", (unsigned long long)vm->modseq);
			break;
		case I_SIZE:
			buf_printf(b, "RFC822.SIZE %lld", (long long)meta->size);
			break;
		case I_EMAILID:
			/* RFC 8474 5.1: the objectid is the counter behind "M" */
			buf_printf(b, "EMAILID (M%lld)", (long long)ctx->extra.emailid);
			break;
		case I_THREADID:
			if (ctx->extra.threadid > 0)
				buf_printf(b, "THREADID (T%lld)", (long long)ctx->extra.threadid);
			else
				buf_puts(b, "THREADID NIL");
			break;
		case I_SAVEDATE: {
			char date[64];
			imap_date_time_format(ctx->extra.savedate, date, sizeof(date));
			buf_printf(b, "SAVEDATE \"%s\"", date);
			break;
		}
		case I_PREVIEW: {
			/* RFC 8970 3.2: no text to show is an empty string */
			const char *p = ctx->extra.preview ? ctx->extra.preview : "";
			buf_puts(b, "PREVIEW ");
			imap_session_buf_string(s, b, p, strlen(p));
			break;
		}
		case I_ENVELOPE:
			buf_printf(b, "ENVELOPE %s", idx.envelope ? idx.envelope
				   : "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
			break;
		case I_BODY:
			buf_printf(b, "BODY %s", idx.body ? idx.body
				   : "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
			break;
		case I_BODYSTRUCTURE:
			buf_printf(b, "BODYSTRUCTURE %s", idx.bodystructure ? idx.bodystructure
				   : "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
			break;
		case I_SECTION:
			put_section(b, it, it->label, data, len, prefix_len, idx.parts);
			break;
		case I_BINARY:
		case I_BINARY_SIZE:
			if (put_binary(b, it, data, len, prefix_len, idx.parts) < 0) {
				ctx->unknown_cte = true;
				free(data);
				store_msg_index_clear(&idx);
				return false;
			}
			break;
		case I_RFC822:
			buf_puts(b, "RFC822 ");
			put_literal(b, data, len);
			break;
		case I_RFC822_HEADER:
		case I_RFC822_TEXT: {
			struct item tmp = {.sec = {.part = (char *)"",
						   .kind = it->kind == I_RFC822_TEXT ? SECTION_TEXT
										     : SECTION_HEADER}};
			put_section(b, &tmp, it->kind == I_RFC822_TEXT ? "RFC822.TEXT" : "RFC822.HEADER",
				    data, len, prefix_len, idx.parts);
			break;
		}
		}
	}
	/* UID FETCH always answers with UID (RFC 9051 6.4.9); a message that
	 * just got \Seen shows its new flags. */
	if (cmd->a.uid && !uid_done)
		buf_printf(b, "%sUID %u", sep, uid), sep = " ";
	if (!flags_done && imap_uids_contain(ctx->seen_now, ctx->nseen_now, uid)) {
		buf_printf(b, "%sFLAGS (", sep);
		imap_view_format_flags(s, b, vm);
		buf_putc(b, ')');
		/* RFC 7162 3.1.4: a flag change carries MODSEQ */
		if (s->condstore && !ctx->want_modseq)
			buf_printf(b, " MODSEQ (%llu)", (unsigned long long)vm->modseq);
	}
	buf_puts(b, ")\r\n");
	free(data);
	store_msg_index_clear(&idx);
	return true;
}

static void emit(struct imap_cmd *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	struct imap_session *s = cmd->s;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	/* Responses go out in FETCH_BATCH_BYTES pieces, not one write per
	 * message: `UID FETCH 1:* (UID FLAGS)` on 100,000 messages spent
	 * more time in the per-write path than in rendering. */
	while (ctx->pos < ctx->nuids) {
		/* The connection's one output rule (lib/conn.h): stop at its
		 * high-water mark, continue in on_drain. */
		if (s->conn != NULL && conn_output_full(s->conn)) {
			cmd->on_drain = emit; /* continue when the client has read */
			if (b.len > 0)
				imap_write(s, b.data, b.len);
			buf_free(&b);
			return;
		}
		/* Below the high-water mark: the big message drawn for
		 * before has (all but CONN_OUTPUT_HIGH of it) gone out. */
		membudget_give(ctx->budget_held);
		ctx->budget_held = 0;
		size_t mark = b.len;
		/* RFC 9738 3.1: a cut set is processed from the highest UID down */
		uint32_t uid = ctx->limit_lowest != 0 ? ctx->uids[ctx->nuids - 1 - ctx->pos]
						      : ctx->uids[ctx->pos];
		if (!render(cmd, ctx, uid, &b))
			b.len = mark; /* drop what a failed message left */
		if (ctx->no_budget) {
			if (b.len > 0)
				imap_write(s, b.data, b.len);
			buf_free(&b);
			cmd->on_drain = NULL;
			log_info("FETCH refused: memory budget spent (%zu of %zu in use)",
				 membudget_used(), membudget_limit());
			imap_cmd_no(cmd, "[UNAVAILABLE] Server memory budget exhausted, try again later");
			return;
		}
		ctx->pos++;
		if (b.len >= FETCH_BATCH_BYTES || ctx->unknown_cte) {
			if (b.len > 0)
				imap_write(s, b.data, b.len);
			buf_reset(&b);
		}
		if (ctx->unknown_cte) {
			buf_free(&b);
			cmd->on_drain = NULL;
			imap_cmd_no(cmd, "[UNKNOWN-CTE] Cannot decode this part's "
					 "Content-Transfer-Encoding");
			return;
		}
	}
	if (b.len > 0)
		imap_write(s, b.data, b.len);
	buf_free(&b);
	/* The last big message holds its budget until it has drained too. */
	if (ctx->budget_held > 0 && s->conn != NULL && conn_output_full(s->conn)) {
		cmd->on_drain = emit;
		return;
	}
	membudget_give(ctx->budget_held);
	ctx->budget_held = 0;
	cmd->on_drain = NULL;
	/* RFC 9051 6.4.5: the messages we could serve were sent; say that
	 * some could not be, with the reason's code. */
	if (ctx->read_err != STORE_OK)
		imap_cmd_no(cmd, "%sSome messages could not be read: %s",
			    imap_store_err_code(ctx->read_err), store_strerror(ctx->read_err));
	else if (ctx->limit_lowest != 0)
		imap_messagelimit_ok(cmd, ctx->limit_lowest, NULL, "FETCH completed");
	else
		imap_cmd_ok(cmd, "FETCH completed");
}

static void start_emit(struct imap_cmd *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	struct imap_session *s = cmd->s;
	enum store_err err;
	if (ctx->need_meta && ctx->nuids > 0 &&
	    (err = store_imap_messages_range(s->srv->store, s->account_id, s->view->mailbox_id, ctx->uids[0],
				      ctx->uids[ctx->nuids - 1], &ctx->meta, &ctx->nmeta)) != STORE_OK) {
		imap_store_no(cmd, err, "Cannot read messages");
		return;
	}
	emit(cmd);
}

static void seen_done(struct imap_cmd *cmd, struct store_op *op)
{
	struct fetch_ctx *ctx = cmd->ctx;
	struct imap_view *v = cmd->s->view;
	if (op->err == STORE_OK && v != NULL) {
		for (size_t i = 0; i < ctx->nseen_now; i++) {
			uint32_t seq = imap_view_seq(v, ctx->seen_now[i]);
			if (seq != 0)
				v->msgs[seq - 1].flags |= STORE_FLAG_SEEN;
		}
		for (size_t i = 0; i < op->u.flags.nchanged; i++) {
			uint32_t seq = imap_view_seq(v, op->u.flags.changed[i]);
			if (seq != 0)
				v->msgs[seq - 1].modseq = op->u.flags.changed_modseq[i];
		}
	} else {
		ctx->nseen_now = 0;
	}
	start_emit(cmd);
}

/* PARTIAL (RFC 9394 3.3): take "PARTIAL range" out of the modifier list
 * `in`, leaving the other modifiers (CONDSTORE's) in *rest_r, whose list
 * borrows from `in`. 1 when PARTIAL was there, 0 when not, -1 for BAD. */
static int take_partial(const struct imap_arg *in, struct imap_return *ret_r,
			struct imap_arg *rest_r)
{
	memset(ret_r, 0, sizeof(*ret_r));
	*rest_r = *in;
	if (in->type != IMAP_ARG_LIST)
		return 0;
	rest_r->list = xmalloc((in->count ? in->count : 1) * sizeof(*rest_r->list));
	rest_r->count = 0;
	for (size_t i = 0; i < in->count; i++) {
		if (!imap_arg_is_atom(&in->list[i], "PARTIAL")) {
			rest_r->list[rest_r->count++] = in->list[i];
			continue;
		}
		if (ret_r->opts != 0 || i + 1 >= in->count ||
		    imap_return_parse_range(&in->list[i + 1], ret_r) < 0)
			return -1;
		ret_r->opts = IMAP_RETURN_PARTIAL;
		i++;
	}
	return ret_r->opts != 0;
}

void cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	if (cmd->a.count < 2 || cmd->a.count > 3 || cmd->a.args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "FETCH needs a sequence set and items");
		return;
	}
	/* PARTIAL (RFC 9394 3.3), then the CONDSTORE/QRESYNC modifiers
	 * (RFC 7162 3.1.4.1, 3.2.6) */
	uint64_t changedsince = 0;
	bool vanished = false;
	const char *error;
	struct imap_return partial = {0};
	struct imap_arg rest;
	int has_partial = cmd->a.count == 3 ? take_partial(&cmd->a.args[2], &partial, &rest) : 0;
	bool condstore_mods = cmd->a.count == 3 && !(has_partial == 1 && rest.count == 0);
	if (has_partial < 0 ||
	    (condstore_mods && imap_condstore_fetch_modifiers(s, &rest, cmd->a.uid, &changedsince,
							      &vanished, &error) < 0)) {
		if (cmd->a.count == 3 && rest.list != cmd->a.args[2].list)
			free(rest.list);
		imap_cmd_bad(cmd, "%s", has_partial < 0 ? "PARTIAL needs a range like 1:100 or -1:-100"
							: error);
		return;
	}
	if (cmd->a.count == 3 && rest.list != cmd->a.args[2].list)
		free(rest.list);
	struct fetch_ctx *ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->cleanup = cleanup;
	if (parse_items(ctx, &cmd->a.args[1]) < 0) {
		imap_cmd_bad(cmd, "Invalid FETCH items");
		return;
	}
	for (size_t i = 0; i < ctx->nitems; i++)
		ctx->want_modseq |= ctx->items[i].kind == I_MODSEQ;
	if (condstore_mods && !ctx->want_modseq && add_item(ctx, I_MODSEQ) == 0)
		ctx->want_modseq = true; /* CHANGEDSINCE implies MODSEQ */
	if (ctx->want_modseq)
		imap_condstore_enable(s);
	if (imap_view_uids(v, cmd->a.args[0].str, cmd->a.uid, &ctx->uids, &ctx->nuids) < 0) {
		imap_cmd_bad(cmd, "Invalid sequence set");
		return;
	}
	if (has_partial == 1) {
		/* the range counts the set's messages, first or last; CHANGEDSINCE
		 * then filters those (RFC 9394 3.3, 3.4) */
		size_t first, k;
		imap_return_partial_slice(&partial, ctx->nuids, &first, &k);
		/* RFC 9738 3.1: a PARTIAL page is the client's own choice of
		 * messages, so one over the limit is refused before any work
		 * rather than cut to other messages than it asked for. The
		 * page's messages count, not the range's width: "PARTIAL
		 * 1:4294967295" over a small mailbox is still served. */
		uint32_t limit = imap_messagelimit(s);
		if (limit != 0 && k > limit) {
			imap_messagelimit_no(cmd, 0, "PARTIAL page too large");
			return;
		}
		memmove(ctx->uids, ctx->uids + first, k * sizeof(*ctx->uids));
		ctx->nuids = k;
	}
	if (condstore_mods) {
		imap_condstore_filter_changed(v, ctx->uids, &ctx->nuids, changedsince);
		struct imap_seqset known;
		/* VANISHED (EARLIER) first (RFC 7162 3.2.6); '*' reaches past
		 * the last UID in the view, which may itself have gone */
		if (vanished && imap_seqset_parse(cmd->a.args[0].str, UINT32_MAX, &known) == 0) {
			if (!known.saved &&
			    imap_condstore_vanished_since(s, &known, changedsince) < 0) {
				imap_seqset_clear(&known);
				imap_cmd_no(cmd, "[UNAVAILABLE] Cannot read the expunge log");
				return;
			}
			imap_seqset_clear(&known);
		}
	}
	/* after PARTIAL and CHANGEDSINCE: the limit counts the messages
	 * this FETCH sends (RFC 9738 3.1) */
	ctx->limit_lowest = imap_messagelimit_cut(s, ctx->uids, &ctx->nuids);
	if (ctx->sets_seen && !v->readonly) {
		for (size_t i = 0; i < ctx->nuids; i++) {
			uint32_t seq = imap_view_seq(v, ctx->uids[i]);
			if (seq != 0 && (v->msgs[seq - 1].flags & STORE_FLAG_SEEN) == 0) {
				if (ctx->seen_now == NULL)
					ctx->seen_now = xmalloc(ctx->nuids * sizeof(uint32_t));
				ctx->seen_now[ctx->nseen_now++] = ctx->uids[i];
			}
		}
		if (ctx->nseen_now > 0) {
			store_op_init(&ctx->op, STORE_OP_FLAGS);
			ctx->op_used = true;
			ctx->op.u.flags.account_id = s->account_id;
			ctx->op.u.flags.mailbox_id = v->mailbox_id;
			ctx->op.u.flags.uids = ctx->seen_now;
			ctx->op.u.flags.nuids = ctx->nseen_now;
			ctx->op.u.flags.mode = STORE_FLAGS_ADD;
			ctx->op.u.flags.flags = STORE_FLAG_SEEN;
			imap_op_submit(cmd, &ctx->op, seen_done);
			return;
		}
	}
	start_emit(cmd);
}
