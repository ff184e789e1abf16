/*
 * smtp-trace: the Received: header SMTP and LMTP add (RFC 5321 4.4).
 * Return-Path: and Delivered-To: are added per recipient by delivery.c.
 *
 *   Received: from HELO ([IP])
 *   	by HOST (Roost) with ESMTPS id ID
 *   	(using TLSv1.3 TLS_AES_256_GCM_SHA384)
 *   	for <rcpt>; Mon, 23 Nov 2026 17:44:03 +0000
 *
 * The "for" clause is only written with one recipient, so a message to
 * several does not tell each of them about the others. The HELO name was
 * checked by smtp_helo_valid(), so it is safe in a header.
 */
#include "smtp/smtp-session.h"
#include "lib/alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *smtp_trace_protocol(bool lmtp, bool esmtp, bool tls, bool utf8)
{
	/* RFC 3848 2 and RFC 6531 4.3 "with" protocol types */
	if (lmtp) {
		if (utf8)
			return tls ? "UTF8LMTPS" : "UTF8LMTP";
		return tls ? "LMTPS" : "LMTP";
	}
	if (utf8)
		return tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (!esmtp)
		return "SMTP";
	return tls ? "ESMTPS" : "ESMTP";
}

static void rfc5322_date(int64_t when, char *out, size_t size)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)when;
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *smtp_trace_received(const struct smtp_trace *t)
{
	char date[64];
	rfc5322_date(t->when, date, sizeof(date));
	const char *helo = t->helo != NULL ? t->helo : "unknown";
	char *from;
	if (t->ip == NULL || strcmp(t->ip, "unix") == 0)
		from = xasprintf("from %s", helo);
	else if (strchr(t->ip, ':') != NULL)
		from = xasprintf("from %s ([IPv6:%s])", helo, t->ip);
	else
		from = xasprintf("from %s ([%s])", helo, t->ip);
	char *tls = t->tls != NULL ? xasprintf("\r\n\t(using %s)", t->tls) : xstrdup("");
	char *rcpt = t->for_rcpt != NULL ? xasprintf("\r\n\tfor <%s>", t->for_rcpt) : xstrdup("");
	char *out = xasprintf("Received: %s\r\n\tby %s (Roost) with %s id %s%s%s; %s\r\n", from,
			      t->hostname, t->protocol, t->id, tls, rcpt, date);
	free(from);
	free(tls);
	free(rcpt);
	return out;
}
