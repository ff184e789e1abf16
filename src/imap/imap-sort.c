/* imap-sort: see imap-sort.h. */
#include "imap/imap-sort.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-search.h"
#include "imap/imap-session.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/base-subject.h"
#include "store/store-sort.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes of an address field scanned for its first address. */
#define IMAP_SORT_MAX_ADDRESS_SCAN 4096

static const struct {
	const char *name;
	enum imap_sort_key key;
} key_names[] = {
	{"ARRIVAL", IMAP_SORT_ARRIVAL}, {"CC", IMAP_SORT_CC}, {"DATE", IMAP_SORT_DATE},
	{"FROM", IMAP_SORT_FROM}, {"SIZE", IMAP_SORT_SIZE}, {"SUBJECT", IMAP_SORT_SUBJECT},
	{"TO", IMAP_SORT_TO}, {"DISPLAYFROM", IMAP_SORT_DISPLAYFROM},
	{"DISPLAYTO", IMAP_SORT_DISPLAYTO},
};

int imap_sort_parse(const struct imap_arg *list, struct imap_sort_program *p_r,
		    const char **error_r)
{
	p_r->n = 0;
	if (list->type != IMAP_ARG_LIST || list->count == 0) {
		*error_r = "Sort criteria must be a non-empty list";
		return -1;
	}
	bool reverse = false;
	for (size_t i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_is_atom(a, "REVERSE")) {
			if (reverse) {
				*error_r = "REVERSE REVERSE";
				return -1;
			}
			reverse = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof(key_names) / sizeof(key_names[0]) &&
		       !imap_arg_is_atom(a, key_names[k].name))
			k++;
		if (k == sizeof(key_names) / sizeof(key_names[0])) {
			*error_r = "Unknown sort criterion";
			return -1;
		}
		if (p_r->n == IMAP_SORT_MAX_CRITERIA) {
			*error_r = "Too many sort criteria";
			return -1;
		}
		p_r->crit[p_r->n].key = key_names[k].key;
		p_r->crit[p_r->n].reverse = reverse;
		p_r->n++;
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE must precede a sort criterion";
		return -1;
	}
	return 0;
}

unsigned imap_sort_program_needs(const struct imap_sort_program *p)
{
	unsigned need = 0;
	for (size_t i = 0; i < p->n; i++)
		switch (p->crit[i].key) {
		case IMAP_SORT_SUBJECT: need |= IMAP_SORT_NEED_SUBJECT; break;
		case IMAP_SORT_FROM:
		case IMAP_SORT_DISPLAYFROM: need |= IMAP_SORT_NEED_FROM; break;
		case IMAP_SORT_TO:
		case IMAP_SORT_DISPLAYTO: need |= IMAP_SORT_NEED_TO; break;
		case IMAP_SORT_CC: need |= IMAP_SORT_NEED_CC; break;
		case IMAP_SORT_ARRIVAL:
		case IMAP_SORT_DATE:
		case IMAP_SORT_SIZE: break;
		}
	return need;
}

/* --- the first address of a field --- */

static char *trimmed(const struct buf *b)
{
	size_t lo = 0, hi = b->len;
	if (b->data == NULL) /* nothing was ever appended */
		return xstrdup("");
	while (lo < hi && b->data[lo] == ' ')
		lo++;
	while (hi > lo && b->data[hi - 1] == ' ')
		hi--;
	return xstrndup(b->data + lo, hi - lo);
}

static bool is_blank(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] != ' ')
			return false;
	return true;
}

/* The field is already decoded (RFC 2047) and unfolded. A group
 * ("name: a@b, c@d;", RFC 5322 3.4) is its name: the IMAP envelope's
 * first address is then the group marker, whose mailbox field holds the
 * group name and which has no display name (RFC 3501 7.4.2), so SORT
 * (RFC 5256) and SORT=DISPLAY (RFC 5957) both sort by that name, empty
 * groups ("undisclosed-recipients:;") too. Comments are dropped; quotes
 * are removed from display names and local parts. */
