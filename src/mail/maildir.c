/*
 * maildir: Maildir file names (see maildir.h). The info part follows the
 * maildir spec ("2," then flag letters in ASCII order: D draft, F
 * flagged, P passed, R replied, S seen, T trashed); lower-case letters are
 * Dovecot's keywords, indexed in the folder's dovecot-keywords file.
 */
#include "mail/maildir.h"
#include <string.h>

bool maildir_parse_name(const char *name, struct maildir_info *info_r)
{
	size_t len = strlen(name);
	memset(info_r, 0, sizeof(*info_r));
	if (len == 0 || len > MAILDIR_MAX_NAME || name[0] == '.')
		return false;
	const char *info = strstr(name, ":2,");
	info_r->base_len = info ? (size_t)(info - name) : len;
	if (info_r->base_len == 0)
		return false;
	if (info == NULL)
		return true;
	for (const char *c = info + 3; *c != '\0'; c++) {
		switch (*c) {
		case 'D': info_r->flags |= 0x10u; break;
		case 'F': info_r->flags |= 0x04u; break;
		case 'R': info_r->flags |= 0x02u; break;
		case 'S': info_r->flags |= 0x01u; break;
		case 'T': info_r->flags |= 0x08u; break;
		default:
			if (*c >= 'a' && *c <= 'z')
				info_r->keyword_letters |= 1u << (*c - 'a');
			/* P (passed) and unknown letters: no IMAP flag */
			break;
		}
	}
	return true;
}
