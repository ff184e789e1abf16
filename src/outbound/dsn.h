/*
 * dsn: delivery status notifications (RFC 3464) as complete messages:
 * multipart/report with a human part, the message/delivery-status part
 * (one block per recipient: Final-Recipient, Original-Recipient from
 * ORCPT, Action, Status, Remote-MTA, Diagnostic-Code) and the original
 * message or only its header (RFC 3461 4.3 RET; delays never carry the
 * body). Pure: no I/O.
 */
#ifndef ROOST_DSN_H
#define ROOST_DSN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_RELAYED, DSN_DELIVERED };

struct dsn_rcpt {
	const char *address;
	const char *orcpt;	/* "rfc822;addr" or NULL */
	enum dsn_action action;
	const char *status;	/* "5.1.1" */
	const char *remote_mta;	/* host name, or NULL */
	const char *diagnostic;	/* the remote reply ("550 5.1.1 ..."), or NULL */
};

struct dsn {
	const char *reporting_mta;	/* server.hostname */
	const char *to;			/* the return path */
	const char *envid;		/* RFC 3461 ENVID, or NULL */
	int64_t arrival;		/* when the message was queued */
	int64_t now;
	int64_t retry_until;		/* delays: when we give up */
	bool ret_full;
	const struct dsn_rcpt *rcpts;
	size_t nrcpts;
	const char *original;		/* the message */
	size_t original_len;
};

/* A complete message (CRLF lines; caller frees). */
char *dsn_build(const struct dsn *d, size_t *len_r);
/* The RFC 3463 status in an SMTP reply ("550 5.1.1 No such user" ->
 * "5.1.1"), else one derived from its code ("5.0.0", "4.0.0"). out holds
 * at least 16 bytes. */
void dsn_status_of_reply(const char *reply, char *out, size_t n);
#endif
