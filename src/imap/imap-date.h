/*
 * imap-date: IMAP date and date-time (RFC 9051 section 9: "date",
 * "date-time" = "dd-Mon-yyyy hh:mm:ss +zzzz", day may be space-padded).
 */
#ifndef ROOST_IMAP_DATE_H
#define ROOST_IMAP_DATE_H
#include <stddef.h>
#include <stdint.h>

/* "17-Jul-1996 02:44:25 +0000" into out (at least 32 bytes), in UTC. */
void imap_date_time_format(int64_t t, char *out, size_t outlen);
/* date-time -> unix time. -1 on bad syntax. */
int imap_date_time_parse(const char *s, int64_t *t_r);
/* date "1-Feb-1994" -> unix time of 00:00 UTC that day. -1 on bad syntax. */
int imap_date_parse(const char *s, int64_t *t_r);
#endif
