/* imap-append: see imap-append.h. */
#include "imap/imap-append.h"
#include "imap/imap-date.h"
#include "imap/imap-flags.h"
#include "imap/imap-fetch-section.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/membudget.h"
#include "mail/imap-url.h"
#include "mail/mailbox-name.h"
#include "store/store-imap.h"
#include "store/store-urlauth.h"
#include <time.h>
#include <strings.h>
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

/* NO [BADURL url] text (RFC 4469 5): the URL is echoed when it fits the
 * response code's text (no ']', no controls). */
static void bad_url(struct imap_append_msg *m, const struct imap_arg *url, const char *text,
		    const char **error_r)
{
	bool echo = url->len <= IMAP_URL_MAX;
	for (size_t i = 0; echo && i < url->len; i++)
		echo = url->str[i] > 0x20 && url->str[i] < 0x7f && url->str[i] != ']';
	free(m->error);
	m->error = echo ? xasprintf("[BADURL %s] %s", url->str, text)
			: xasprintf("[BADURL] %s", text);
	*error_r = m->error;
}

/* The bytes an IMAP URL names among the session's own messages (RFC 4469
 * 5, RFC 5092): its mailbox, UIDVALIDITY, UID, section and partial range.
 * A URL naming another user, or any mailbox the session's account does
 * not have, is a bad URL: another account's mail is never reached. */
static int url_part(struct imap_session *s, const struct imap_arg *arg, struct buf *out,
		    struct imap_append_msg *m, const char **status_r, const char **error_r)
{
	struct imap_url u;
	const char *why;
	*status_r = "NO";
	if (imap_url_parse(arg->str, arg->len, &u, &why) < 0) {
		bad_url(m, arg, why, error_r);
		return -1;
	}
	int ret = -1;
	char *data = NULL, *parts = NULL, *owned = NULL;
	struct imap_section sec = {0};
	size_t len = 0, prefix_len = 0;
	enum store_err err;
	if (u.access != NULL) {
		/* an URLAUTH URL (RFC 4469 5): only one signed for this account */
		struct store_account a;
		err = store_account_get_by_id(s->srv->store, s->account_id, &a);
		struct store_urlauth_message um;
		if (err == STORE_OK) {
			err = store_urlauth_resolve(s->srv->store, arg->str, arg->len, a.address,
						    (int64_t)time(NULL), &um);
			store_account_clear(&a);
			if (err == STORE_OK) {
				data = um.data;
				parts = um.parts;
				len = um.len;
				prefix_len = um.prefix_len;
				um.data = um.parts = NULL;
			}
			store_urlauth_message_clear(&um);
		}
		if (err == STORE_ETEMP || err == STORE_ECORRUPT) {
			*error_r = "[UNAVAILABLE] Cannot read the message";
			goto out;
		}
		if (err != STORE_OK) {
			bad_url(m, arg, "URLAUTH URL not valid for you", error_r);
			goto out;
		}
		goto extract;
	}
	if (u.user != NULL) {
		struct store_account a;
		err = store_account_get_by_id(s->srv->store, s->account_id, &a);
		if (err != STORE_OK) {
			*error_r = "[UNAVAILABLE] Cannot read the account";
			goto out;
		}
		bool mine = strcasecmp(u.user, a.address) == 0 ||
			    (s->user != NULL && strcasecmp(u.user, s->user) == 0);
		store_account_clear(&a);
		if (!mine) {
			bad_url(m, arg, "URL of another user", error_r);
			goto out;
		}
	}
	char *name = mailbox_name_normalize(u.mailbox);
	struct store_mailbox mb;
	err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	free(name);
	if (err == STORE_OK && u.uidvalidity != 0 && u.uidvalidity != mb.uidvalidity)
		err = STORE_ENOTFOUND;
	if (err == STORE_OK) {
		err = store_imap_message_text(s->srv->store, s->account_id, mb.id, u.uid, &data, &len,
					      &prefix_len, &parts);
		store_mailbox_clear(&mb);
	}
	if (err == STORE_ENOTFOUND) {
		bad_url(m, arg, "No such message", error_r);
		goto out;
	}
	if (err != STORE_OK) {
		*error_r = err == STORE_ECORRUPT ? "[SERVERBUG] Cannot read the message"
						 : "[UNAVAILABLE] Cannot read the message";
		goto out;
	}
extract:;
	const char *p = data;
	size_t n = len;
	if (u.section != NULL) {
		if (imap_section_parse(u.section, &sec) < 0 ||
		    imap_section_extract(&sec, data, len, prefix_len, parts, &p, &n, &owned) < 0) {
			bad_url(m, arg, "No such section", error_r);
			goto out;
		}
	}
	if (u.partial) {
		size_t start = u.partial_start < n ? u.partial_start : n;
		size_t plen = n - start;
		if (u.partial_len != 0 && u.partial_len < plen)
			plen = u.partial_len;
		p += start;
		n = plen;
	}
	if (s->srv->max_message >= 0 && out->len + n > (uint64_t)s->srv->max_message) {
		*error_r = "[TOOBIG] Message too large";
		goto out;
	}
	if (!membudget_take(n)) {
		*error_r = "[LIMIT] Server memory budget exhausted, try again later";
		goto out;
	}
	m->budget += n;
	buf_append(out, p, n);
	ret = 0;
out:
	imap_section_clear(&sec);
	free(owned);
	free(data);
	free(parts);
	imap_url_clear(&u);
	return ret;
}

