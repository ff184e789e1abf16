/*
 * maildir: what a Maildir file name says (the "info" after ":2,": flag
 * letters, and Dovecot's keyword letters a-z) and Maildir++ folder names
 * (".A.B" is mailbox "A/B"). Pure: no file access.
 */
#ifndef ROOST_MAIL_MAILDIR_H
#define ROOST_MAIL_MAILDIR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest file name we parse (NAME_MAX of the file systems we read). */
#define MAILDIR_MAX_NAME 255

/* System flags as store.h numbers them (STORE_FLAG_*: seen 1, answered 2,
 * flagged 4, deleted 8, draft 16). */
struct maildir_info {
	uint32_t flags;
	uint32_t keyword_letters; /* bit i = letter 'a' + i */
	size_t base_len;	  /* bytes of the unique part before ":2," */
};

/* Parse a file name. Returns false for names that are not messages
 * (dot files, too long, empty). A name without ":2," has no flags. */
bool maildir_parse_name(const char *name, struct maildir_info *info_r);
#endif
