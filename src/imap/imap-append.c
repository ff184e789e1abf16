/* imap-append: see imap-append.h. */
#include "imap/imap-append.h"
#include "imap/imap-date.h"
#include "imap/imap-flags.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>

int imap_append_mailbox(struct imap_session *s, const struct imap_arg *arg, int64_t *id_r,
			const char **error_r)
{
	char *name;
	if (imap_mailbox_from_wire(s, arg, &name, error_r) < 0)
		return -1;
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	free(name);
	if (err != STORE_OK) {
		/* RFC 9051 6.3.12: a missing mailbox is TRYCREATE */
		*error_r = err == STORE_ENOTFOUND ? "[TRYCREATE] No such mailbox"
			   : err == STORE_ECORRUPT ? "[SERVERBUG] Cannot read the mailbox"
						   : "[UNAVAILABLE] Cannot read the mailbox";
		return -1;
	}
	*id_r = mb.id;
	store_mailbox_clear(&mb);
	return 0;
}

/* The message data: a literal (literal8 too: RFC 3516 BINARY), or after
 * ENABLE UTF8=ACCEPT "UTF8 (~{n}...)" (RFC 6855 4). NULL when invalid. */
static const struct imap_arg *message_arg(struct imap_session *s, const struct imap_arg *args,
					  size_t count, size_t *i)
{
	const struct imap_arg *a = &args[*i];
	if (a->type == IMAP_ARG_LITERAL) {
		(*i)++;
		return a;
	}
	if (s->utf8_accept && imap_arg_is_atom(a, "UTF8") && *i + 1 < count) {
		const struct imap_arg *l = &args[*i + 1];
		if (l->type == IMAP_ARG_LIST && l->count == 1 && l->list[0].type == IMAP_ARG_LITERAL &&
		    l->list[0].literal8) {
			*i += 2;
			return &l->list[0];
		}
	}
	return NULL;
}

/* Does the message's top-level header block (up to the first empty line)
 * hold a byte with the high bit set? */
static bool header_has_8bit(const char *p, size_t n)
{
	if ((n >= 1 && p[0] == '\n') || (n >= 2 && p[0] == '\r' && p[1] == '\n'))
		return false; /* no header fields at all */
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)p[i] >= 0x80)
			return true;
		if (p[i] != '\n')
			continue;
		/* the line after this one is empty: the header ends here */
		if (i + 1 < n && p[i + 1] == '\n')
			return false;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return false;
	}
	return false;
}

int imap_append_parse(struct imap_session *s, const struct imap_arg *args, size_t count,
		      size_t *i, int64_t mailbox_id, struct imap_append_msg *m,
		      const char **status_r, const char **error_r)
{
	uint32_t flags = 0;
	int64_t date = 0;
	memset(m, 0, sizeof(*m));
	*status_r = "BAD";
	if (*i < count && args[*i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(&args[*i], &flags, &m->keywords, error_r) < 0) {
			if (strncmp(*error_r, "[LIMIT]", 7) == 0)
				*status_r = "NO";
			return -1;
		}
		(*i)++;
	}
	if (*i < count && args[*i].type == IMAP_ARG_QUOTED) {
		if (imap_date_time_parse(args[*i].str, &date) < 0) {
			*error_r = "Bad date-time";
			return -1;
		}
		(*i)++;
	}
	const struct imap_arg *msg = *i < count ? message_arg(s, args, count, i) : NULL;
	if (msg == NULL) {
		*error_r = "The message must be a literal";
		return -1;
	}
	if (s->srv->max_message >= 0 && msg->len > (uint64_t)s->srv->max_message) {
		*status_r = "NO";
		*error_r = "[TOOBIG] Message too large";
		return -1;
	}
	/* RFC 6855 4: a server offering UTF8=ACCEPT MUST answer NO to an
	 * APPEND with 8-bit header fields from a client that has not enabled
	 * it (such a client could not read them back). IMAP4rev2 includes
	 * UTF-8 headers (RFC 9051 appendix E), so ENABLE IMAP4rev2 counts.
	 * Once enabled, either form is taken: RFC 6855 asks the client for
	 * "UTF8 (literal8)", and RFC 9755, which replaces it, drops that form. */
	if (!s->utf8_accept && !s->rev2 && header_has_8bit(msg->str, msg->len)) {
		*status_r = "NO";
		*error_r = "Message header has 8-bit characters: ENABLE UTF8=ACCEPT first";
		return -1;
	}
	m->target.account_id = s->account_id;
	m->target.mailbox_id = mailbox_id;
	m->target.flags = flags;
	m->target.keywords = m->keywords;
	store_op_init(&m->op, STORE_OP_DELIVER);
	m->op.u.deliver.data = msg->str;
	m->op.u.deliver.len = msg->len;
	m->op.u.deliver.internaldate = date;
	m->op.u.deliver.targets = &m->target;
	m->op.u.deliver.ntargets = 1;
	m->op.u.deliver.per_target = false;
	return 0;
}

void imap_append_msg_clear(struct imap_append_msg *m)
{
	store_op_clear(&m->op);
	xfree(&m->keywords);
}

void imap_append_uid_set(struct buf *b, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			buf_putc(b, ',');
		if (j > i)
			buf_printf(b, "%u:%u", uids[i], uids[j]);
		else
			buf_printf(b, "%u", uids[i]);
		i = j + 1;
	}
}
