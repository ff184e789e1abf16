/*
 * base-subject: the "base subject" of RFC 5256 section 2.1, the subject
 * SORT SUBJECT compares and THREAD groups by: the subject without its
 * reply/forward decorations ("Re:", "Fwd:", "[list]" tags, "(fwd)"
 * trailers, "[fwd: ...]" wrappers) and with whitespace collapsed.
 *
 * Input is the Subject field already decoded to UTF-8 (mime-index.h
 * decodes RFC 2047 encoded-words at store time, which is step 1's first
 * half). Comparisons of base subjects use i18n;ascii-casemap (RFC 4790
 * 9.2), see base_subject_cmp().
 */
#ifndef ROOST_BASE_SUBJECT_H
#define ROOST_BASE_SUBJECT_H
#include <stdbool.h>
#include <stddef.h>

/* Subjects longer than this are cut before extraction (bounded work;
 * a longer subject still sorts by its first bytes). */
#define BASE_SUBJECT_MAX_INPUT 4096

/* The base subject of `subject` (NULL = no Subject field: ""), malloc'd.
 * *is_reply_r (may be NULL) tells whether the extraction removed a
 * reply/forward marker: a subj-refwd leader, a "(fwd)" trailer or a
 * "[fwd: ...]" wrapper (RFC 5256 section 2.1, used by THREAD=REFERENCES
 * step 5). */
char *base_subject_extract(const char *subject, bool *is_reply_r);

/* i18n;ascii-casemap (RFC 4790 9.2): octet order after mapping a-z to
 * A-Z. NULL compares as "". Returns <0, 0, >0. */
int base_subject_cmp(const char *a, const char *b);
#endif
