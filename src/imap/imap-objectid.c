/* imap-objectid: see imap-objectid.h. */
#include "imap/imap-objectid.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>

void imap_objectid_mailbox(struct buf *b, int64_t mailbox_id, uint32_t uidvalidity)
{
	buf_printf(b, "F%lld-%u", (long long)mailbox_id, uidvalidity);
}

int imap_objectid_parse(const char *s, char prefix, int64_t *n_r)
{
	if (s[0] != prefix || s[1] < '1' || s[1] > '9' || strlen(s) > 19)
		return -1;
	int64_t n = 0;
	for (const char *p = s + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	*n_r = n;
	return 0;
}
