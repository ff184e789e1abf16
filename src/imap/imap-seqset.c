/* imap-seqset: see imap-seqset.h. */
#include "imap/imap-seqset.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>

static int parse_num(const char **sp, uint32_t star, uint32_t *n_r)
{
	const char *s = *sp;
	if (*s == '*') {
		*n_r = star;
		*sp = s + 1;
		return 0;
	}
	uint64_t n = 0;
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
		s++;
	}
	*n_r = (uint32_t)n;
	*sp = s;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void normalize(struct imap_seqset *set)
{
	if (set->count < 2)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), cmp_range);
	size_t o = 0;
	for (size_t i = 1; i < set->count; i++) {
		struct imap_range *cur = &set->ranges[o];
		if ((uint64_t)set->ranges[i].lo <= (uint64_t)cur->hi + 1) {
			if (set->ranges[i].hi > cur->hi)
				cur->hi = set->ranges[i].hi;
		} else {
			set->ranges[++o] = set->ranges[i];
		}
	}
	set->count = o + 1;
}

int imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset *set_r)
{
	size_t cap = 0;
	memset(set_r, 0, sizeof(*set_r));
	if (strcmp(s, "$") == 0) {
		set_r->saved = true;
		return 0;
	}
	for (;;) {
		uint32_t a, b;
		if (parse_num(&s, star, &a) < 0)
			goto fail;
		b = a;
		if (*s == ':') {
			s++;
			if (parse_num(&s, star, &b) < 0)
				goto fail;
		}
		if (set_r->count >= IMAP_MAX_SEQSET_RANGES)
			goto fail;
		set_r->ranges = xgrow(set_r->ranges, &cap, set_r->count + 1, sizeof(*set_r->ranges));
		set_r->ranges[set_r->count].lo = a < b ? a : b;
		set_r->ranges[set_r->count].hi = a < b ? b : a;
		set_r->count++;
		if (*s == '\0')
			break;
		if (*s != ',')
			goto fail;
		s++;
	}
	normalize(set_r);
	return 0;
fail:
	imap_seqset_clear(set_r);
	return -1;
}

void imap_seqset_clear(struct imap_seqset *set)
{
	xfree(&set->ranges);
	set->count = 0;
	set->saved = false;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint32_t imap_seqset_max(const struct imap_seqset *set)
{
	return set->count ? set->ranges[set->count - 1].hi : 0;
}

void imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	size_t cap = set->count;
	set->ranges = xgrow(set->ranges, &cap, set->count + 1, sizeof(*set->ranges));
	set->ranges[set->count].lo = lo;
	set->ranges[set->count].hi = hi;
	set->count++;
	normalize(set);
}

char *imap_seqset_format_list(const uint32_t *nums, size_t n)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		if (b.len)
			buf_putc(&b, ',');
		if (j > i)
			buf_printf(&b, "%u:%u", nums[i], nums[j]);
		else
			buf_printf(&b, "%u", nums[i]);
		i = j + 1;
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
}

bool imap_uids_contain(const uint32_t *sorted, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] == uid)
			return true;
		if (sorted[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void imap_uids_sort(uint32_t *uids, size_t n)
{
	if (n > 1)
		qsort(uids, n, sizeof(*uids), cmp_u32);
}
