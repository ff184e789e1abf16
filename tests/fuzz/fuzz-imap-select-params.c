/*
 * fuzz-imap-select-params: the SELECT/EXAMINE parameter list (RFC 7162
 * 3.1.8 CONDSTORE, 3.2.5 QRESYNC) through imap_select_params_parse()
 * (imap/imap-select-params.h). The first byte picks whether QRESYNC was
 * enabled and whether UIDONLY is on; the rest is parsed as IMAP arguments
 * (imap_parse_args(), literals inline) and every list, nested ones too,
 * goes to the parser as SELECT's second argument would.
 *
 * Invariants: a refusal has a text; an accepted list holds only CONDSTORE
 * and QRESYNC items, CONDSTORE set exactly when named; QRESYNC only when
 * enabled, then uidvalidity = the first atom's value (1..2^32-1), modseq
 * <= 2^63-1, known-uids a non-empty sorted, merged set of 1..2^32-1 not
 * "$", holding every number its atom names (all UIDs when absent);
 * seq-match-data only without UIDONLY, its two sets of equal size.
 */
#include "fuzz.h"
#include "imap/imap-condstore.h"
#include "imap/imap-parser.h"
#include "imap/imap-select-params.h"

/* The decimal value of an all-digit atom, or UINT64_MAX. */
static uint64_t atom_value(const char *s)
{
	uint64_t v = 0;
	if (*s == '\0')
		return UINT64_MAX;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return v;
}

/* Every number written in a known-uids atom (the first 200) is in it. */
static void check_named(const char *s, const struct imap_seqset *set)
{
	int seen = 0;
	while (*s != '\0' && seen < 200) {
		if (*s < '0' || *s > '9') {
			s++;
			continue;
		}
		uint64_t v = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (uint64_t)(*s - '0');
			s++;
		}
		FUZZ_CHECK(v >= 1 && v <= UINT32_MAX);
		FUZZ_CHECK(imap_seqset_contains(set, (uint32_t)v));
		seen++;
	}
}

static void check_list(const struct imap_arg *l, bool qresync, bool uidonly)
{
	struct imap_select_params p;
	memset(&p, 0, sizeof(p));
	const char *error = NULL;
	int r = imap_select_params_parse(l, qresync, uidonly, &p, &error);
	if (r != 0) {
		FUZZ_CHECK(r == -1);
		FUZZ_CHECK(error != NULL && error[0] != '\0');
		imap_select_params_clear(&p);
		return;
	}
	bool named_condstore = false;
	const struct imap_arg *q = NULL;
	for (size_t i = 0; i < l->count; i++) {
		if (imap_arg_is_atom(&l->list[i], "CONDSTORE")) {
			named_condstore = true;
		} else {
			FUZZ_CHECK(imap_arg_is_atom(&l->list[i], "QRESYNC") && i + 1 < l->count);
			FUZZ_CHECK(q == NULL);
			q = &l->list[++i];
		}
	}
	FUZZ_CHECK(p.condstore == named_condstore);
	FUZZ_CHECK(p.qresync == (q != NULL));
	if (!p.qresync) {
		FUZZ_CHECK(p.known.count == 0 && !p.have_match);
		imap_select_params_clear(&p);
		return;
	}
	FUZZ_CHECK(qresync);
	FUZZ_CHECK(q->type == IMAP_ARG_LIST && q->count >= 2 && q->count <= 4);
	FUZZ_CHECK(p.uidvalidity >= 1 && p.uidvalidity == atom_value(q->list[0].str));
	FUZZ_CHECK(p.modseq <= IMAP_MODSEQ_MAX);
	FUZZ_CHECK(q->list[1].type == IMAP_ARG_ATOM && p.modseq == atom_value(q->list[1].str));
	const struct imap_seqset *k = &p.known;
	FUZZ_CHECK(k->count > 0 && !k->saved);
	for (size_t i = 0; i < k->count; i++) {
		FUZZ_CHECK(k->ranges[i].lo >= 1 && k->ranges[i].lo <= k->ranges[i].hi);
		if (i > 0)
			FUZZ_CHECK((uint64_t)k->ranges[i - 1].hi + 1 < k->ranges[i].lo);
	}
	if (q->count >= 3)
		check_named(q->list[2].str, k);
	else
		FUZZ_CHECK(k->count == 1 && k->ranges[0].lo == 1 && k->ranges[0].hi == UINT32_MAX);
	FUZZ_CHECK(p.have_match == (q->count == 4));
	if (p.have_match) {
		FUZZ_CHECK(!uidonly);
		const struct imap_arg *m = &q->list[3];
		FUZZ_CHECK(m->type == IMAP_ARG_LIST && m->count == 2);
		struct imap_seqset a, b;
		FUZZ_CHECK(imap_seqset_parse(m->list[0].str, UINT32_MAX, &a) == 0);
		FUZZ_CHECK(imap_seqset_parse(m->list[1].str, UINT32_MAX, &b) == 0);
		FUZZ_CHECK(!a.saved && !b.saved);
		FUZZ_CHECK(imap_select_set_count(&a) == imap_select_set_count(&b));
		FUZZ_CHECK(imap_select_set_count(&a) == p.match_count);
		imap_seqset_clear(&a);
		imap_seqset_clear(&b);
	}
	imap_select_params_clear(&p);
}

static void walk(const struct imap_arg *a, size_t n, bool qresync, bool uidonly, int depth)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type != IMAP_ARG_LIST)
			continue;
		check_list(&a[i], qresync, uidonly);
		if (depth < 3)
			walk(a[i].list, a[i].count, qresync, uidonly, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool qresync = data[0] & 1, uidonly = data[0] & 2;
	char *text = fuzz_strndup(data + 1, size - 1);
	struct imap_arg *args;
	size_t n;
	const char *error;
	if (imap_parse_args(text, size - 1, &args, &n, &error) == 0) {
		walk(args, n, qresync, uidonly, 0);
		imap_args_free(args, n);
	}
	free(text);
	return 0;
}
