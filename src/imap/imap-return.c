/* imap-return: see imap-return.h. */
#include "imap/imap-return.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum imap_return_opt opt;
} ret_names[] = {
	{"MIN", IMAP_RETURN_MIN},	{"MAX", IMAP_RETURN_MAX},
	{"ALL", IMAP_RETURN_ALL},	{"COUNT", IMAP_RETURN_COUNT},
	{"SAVE", IMAP_RETURN_SAVE},	{"UPDATE", IMAP_RETURN_UPDATE},
	{"CONTEXT", IMAP_RETURN_CONTEXT}, {"PARTIAL", IMAP_RETURN_PARTIAL},
};

/* One side of a partial-range: [-]nz-number, a 32-bit value (nz-number
 * starts with a digit 1-9: "01" is not one). */
static int parse_end(const char *s, size_t len, bool *neg_r, uint32_t *n_r)
{
	char num[16];
	*neg_r = len > 0 && s[0] == '-';
	if (*neg_r) {
		s++;
		len--;
	}
	if (len == 0 || len >= sizeof(num) || s[0] == '0')
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	uint64_t n;
	if (imap_parse_number(num, UINT32_MAX, &n) < 0 || n == 0)
		return -1;
	*n_r = (uint32_t)n;
	return 0;
}

int imap_return_parse_range(const struct imap_arg *a, struct imap_return *r)
{
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	const char *colon = strchr(a->str, ':');
	if (colon == NULL)
		return -1;
	bool neg1, neg2;
	uint32_t n1, n2;
	if (parse_end(a->str, (size_t)(colon - a->str), &neg1, &n1) < 0 ||
	    parse_end(colon + 1, strlen(colon + 1), &neg2, &n2) < 0 || neg1 != neg2)
		return -1;
	/* "500:400" is "400:500" (RFC 9394 3.1), likewise negative ranges */
	r->from_end = neg1;
	r->lo = n1 < n2 ? n1 : n2;
	r->hi = n1 < n2 ? n2 : n1;
	return 0;
}

int imap_return_parse(const struct imap_arg *list, struct imap_return *ret_r,
		      const char **error_r)
{
	memset(ret_r, 0, sizeof(*ret_r));
	if (list->type != IMAP_ARG_LIST) {
		*error_r = "RETURN needs a list of options";
		return -1;
	}
	if (list->count > IMAP_RETURN_MAX_ITEMS) {
		*error_r = "Too many RETURN options";
		return -1;
	}
	for (size_t j = 0; j < list->count; j++) {
		unsigned opt = 0;
		for (size_t q = 0; q < sizeof(ret_names) / sizeof(ret_names[0]); q++)
			if (imap_arg_is_atom(&list->list[j], ret_names[q].name))
				opt = ret_names[q].opt;
		if (opt == 0) {
			*error_r = "Unknown RETURN option";
			return -1;
		}
		if (opt == IMAP_RETURN_PARTIAL) {
			if ((ret_r->opts & IMAP_RETURN_PARTIAL) != 0) {
				*error_r = "PARTIAL given twice";
				return -1;
			}
			if (j + 1 >= list->count || imap_return_parse_range(&list->list[j + 1], ret_r) < 0) {
				*error_r = "PARTIAL needs a range like 1:100 or -1:-100";
				return -1;
			}
			j++;
		}
		ret_r->opts |= opt;
	}
	/* RFC 9394 3.1: PARTIAL and ALL are mutually exclusive */
	if ((ret_r->opts & IMAP_RETURN_PARTIAL) && (ret_r->opts & IMAP_RETURN_ALL)) {
		*error_r = "PARTIAL and ALL are mutually exclusive";
		return -1;
	}
	/* RFC 4731 3.1: "RETURN ()" is ALL. SAVE, UPDATE and CONTEXT alone
	 * ask for no result data (RFC 5182 2.4, RFC 5267 4.2). */
	if (ret_r->opts == 0)
		ret_r->opts = IMAP_RETURN_ALL;
	return 0;
}

void imap_return_partial_slice(const struct imap_return *ret, size_t n, size_t *first_r,
			       size_t *n_r)
{
	*first_r = 0;
	*n_r = 0;
	if (!(ret->opts & IMAP_RETURN_PARTIAL) || ret->lo == 0 || ret->lo > n)
		return;
	size_t hi = ret->hi < n ? ret->hi : n;
	size_t count = hi - ret->lo + 1;
	/* positions counted from the end: -1 is the last */
	*first_r = ret->from_end ? n - hi : ret->lo - 1;
	*n_r = count;
}

void imap_return_put_ordered_set(struct buf *b, const uint32_t *nums, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		buf_printf(b, i ? ",%u" : "%u", nums[i]);
		if (j > i)
			buf_printf(b, ":%u", nums[j]);
		i = j + 1;
	}
}

void imap_return_put_partial(struct buf *b, const struct imap_return *ret, const uint32_t *nums,
			     size_t n, bool ordered)
{
	if (ret->from_end)
		buf_printf(b, " PARTIAL (-%u:-%u ", ret->lo, ret->hi);
	else
		buf_printf(b, " PARTIAL (%u:%u ", ret->lo, ret->hi);
	if (n == 0) {
		buf_puts(b, "NIL");
	} else if (ordered) {
		imap_return_put_ordered_set(b, nums, n);
	} else {
		char *set = imap_seqset_format_list(nums, n);
		buf_puts(b, set);
		free(set);
	}
	buf_putc(b, ')');
}

uint64_t imap_return_modseq(const struct imap_view *v, const struct imap_return *r,
			    const uint32_t *uids, size_t n)
{
	uint64_t top = 0;
	bool all = (r->opts & (IMAP_RETURN_ALL | IMAP_RETURN_COUNT)) != 0 ||
		   (r->opts & IMAP_RETURN_RESULT_OPTS) == 0;
	size_t first = 0, k = 0;
	if (r->opts & IMAP_RETURN_PARTIAL)
		imap_return_partial_slice(r, n, &first, &k);
	for (size_t i = 0; i < n; i++) {
		bool returned = all || ((r->opts & IMAP_RETURN_MIN) && i == 0) ||
				((r->opts & IMAP_RETURN_MAX) && i == n - 1) ||
				(i >= first && i < first + k);
		uint32_t seq = returned ? imap_view_seq(v, uids[i]) : 0;
		if (seq != 0 && v->msgs[seq - 1].modseq > top)
			top = v->msgs[seq - 1].modseq;
	}
	return top;
}
