/* imap-condstore: see imap-condstore.h. */
#include "imap/imap-condstore.h"
#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store-imap.h"
#include <stdlib.h>

int imap_modseq_parse(const struct imap_arg *a, bool allow_zero, uint64_t *modseq_r)
{
	uint64_t n;
	if (a->type != IMAP_ARG_ATOM || imap_parse_number(a->str, IMAP_MODSEQ_MAX, &n) < 0)
		return -1;
	if (n == 0 && !allow_zero)
		return -1;
	*modseq_r = n;
	return 0;
}

uint64_t imap_condstore_reported_modseq(const struct imap_view *v)
{
	if (v->npending > 0 && v->pending_floor < v->modseq)
		return v->pending_floor;
	return v->modseq;
}

void imap_condstore_enable(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->view != NULL)
		imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			    (unsigned long long)imap_condstore_reported_modseq(s->view));
}

void imap_condstore_vanished(struct imap_session *s, const uint32_t *uids, size_t n, bool earlier)
{
	for (size_t i = 0; i < n; i += IMAP_VANISHED_PER_LINE) {
		size_t k = n - i < IMAP_VANISHED_PER_LINE ? n - i : IMAP_VANISHED_PER_LINE;
		char *set = imap_seqset_format_list(uids + i, k);
		imap_printf(s, "* VANISHED %s%s\r\n", earlier ? "(EARLIER) " : "", set);
		free(set);
	}
}

int imap_condstore_vanished_since(struct imap_session *s, const struct imap_seqset *known,
				  uint64_t modseq)
{
	struct imap_view *v = s->view;
	if (known->count == 0)
		return 0;
	/* one query over the whole span, then the set's gaps filtered here:
	 * a client's set may hold many thousands of ranges */
	uint32_t *uids;
	size_t n;
	if (store_imap_vanished(s->srv->store, s->account_id, v->mailbox_id, modseq, known->ranges[0].lo,
				known->ranges[known->count - 1].hi, &uids, &n) != STORE_OK)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (imap_seqset_contains(known, uids[i]))
			uids[k++] = uids[i];
	imap_condstore_vanished(s, uids, k, true);
	free(uids);
	return 0;
}

void imap_condstore_filter_changed(const struct imap_view *v, uint32_t *uids, size_t *n,
				   uint64_t modseq)
{
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		uint32_t seq = imap_view_seq(v, uids[i]);
		if (seq != 0 && v->msgs[seq - 1].modseq > modseq)
			uids[k++] = uids[i];
	}
	*n = k;
}

int imap_condstore_fetch_modifiers(struct imap_session *s, const struct imap_arg *list,
				   bool uid_cmd, uint64_t *changedsince_r, bool *vanished_r,
				   const char **error_r)
{
	bool have_since = false;
	*vanished_r = false;
	*changedsince_r = 0;
	if (list->type != IMAP_ARG_LIST || list->count == 0) {
		*error_r = "FETCH modifiers must be a list";
		return -1;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_is_atom(a, "CHANGEDSINCE") && !have_since && i + 1 < list->count) {
			/* mod-sequence-value; 0 is taken as "every message", which
			 * is what clients that send it mean */
			if (imap_modseq_parse(&list->list[++i], true, changedsince_r) < 0) {
				*error_r = "CHANGEDSINCE needs a mod-sequence value below 2^63";
				return -1;
			}
			have_since = true;
		} else if (imap_arg_is_atom(a, "VANISHED") && !*vanished_r) {
			*vanished_r = true;
		} else {
			*error_r = "Unknown FETCH modifier";
			return -1;
		}
	}
	if (!have_since) {
		*error_r = "FETCH modifiers need CHANGEDSINCE";
		return -1;
	}
	/* RFC 7162 3.2.6: VANISHED only in UID FETCH, only with QRESYNC on */
	if (*vanished_r && (!uid_cmd || !s->qresync)) {
		*error_r = uid_cmd ? "VANISHED needs ENABLE QRESYNC" : "VANISHED needs UID FETCH";
		return -1;
	}
	imap_condstore_enable(s);
	return 0;
}
