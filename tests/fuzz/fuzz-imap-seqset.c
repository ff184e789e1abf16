/*
 * fuzz-imap-seqset: IMAP sequence sets (imap/imap-seqset.h), the argument
 * of FETCH, STORE, COPY, SEARCH and their UID forms.
 *
 * Input: 4 bytes (little-endian) for the value of '*' (the mailbox size
 * or largest UID), then the set text exactly as it arrives in an atom.
 *
 * Invariants when the set parses: ranges sorted, lo <= hi, neither
 * overlapping nor adjacent (merged); every number the text names is
 * contained (checked against a naive re-reading of the text); max() is
 * the last range's end; formatting the members back with
 * imap_seqset_format_list() and re-parsing gives the same ranges; and
 * imap_seqset_add() keeps the set merged.
 */
#include "fuzz.h"
#include "imap/imap-seqset.h"

/* Members walked for the format round trip: enough to cover runs and
 * gaps, bounded so a set like 1:4294967295 stays fast. */
#define FUZZ_SEQSET_MAX_MEMBERS 2000

static void check_merged(const struct imap_seqset *set)
{
	FUZZ_CHECK(set->count <= IMAP_MAX_SEQSET_RANGES + 1);
	for (size_t i = 0; i < set->count; i++) {
		FUZZ_CHECK(set->ranges[i].lo <= set->ranges[i].hi);
		if (i > 0)
			FUZZ_CHECK((uint64_t)set->ranges[i - 1].hi + 1 < set->ranges[i].lo);
	}
	FUZZ_CHECK(imap_seqset_max(set) == (set->count ? set->ranges[set->count - 1].hi : 0));
}

/* The text once more, read naively: each item "a" or "a:b". */
static void check_members(const struct imap_seqset *set, const char *s, uint32_t star)
{
	while (*s != '\0') {
		uint64_t v[2] = {0, 0};
		int n = 0;
		for (; n < 2; n++) {
			if (*s == '*') {
				v[n] = star;
				s++;
			} else {
				while (*s >= '0' && *s <= '9')
					v[n] = v[n] * 10 + (uint64_t)(*s++ - '0');
			}
			if (*s != ':')
				break;
			s++;
		}
		uint64_t lo = n == 0 ? v[0] : (v[0] < v[1] ? v[0] : v[1]);
		uint64_t hi = n == 0 ? v[0] : (v[0] < v[1] ? v[1] : v[0]);
		FUZZ_CHECK(hi <= UINT32_MAX);
		FUZZ_CHECK(imap_seqset_contains(set, (uint32_t)lo));
		FUZZ_CHECK(imap_seqset_contains(set, (uint32_t)hi));
		FUZZ_CHECK(imap_seqset_contains(set, (uint32_t)(lo + (hi - lo) / 2)));
		if (*s == ',')
			s++;
	}
}

static void check_format(const struct imap_seqset *set)
{
	uint32_t *nums = malloc(FUZZ_SEQSET_MAX_MEMBERS * sizeof(*nums));
	size_t n = 0;
	FUZZ_CHECK(nums != NULL);
	for (size_t i = 0; i < set->count && n < FUZZ_SEQSET_MAX_MEMBERS; i++)
		for (uint64_t u = set->ranges[i].lo;
		     u <= set->ranges[i].hi && n < FUZZ_SEQSET_MAX_MEMBERS; u++)
			nums[n++] = (uint32_t)u;
	char *text = imap_seqset_format_list(nums, n);
	FUZZ_CHECK(text != NULL);
	if (n > 0 && nums[0] > 0) {
		struct imap_seqset again;
		FUZZ_CHECK(imap_seqset_parse(text, 0, &again) == 0);
		check_merged(&again);
		/* Same members, so the same merged ranges. */
		struct imap_seqset want = {0};
		for (size_t i = 0; i < n; i++)
			imap_seqset_add(&want, nums[i], nums[i]);
		FUZZ_CHECK(again.count == want.count);
		for (size_t i = 0; i < want.count; i++) {
			FUZZ_CHECK(again.ranges[i].lo == want.ranges[i].lo);
			FUZZ_CHECK(again.ranges[i].hi == want.ranges[i].hi);
		}
		imap_seqset_clear(&want);
		imap_seqset_clear(&again);
	}
	free(text);
	free(nums);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint32_t star = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
			(uint32_t)data[3] << 24;
	/* An atom cannot hold NUL: the text ends at the first one. */
	char *text = fuzz_strndup(data + 4, size - 4);
	struct imap_seqset set;

	if (imap_seqset_parse(text, star, &set) == 0) {
		if (set.saved) {
			FUZZ_CHECK(strcmp(text, "$") == 0 && set.count == 0);
		} else {
			FUZZ_CHECK(set.count > 0);
			check_merged(&set);
			check_members(&set, text, star);
			check_format(&set);
			/* Adding a range keeps the set merged and contains it. */
			uint32_t a = star / 2, b = star / 2 + (uint32_t)(size & 0xff);
			if (b < a)
				b = a;
			imap_seqset_add(&set, a, b);
			check_merged(&set);
			FUZZ_CHECK(imap_seqset_contains(&set, a) && imap_seqset_contains(&set, b));
		}
		imap_seqset_clear(&set);
	} else {
		FUZZ_CHECK(set.ranges == NULL && set.count == 0);
	}
	free(text);
	return 0;
}