void imap_sort_first_address(const char *field, char **mailbox_r, char **display_r)
{
	struct buf plain, angle;
	buf_init(&plain, IMAP_SORT_MAX_ADDRESS_SCAN + 1);
	buf_init(&angle, IMAP_SORT_MAX_ADDRESS_SCAN + 1);
	bool in_quote = false, in_angle = false, seen_angle = false;
	int comment = 0;
	size_t len = field ? strnlen(field, IMAP_SORT_MAX_ADDRESS_SCAN) : 0;
	for (size_t i = 0; i < len; i++) {
		char c = field[i];
		struct buf *dst = in_angle ? &angle : &plain;
		if (c == '\t')
			c = ' ';
		if (in_quote) {
			if (c == '\\' && i + 1 < len)
				c = field[++i];
			else if (c == '"') {
				in_quote = false;
				continue;
			}
			buf_putc(dst, c);
		} else if (comment > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
		} else if (c == '"') {
			in_quote = true;
		} else if (c == '(') {
			comment = 1;
		} else if (c == '<' && !in_angle) {
			in_angle = seen_angle = true;
			buf_reset(&angle);
		} else if (c == '>' && in_angle) {
			in_angle = false;
		} else if (c == ':' && !in_angle && !seen_angle) {
			/* a group: its name is the first address */
			char *group = trimmed(&plain);
			*mailbox_r = group;
			*display_r = xstrdup(group);
			buf_free(&plain);
			buf_free(&angle);
			return;
		} else if ((c == ',' || c == ';') && !in_angle) {
			if (!is_blank(seen_angle ? &angle : &plain))
				break;
			buf_reset(&plain);
			seen_angle = false;
		} else {
			buf_putc(dst, c);
		}
	}
	char *spec = seen_angle ? trimmed(&angle) : trimmed(&plain);
	char *display = seen_angle ? trimmed(&plain) : xstrdup("");
	/* an obsolete route "@a,@b:local@host" keeps only the address */
	char *colon = strrchr(spec, ':');
	if (colon != NULL)
		memmove(spec, colon + 1, strlen(colon + 1) + 1);
	char *at = strrchr(spec, '@');
	*mailbox_r = at ? xstrndup(spec, (size_t)(at - spec)) : xstrdup(spec);
	if (display[0] == '\0') {
		free(display);
		*display_r = spec;
	} else {
		free(spec);
		*display_r = display;
	}
	buf_free(&plain);
	buf_free(&angle);
}

/* --- loading --- */

