/*
 * imap-url: IMAP URLs (RFC 5092) that name one message or part of one,
 * as CATENATE (RFC 4469), URLAUTH (RFC 4467) and BURL (RFC 4468) use them:
 *
 *   imap://[user[;AUTH=type]@]host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n
 *       [/;SECTION=s][/;PARTIAL=start[.len]][;EXPIRE=datetime;URLAUTH=access
 *       [:mechanism:token]]
 *   /mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=...]   (relative)
 *
 * A pure parser: %-escapes are decoded, keywords are case-insensitive,
 * every field is checked against RFC 5092's grammar and the limits below.
 * Mailbox names are UTF-8 (RFC 5092 3.3). Nothing else (message lists,
 * searches, commands) is accepted: none of those users needs them.
 */
#ifndef ROOST_MAIL_IMAP_URL_H
#define ROOST_MAIL_IMAP_URL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Octets of one URL, and of its decoded user, host, mailbox and section. */
#define IMAP_URL_MAX 8192
#define IMAP_URL_MAX_FIELD 1024

struct imap_url {
	bool absolute;		/* imap://...; else a path starting with "/" */
	char *user;		/* decoded; NULL when absent */
	char *host;		/* absolute only */
	uint32_t port;		/* 0 = absent */
	char *mailbox;		/* decoded, UTF-8 */
	uint32_t uidvalidity;	/* 0 = absent */
	uint32_t uid;
	char *section;		/* decoded, NULL = the whole message */
	bool partial;
	uint32_t partial_start, partial_len;	/* len 0 = to the end */
	/* URLAUTH (RFC 4467 2): present when `access` is set */
	char *expire;		/* RFC 3339 date-time as written, or NULL */
	char *access;		/* "submit+user", "user+user", "authuser", "anonymous" */
	char *access_user;	/* the decoded user of submit+ / user+, else NULL */
	char *mechanism;	/* e.g. "internal" (lower-cased); NULL = a rump URL */
	char *token;		/* hex, lower-cased */
	/* the URL up to (not including) ":mechanism:token", for signing */
	size_t rump_len;
};

/* Parse s[0..len). -1 with a static *error_r when it is not such a URL. */
int imap_url_parse(const char *s, size_t len, struct imap_url *url_r, const char **error_r);
void imap_url_clear(struct imap_url *url);
#endif
