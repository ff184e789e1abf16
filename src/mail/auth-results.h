/*
 * auth-results: the Authentication-Results header field (RFC 8601):
 * building ours, and removing the ones in an incoming message that claim
 * to be ours (5: a forged result under our authserv-id would be trusted
 * by the mail reader). Pure functions on message bytes.
 */
#ifndef ROOST_AUTH_RESULTS_H
#define ROOST_AUTH_RESULTS_H
#include <stddef.h>

/* Properties of one result, at most. */
#define AUTH_RESULTS_MAX_PROPS 4

struct auth_results_entry {
	const char *method;	/* "spf", "dkim", "dmarc" */
	const char *result;	/* "pass", "fail", ... */
	const char *reason;	/* a comment, or NULL */
	const char *props[AUTH_RESULTS_MAX_PROPS][2]; /* {"smtp.mailfrom", "a@b"}; NULL ends */
};

/* "Authentication-Results: ID;\r\n\tspf=pass (...) smtp.mailfrom=...;\r\n..."
 * ending in CRLF, folded one result per line; "none" when n == 0.
 * Values that are not RFC 2045 tokens are quoted; comments lose their
 * parentheses, backslashes and control characters. Caller frees. */
char *auth_results_header(const char *authserv_id, const struct auth_results_entry *e,
			  size_t n);

/* Remove, in place, every Authentication-Results field of the message's
 * top header whose authserv-id is `authserv_id` (case-insensitive).
 * Returns the new length; *removed_r (may be NULL) counts the fields. */
size_t auth_results_strip(char *msg, size_t len, const char *authserv_id, size_t *removed_r);
#endif