/* "CATENATE" SP "(" cat-part *(SP cat-part) ")" with cat-part = "TEXT" SP
 * literal / "URL" SP astring (RFC 4469 5): the parts joined, in m->data. */
static int catenate(struct imap_session *s, const struct imap_arg *list,
		    struct imap_append_msg *m, const char **status_r, const char **error_r)
{
	*status_r = "BAD";
	if (list->type != IMAP_ARG_LIST || list->count == 0 || list->count % 2 != 0) {
		*error_r = "CATENATE needs a list of TEXT and URL parts";
		return -1;
	}
	if (list->count / 2 > IMAP_CATENATE_MAX_PARTS) {
		*status_r = "NO";
		*error_r = "[LIMIT] Too many CATENATE parts";
		return -1;
	}
	/* syntax of every part first: a BAD beats a NO [BADURL] */
	for (size_t i = 0; i < list->count; i += 2) {
		const struct imap_arg *v = &list->list[i + 1];
		bool text = imap_arg_is_atom(&list->list[i], "TEXT") && v->type == IMAP_ARG_LITERAL;
		bool url = imap_arg_is_atom(&list->list[i], "URL") && imap_arg_is_astring(v);
		if (!text && !url) {
			*error_r = "A CATENATE part is TEXT literal or URL url";
			return -1;
		}
	}
	struct buf out;
	buf_init(&out, SIZE_MAX);
	for (size_t i = 0; i < list->count; i += 2) {
		const struct imap_arg *v = &list->list[i + 1];
		if (v->type == IMAP_ARG_LITERAL && imap_arg_is_atom(&list->list[i], "TEXT")) {
			/* the literal's budget is held by the command already */
			if (s->srv->max_message >= 0 &&
			    out.len + v->len > (uint64_t)s->srv->max_message) {
				*status_r = "NO";
				*error_r = "[TOOBIG] Message too large";
				buf_free(&out);
				return -1;
			}
			if (!membudget_take(v->len)) {
				*status_r = "NO";
				*error_r = "[LIMIT] Server memory budget exhausted, try again later";
				buf_free(&out);
				return -1;
			}
			m->budget += v->len;
			buf_append(&out, v->str, v->len);
		} else if (url_part(s, v, &out, m, status_r, error_r) < 0) {
			buf_free(&out);
			return -1;
		}
	}
	m->data = out.data != NULL ? out.data : xstrdup("");
	return (int)out.len;
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
	const char *data;
	size_t len;
	if (*i + 1 < count && imap_arg_is_atom(&args[*i], "CATENATE")) {
		int n = catenate(s, &args[*i + 1], m, status_r, error_r);
		if (n < 0)
			return -1;
		*i += 2;
		data = m->data;
		len = (size_t)n;
	} else {
		const struct imap_arg *msg = *i < count ? message_arg(s, args, count, i) : NULL;
		if (msg == NULL) {
			*error_r = "The message must be a literal";
			return -1;
		}
		data = msg->str;
		len = msg->len;
	}
	if (s->srv->max_message >= 0 && len > (uint64_t)s->srv->max_message) {
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
	if (!s->utf8_accept && !s->rev2 && header_has_8bit(data, len)) {
		*status_r = "NO";
		*error_r = "Message header has 8-bit characters: ENABLE UTF8=ACCEPT first";
		return -1;
	}
	m->target.account_id = s->account_id;
	m->target.mailbox_id = mailbox_id;
	m->target.flags = flags;
	m->target.keywords = m->keywords;
	store_op_init(&m->op, STORE_OP_DELIVER);
	m->op.u.deliver.data = data;
	m->op.u.deliver.len = len;
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
	xfree(&m->data);
	xfree(&m->error);
	membudget_give(m->budget);
	m->budget = 0;
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
