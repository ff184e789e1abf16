/*
 * imap-select-params: the parameter list of SELECT and EXAMINE (RFC 7162
 * 3.1.8 CONDSTORE, 3.2.5 QRESYNC): "(CONDSTORE)" and
 * "(QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))". Pure
 * parsing, no session: cmd-select.c passes in whether QRESYNC was enabled
 * and whether UIDONLY is on, and the fuzz target drives it directly.
 */
#ifndef ROOST_IMAP_SELECT_PARAMS_H
#define ROOST_IMAP_SELECT_PARAMS_H
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include <stdbool.h>
#include <stdint.h>

struct imap_select_params {
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;		/* 1..2^32-1 when qresync */
	uint64_t modseq;		/* 0..2^63-1; 0 means "everything" */
	struct imap_seqset known;	/* known-uids; 1:4294967295 when absent */
	bool have_match;		/* seq-match-data was given */
	uint64_t match_count;		/* numbers in each of its two sets */
};

/* Parse the list `l` (the argument after the mailbox name) into a zeroed
 * `p`. -1 with a static text for BAD (with "[UIDREQUIRED]" for
 * seq-match-data under UIDONLY). Either way the caller ends with
 * imap_select_params_clear(). */
int imap_select_params_parse(const struct imap_arg *l, bool qresync_enabled, bool uidonly,
			     struct imap_select_params *p, const char **error_r);
void imap_select_params_clear(struct imap_select_params *p);
/* Numbers in a parsed set (sum of its ranges; at most 2^32 - 1). */
uint64_t imap_select_set_count(const struct imap_seqset *set);
#endif
