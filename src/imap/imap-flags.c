/* imap-flags: see imap-flags.h. */
#include "imap/imap-flags.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store.h"
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	uint32_t bit;
} system_flags[] = {
	{"\\Answered", STORE_FLAG_ANSWERED}, {"\\Flagged", STORE_FLAG_FLAGGED},
	{"\\Deleted", STORE_FLAG_DELETED},   {"\\Seen", STORE_FLAG_SEEN},
	{"\\Draft", STORE_FLAG_DRAFT},
};

bool imap_keyword_valid(const char *kw)
{
	size_t n = strlen(kw);
	if (n == 0 || n > STORE_MAX_KEYWORD_LEN)
		return false;
	for (const char *p = kw; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

int imap_flags_parse(const struct imap_arg *arg, uint32_t *flags_r, char **keywords_r,
		     const char **error_r)
{
	const struct imap_arg *items = arg;
	size_t n = 1;
	struct buf kw;
	/* Kept keywords, for the duplicate check: comparing with these (at
	 * most STORE_MAX_KEYWORDS) rather than with every earlier argument
	 * keeps a line of thousands of flags linear. */
	const char *kept[STORE_MAX_KEYWORDS];
	size_t nkw = 0;
	if (arg->type == IMAP_ARG_LIST) {
		items = arg->list;
		n = arg->count;
	}
	*flags_r = 0;
	*keywords_r = NULL;
	buf_init(&kw, STORE_MAX_KEYWORDS * (STORE_MAX_KEYWORD_LEN + 1));
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &items[i];
		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "Flags must be atoms";
			goto fail;
		}
		if (a->str[0] == '\\') {
			size_t j;
			for (j = 0; j < sizeof(system_flags) / sizeof(system_flags[0]); j++) {
				if (strcasecmp(a->str, system_flags[j].name) == 0) {
					*flags_r |= system_flags[j].bit;
					break;
				}
			}
			if (j == sizeof(system_flags) / sizeof(system_flags[0]) &&
			    strcasecmp(a->str, "\\Recent") != 0) {
				*error_r = "Unknown system flag";
				goto fail;
			}
			continue;
		}
		if (!imap_keyword_valid(a->str)) {
			*error_r = "Invalid keyword";
			goto fail;
		}
		/* skip duplicates (case-insensitive, RFC 9051 2.3.2) */
		bool dup = false;
		for (size_t j = 0; j < nkw && !dup; j++)
			dup = strcasecmp(kept[j], a->str) == 0;
		if (dup)
			continue;
		if (nkw == STORE_MAX_KEYWORDS) {
			*error_r = "[LIMIT] Too many keywords";
			goto fail;
		}
		kept[nkw++] = a->str;
		if ((kw.len && buf_putc(&kw, ' ') < 0) || buf_puts(&kw, a->str) < 0) {
			*error_r = "[LIMIT] Too many keywords";
			goto fail;
		}
	}
	if (kw.len)
		*keywords_r = buf_steal(&kw);
	buf_free(&kw);
	return 0;
fail:
	buf_free(&kw);
	return -1;
}

void imap_flags_format(struct buf *b, uint32_t flags, const char *keywords)
{
	bool first = true;
	for (size_t j = 0; j < sizeof(system_flags) / sizeof(system_flags[0]); j++) {
		if (flags & system_flags[j].bit) {
			buf_printf(b, "%s%s", first ? "" : " ", system_flags[j].name);
			first = false;
		}
	}
	if (keywords != NULL && *keywords != '\0')
		buf_printf(b, "%s%s", first ? "" : " ", keywords);
}
