/* dsn: see dsn.h. RFC 3464 2 (the report's fields), RFC 6522 (the
 * multipart/report container), RFC 3834 5 (Auto-Submitted). */
#include "outbound/dsn.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A DSN is never larger than the original plus this much. */
#define DSN_OVERHEAD_MAX (1024 * 1024)

static void rfc5322_date(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static const char *action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_DELAYED: return "delayed";
	case DSN_RELAYED: return "relayed";
	case DSN_DELIVERED: return "delivered";
	default: return "failed";
	}
}

/* The header of the original (up to the empty line). */
static size_t header_len(const char *data, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n')
			return i + 1;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 1;
	}
	return len;
}

/* Append with every line ending CRLF. */
static void put_crlf(struct buf *b, const char *p, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		size_t end = i > start && p[i - 1] == '\r' ? i - 1 : i;
		buf_append(b, p + start, end - start);
		buf_puts(b, "\r\n");
		start = i + 1;
	}
	if (start < n) {
		buf_append(b, p + start, n - start);
		buf_puts(b, "\r\n");
	}
}

/* Text from a remote reply put into a header field: one line, printable. */
static void put_field_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		buf_putc(b, (*s >= 0x20 && *s < 0x7f) ? *s : ' ');
}

void dsn_status_of_reply(const char *reply, char *out, size_t n)
{
	const char *p = reply;
	if (p != NULL && (p[0] == '4' || p[0] == '5') && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-')) {
		const char *e = p + 4;
		/* class "." subject "." detail, RFC 3463 2 */
		if (e[0] == p[0] && e[1] == '.') {
			size_t i = 2, d1 = 0, d2 = 0;
			while (e[i] >= '0' && e[i] <= '9' && d1 < 3) {
				i++;
				d1++;
			}
			if (d1 > 0 && e[i] == '.') {
				i++;
				while (e[i] >= '0' && e[i] <= '9' && d2 < 3) {
					i++;
					d2++;
				}
				if (d2 > 0 && (e[i] == ' ' || e[i] == '\0') && i < n) {
					memcpy(out, e, i);
					out[i] = '\0';
					return;
				}
			}
		}
		snprintf(out, n, "%c.0.0", p[0]);
		return;
	}
	snprintf(out, n, "4.0.0");
}

char *dsn_build(const struct dsn *d, size_t *len_r)
{
	struct buf b;
	buf_init(&b, d->original_len * 2 + DSN_OVERHEAD_MAX);
	char date[64], boundary[48];
	unsigned char rnd[12];
	RAND_bytes(rnd, sizeof(rnd));
	int bl = snprintf(boundary, sizeof(boundary), "=_roost_dsn_");
	for (size_t i = 0; i < sizeof(rnd); i++)
		bl += snprintf(boundary + bl, sizeof(boundary) - (size_t)bl, "%02x", rnd[i]);
	bool any_failed = false, any_delayed = false;
	for (size_t i = 0; i < d->nrcpts; i++) {
		any_failed |= d->rcpts[i].action == DSN_FAILED;
		any_delayed |= d->rcpts[i].action == DSN_DELAYED;
	}
	const char *subject = any_failed ? "Undelivered Mail Returned to Sender" :
			      any_delayed ? "Delayed Mail (still being retried)" :
					    "Successful Mail Delivery Report";
	rfc5322_date(d->now, date, sizeof(date));
	buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", d->reporting_mta);
	buf_printf(&b, "To: <%s>\r\n", d->to);
	buf_printf(&b, "Subject: %s\r\n", subject);
	buf_printf(&b, "Date: %s\r\n", date);
	buf_printf(&b, "Message-ID: <dsn.%lld.%s@%s>\r\n", (long long)d->now, boundary + 12,
		   d->reporting_mta);
	buf_puts(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	buf_printf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		       "\tboundary=\"%s\"\r\n\r\n", boundary);
	buf_puts(&b, "This is a MIME-encapsulated message.\r\n\r\n");

	/* the human-readable part */
	buf_printf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary);
	buf_printf(&b, "This is the mail system at host %s.\r\n\r\n", d->reporting_mta);
	if (any_failed)
		buf_puts(&b, "Your message could not be delivered to one or more recipients.\r\n");
	else if (any_delayed)
		buf_puts(&b, "Your message has not been delivered yet; delivery will be retried.\r\n");
	else
		buf_puts(&b, "Your message was passed on to a system that sends no delivery reports.\r\n");
	buf_puts(&b, "\r\n");
	for (size_t i = 0; i < d->nrcpts; i++) {
		const struct dsn_rcpt *r = &d->rcpts[i];
		buf_printf(&b, "<%s>: %s", r->address, action_name(r->action));
		if (r->diagnostic != NULL) {
			buf_puts(&b, ": ");
			put_field_text(&b, r->diagnostic);
		}
		buf_puts(&b, "\r\n");
	}
	buf_puts(&b, "\r\n");

	/* RFC 3464 2.2, 2.3: per-message then per-recipient fields */
	buf_printf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
	buf_printf(&b, "Reporting-MTA: dns; %s\r\n", d->reporting_mta);
	if (d->envid != NULL) {
		buf_puts(&b, "Original-Envelope-Id: ");
		put_field_text(&b, d->envid);
		buf_puts(&b, "\r\n");
	}
	rfc5322_date(d->arrival, date, sizeof(date));
	buf_printf(&b, "Arrival-Date: %s\r\n", date);
	for (size_t i = 0; i < d->nrcpts; i++) {
		const struct dsn_rcpt *r = &d->rcpts[i];
		buf_puts(&b, "\r\n");
		if (r->orcpt != NULL) {
			buf_puts(&b, "Original-Recipient: ");
			put_field_text(&b, r->orcpt);
			buf_puts(&b, "\r\n");
		}
		buf_printf(&b, "Final-Recipient: rfc822; %s\r\n", r->address);
		buf_printf(&b, "Action: %s\r\n", action_name(r->action));
		buf_printf(&b, "Status: %s\r\n", r->status);
		if (r->remote_mta != NULL)
			buf_printf(&b, "Remote-MTA: dns; %s\r\n", r->remote_mta);
		if (r->diagnostic != NULL && r->remote_mta != NULL) {
			buf_puts(&b, "Diagnostic-Code: smtp; ");
			put_field_text(&b, r->diagnostic);
			buf_puts(&b, "\r\n");
		}
		rfc5322_date(d->now, date, sizeof(date));
		buf_printf(&b, "Last-Attempt-Date: %s\r\n", date);
		if (r->action == DSN_DELAYED && d->retry_until > 0) {
			rfc5322_date(d->retry_until, date, sizeof(date));
			buf_printf(&b, "Will-Retry-Until: %s\r\n", date);
		}
	}
	buf_puts(&b, "\r\n");

	/* the original: whole (RET=FULL, failures only) or its header */
	bool full = d->ret_full && any_failed;
	buf_printf(&b, "--%s\r\nContent-Type: %s\r\n\r\n", boundary,
		   full ? "message/rfc822" : "text/rfc822-headers");
	put_crlf(&b, d->original, full ? d->original_len : header_len(d->original, d->original_len));
	buf_printf(&b, "\r\n--%s--\r\n", boundary);
	*len_r = b.len;
	return buf_steal(&b);
}
