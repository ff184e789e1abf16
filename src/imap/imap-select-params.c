/*
 * imap-select-params: SELECT/EXAMINE parameters (RFC 7162 3.1.8, 3.2.5);
 * see imap-select-params.h. Every set is parsed by imap_seqset_parse()
 * (at most IMAP_MAX_SEQSET_RANGES items, sorted and merged), so a long
 * known-uids or seq-match-data costs n log n, never n * n.
 */
#include "imap/imap-select-params.h"
#include "imap/imap-condstore.h"
#include <stdlib.h>
#include <string.h>

uint64_t imap_select_set_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	for (size_t i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

/* "(seqs uids)" (RFC 7162 3.2.5.2): two sets with as many numbers each,
 * the Nth sequence number matching the Nth UID. */
static int parse_match(const struct imap_arg *m, struct imap_select_params *p)
{
	struct imap_seqset a, b;
	if (m->type != IMAP_ARG_LIST || m->count != 2 || m->list[0].type != IMAP_ARG_ATOM ||
	    m->list[1].type != IMAP_ARG_ATOM)
		return -1;
	if (imap_seqset_parse(m->list[0].str, UINT32_MAX, &a) < 0)
		return -1;
	if (imap_seqset_parse(m->list[1].str, UINT32_MAX, &b) < 0) {
		imap_seqset_clear(&a);
		return -1;
	}
	uint64_t na = imap_select_set_count(&a), nb = imap_select_set_count(&b);
	bool saved = a.saved || b.saved;
	imap_seqset_clear(&a);
	imap_seqset_clear(&b);
	if (saved || na != nb)
		return -1;
	p->have_match = true;
	p->match_count = na;
	return 0;
}

/* "(uidvalidity modseq [known-uids [seq-match-data]])" */
static int parse_qresync(const struct imap_arg *l, struct imap_select_params *p,
			 const char **error_r)
{
	uint64_t n;
	*error_r = "QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]])";
	if (l->type != IMAP_ARG_LIST || l->count < 2 || l->count > 4 ||
	    l->list[0].type != IMAP_ARG_ATOM ||
	    imap_parse_number(l->list[0].str, UINT32_MAX, &n) < 0 || n == 0)
		return -1;
	p->uidvalidity = (uint32_t)n;
	/* a modseq of 0 is taken as "everything", like CHANGEDSINCE 0 */
	if (imap_modseq_parse(&l->list[1], true, &p->modseq) < 0) {
		*error_r = "QRESYNC needs a mod-sequence value below 2^63";
		return -1;
	}
	imap_seqset_clear(&p->known);
	if (l->count >= 3) {
		const struct imap_arg *k = &l->list[2];
		/* '*' has no meaning in known-uids; taken as the largest UID */
		if (k->type != IMAP_ARG_ATOM || imap_seqset_parse(k->str, UINT32_MAX, &p->known) < 0 ||
		    p->known.saved) {
			*error_r = "Invalid known-uids";
			return -1;
		}
	} else {
		imap_seqset_add(&p->known, 1, UINT32_MAX);
	}
	if (l->count == 4 && parse_match(&l->list[3], p) < 0) {
		*error_r = "Invalid seq-match-data";
		return -1;
	}
	p->qresync = true;
	return 0;
}

int imap_select_params_parse(const struct imap_arg *l, bool qresync_enabled, bool uidonly,
			     struct imap_select_params *p, const char **error_r)
{
	if (l->type != IMAP_ARG_LIST) {
		*error_r = "SELECT parameters must be a list";
		return -1;
	}
	for (size_t i = 0; i < l->count; i++) {
		if (imap_arg_is_atom(&l->list[i], "CONDSTORE")) {
			p->condstore = true;
		} else if (imap_arg_is_atom(&l->list[i], "QRESYNC") && i + 1 < l->count &&
			   !p->qresync) {
			/* RFC 7162 3.2.5: BAD unless QRESYNC was enabled */
			if (!qresync_enabled) {
				*error_r = "QRESYNC must be enabled first (ENABLE QRESYNC)";
				return -1;
			}
			if (parse_qresync(&l->list[++i], p, error_r) < 0)
				return -1;
			/* UIDONLY: seq-match-data holds sequence numbers (RFC 9586 3) */
			if (uidonly && l->list[i].count == 4) {
				*error_r = "[UIDREQUIRED] No seq-match-data with UIDONLY";
				return -1;
			}
		} else {
			*error_r = "Unknown SELECT parameter";
			return -1;
		}
	}
	return 0;
}

void imap_select_params_clear(struct imap_select_params *p)
{
	imap_seqset_clear(&p->known);
}