struct load {
	struct imap_sort_msg *msgs;
	size_t n, next;
	unsigned need;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int on_row(void *ctx, const struct store_sort_row *row)
{
	struct load *l = ctx;
	while (l->next < l->n && l->msgs[l->next].uid < row->uid)
		l->next++;
	if (l->next == l->n)
		return -1;
	struct imap_sort_msg *m = &l->msgs[l->next];
	if (m->uid != row->uid)
		return 0;
	l->next++;
	m->arrival = row->internaldate;
	m->size = row->size;
	m->date = row->date != 0 ? row->date : row->internaldate;
	if (l->need & IMAP_SORT_NEED_SUBJECT)
		m->subject = base_subject_extract(row->subject, &m->reply);
	if (l->need & IMAP_SORT_NEED_FROM)
		imap_sort_first_address(row->from, &m->from, &m->dfrom);
	if (l->need & IMAP_SORT_NEED_TO)
		imap_sort_first_address(row->to, &m->to, &m->dto);
	if (l->need & IMAP_SORT_NEED_CC) {
		char *display;
		imap_sort_first_address(row->cc, &m->cc, &display);
		free(display);
	}
	if (l->need & IMAP_SORT_NEED_IDS) {
		m->message_id = dup_or_null(row->message_id);
		m->in_reply_to = dup_or_null(row->in_reply_to);
		m->references = dup_or_null(row->references);
	}
	return 0;
}

int imap_sort_load_uids(struct store *st, int64_t account_id, int64_t mailbox_id,
			const uint32_t *uids, size_t n,
			unsigned need, struct imap_sort_msg **msgs_r)
{
	struct imap_sort_msg *msgs = xcalloc(n ? n : 1, sizeof(*msgs));
	for (size_t i = 0; i < n; i++) {
		/* ascending UIDs: the position keeps sequence order */
		msgs[i].idx = (uint32_t)i;
		msgs[i].uid = uids[i];
	}
	struct load l = {.msgs = msgs, .n = n, .need = need};
	/* messages expunged in the store but not yet announced have no row:
	 * they keep empty keys and still appear (the client sees them) */
	if (n > 0 && store_sort_rows(st, account_id, mailbox_id, msgs[0].uid, msgs[n - 1].uid,
				     need != 0, on_row, &l) != STORE_OK) {
		imap_sort_msgs_free(&msgs, n);
		return -1;
	}
	*msgs_r = msgs;
	return 0;
}

void imap_sort_msgs_free(struct imap_sort_msg **msgs, size_t n)
{
	if (*msgs == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct imap_sort_msg *m = &(*msgs)[i];
		free(m->subject);
		free(m->from);
		free(m->to);
		free(m->cc);
		free(m->dfrom);
		free(m->dto);
		free(m->message_id);
		free(m->in_reply_to);
		free(m->references);
	}
	free(*msgs);
	*msgs = NULL;
}

/* --- ordering --- */

static int cmp_num(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_key(enum imap_sort_key key, const struct imap_sort_msg *a,
		   const struct imap_sort_msg *b)
{
	switch (key) {
	case IMAP_SORT_ARRIVAL: return cmp_num(a->arrival, b->arrival);
	case IMAP_SORT_DATE: return cmp_num(a->date, b->date);
	case IMAP_SORT_SIZE: return cmp_num(a->size, b->size);
	case IMAP_SORT_SUBJECT: return base_subject_cmp(a->subject, b->subject);
	case IMAP_SORT_FROM: return base_subject_cmp(a->from, b->from);
	case IMAP_SORT_TO: return base_subject_cmp(a->to, b->to);
	case IMAP_SORT_CC: return base_subject_cmp(a->cc, b->cc);
	case IMAP_SORT_DISPLAYFROM: return base_subject_cmp(a->dfrom, b->dfrom);
	case IMAP_SORT_DISPLAYTO: return base_subject_cmp(a->dto, b->dto);
	}
	return 0;
}

static int cmp_msgs(const void *x, const void *y, void *ctx)
{
	const struct imap_sort_program *p = ctx;
	const struct imap_sort_msg *a = x, *b = y;
	for (size_t i = 0; i < p->n; i++) {
		int c = cmp_key(p->crit[i].key, a, b);
		if (c != 0)
			return p->crit[i].reverse ? -c : c;
	}
	return cmp_num(a->idx, b->idx);
}

int imap_sort_cmp(const struct imap_sort_program *p, const struct imap_sort_msg *a,
		  const struct imap_sort_msg *b)
{
	for (size_t i = 0; i < p->n; i++) {
		int c = cmp_key(p->crit[i].key, a, b);
		if (c != 0)
			return p->crit[i].reverse ? -c : c;
	}
	/* UID order is sequence order */
	return cmp_num(a->uid, b->uid);
}

void imap_sort_order(const struct imap_sort_program *p, struct imap_sort_msg *msgs, size_t n)
{
	qsort_r(msgs, n, sizeof(*msgs), cmp_msgs, (void *)p);
}

/* --- the search program --- */

static void fail_save(struct imap_cmd *cmd, bool save)
{
	if (save)
		imap_view_save_result(cmd->s->view, NULL, 0);
}

int imap_sort_search_parse(struct imap_cmd *cmd, const struct imap_arg *args, size_t n, bool save,
			   struct imap_search **search_r)
{
	if (n < 2) {
		fail_save(cmd, save);
		imap_cmd_bad(cmd, "Missing charset or search criteria");
		return -1;
	}
	if (!imap_arg_is_astring(&args[0])) {
		fail_save(cmd, save);
		imap_cmd_bad(cmd, "Charset must be an astring");
		return -1;
	}
	if (strcasecmp(args[0].str, "UTF-8") != 0 && strcasecmp(args[0].str, "US-ASCII") != 0) {
		fail_save(cmd, save);
		imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
		return -1;
	}
	const char *error;
	if (imap_search_parse(cmd->s, args + 1, n - 1, search_r, &error) < 0) {
		fail_save(cmd, save);
		imap_cmd_bad(cmd, "%s", error);
		return -1;
	}
	if (cmd->s->uidonly && imap_search_uses_seqnums(*search_r)) {
		/* UIDONLY: RFC 9586 3, no sequence numbers in search keys */
		imap_search_free(search_r);
		fail_save(cmd, save);
		imap_cmd_bad(cmd, "[UIDREQUIRED] Message sequence numbers are off (UIDONLY)");
		return -1;
	}
	/* MESSAGELIMIT (RFC 9738 3.3): a sort or a thread spans its whole
	 * set, so it cannot stop at the highest UIDs: more than the limit is
	 * refused whole, and UIDAFTER or UIDBEFORE narrow it */
	if (imap_search_limit(*search_r, cmd->s->view, imap_messagelimit(cmd->s)) != 0) {
		imap_search_free(search_r);
		fail_save(cmd, save);
		imap_messagelimit_no(cmd, 0, "Too many messages to sort or thread");
		return -1;
	}
	return 0;
}

int imap_sort_search_run(const struct imap_search_snap *snap, const struct imap_search *search,
			 unsigned need, struct imap_sort_msg **msgs_r, size_t *n_r)
{
	uint32_t *uids;
	size_t n;
	if (imap_search_run_snap(snap, search, &uids, &n) < 0)
		return -1;
	int rc = imap_sort_load_uids(imap_search_snap_store(snap), imap_search_snap_account(snap),
				     imap_search_snap_mailbox(snap), uids, n, need, msgs_r);
	free(uids);
	*n_r = rc == 0 ? n : 0;
	return rc;
}
