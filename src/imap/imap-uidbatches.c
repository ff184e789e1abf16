/* imap-uidbatches: see imap-uidbatches.h. */
#include "imap/imap-uidbatches.h"
#include <string.h>

/* A nz-number (RFC 9051 9): 1 .. 4294967295, from `len` bytes of s. */
static int parse_nz(const char *s, size_t len, uint32_t *n_r)
{
	char tmp[IMAP_UIDBATCHES_MAX_DIGITS + 1];
	uint64_t n;
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (imap_parse_number(tmp, UINT32_MAX, &n) < 0 || n == 0)
		return -1;
	*n_r = (uint32_t)n;
	return 0;
}

/* "first:last" batch numbers; first <= last (a range of batches is read
 * in the order they are numbered). */
static int parse_range(const struct imap_arg *a, uint32_t *first_r, uint32_t *last_r)
{
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	const char *colon = strchr(a->str, ':');
	if (colon == NULL || parse_nz(a->str, (size_t)(colon - a->str), first_r) < 0 ||
	    parse_nz(colon + 1, strlen(colon + 1), last_r) < 0)
		return -1;
	return *first_r <= *last_r ? 0 : -1;
}

int imap_uidbatches_parse(const struct imap_arg *args, size_t count,
			  struct imap_uidbatches_args *r, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	r->first = 1;
	r->last = UINT32_MAX;
	r->ranged = count == 2;
	if (count < 1 || count > 2 || args[0].type != IMAP_ARG_ATOM ||
	    parse_nz(args[0].str, args[0].len, &r->size) < 0) {
		*error_r = "UIDBATCHES needs a batch size (a number above 0)";
		return -1;
	}
	if (r->ranged && parse_range(&args[1], &r->first, &r->last) < 0) {
		*error_r = "Invalid batch range (expected first:last, 1 <= first <= last)";
		return -1;
	}
	return 0;
}
