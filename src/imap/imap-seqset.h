/*
 * imap-seqset: sequence sets (RFC 9051 section 9, "sequence-set"):
 * "1,3:5,7:*", with '*' for the largest number in use and '$' for the
 * saved search result (RFC 5182). Parsed into sorted, merged ranges.
 */
#ifndef ROOST_IMAP_SEQSET_H
#define ROOST_IMAP_SEQSET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_MAX_SEQSET_RANGES 100000	/* comma-separated items in one set */

struct imap_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_range *ranges;	/* sorted, non-overlapping, non-adjacent */
	size_t count;
	bool saved;			/* the set was "$" */
};

/* `star` is the value of '*' (may be 0 for an empty mailbox). Numbers must
 * be 1..4294967295. -1 on bad syntax. */
int imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset *set_r);
void imap_seqset_clear(struct imap_seqset *set);
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* Largest number in the set (0 if empty). */
uint32_t imap_seqset_max(const struct imap_seqset *set);
/* Add a range, keeping the set sorted and merged. */
void imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi);
/* Append "1:3,5" form to a malloc'd string (for COPYUID etc.). Numbers in
 * the given order, consecutive runs collapsed. */
/* Sorted UID lists: is uid in the ascending list? (binary search) */
bool imap_uids_contain(const uint32_t *sorted, size_t n, uint32_t uid);
/* Sort a UID list ascending. */
void imap_uids_sort(uint32_t *uids, size_t n);
char *imap_seqset_format_list(const uint32_t *nums, size_t n);
#endif
