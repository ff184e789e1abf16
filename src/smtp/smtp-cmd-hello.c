/*
 * smtp-cmd-hello: EHLO, HELO (RFC 5321 4.1.1.1) and LMTP's LHLO (RFC 2033
 * 4.1). Each starts the session over: any transaction is reset. EHLO and
 * LHLO list the extensions. AUTH is offered on submission only (RFC 6409
 * 4.3), and there only when a password may be sent (TLS, or
 * auth.allow_plaintext); the MX and LMTP never offer it. DSN (RFC 3461)
 * everywhere: the outbound queue honours it for what it relays, and
 * local deliveries send the success DSNs themselves (smtp-dsn-success.c).
 * BURL (RFC 4468) on submission when the IMAP URLAUTH is there to
 * resolve its URLs ("imap": URLAUTH URLs of this server only).
 */
#include "smtp/smtp-session.h"
#include "smtp/smtp-parse.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include <stdio.h>
#include <stdlib.h>

static bool take_name(struct smtp_session *s, const char *args, const char *verb)
{
	if (!smtp_helo_valid(args)) {
		smtp_reply_error(s, "501 5.5.4 Syntax: %s domain or address literal", verb);
		return false;
	}
	smtp_session_reset_helo(s);
	s->helo = xstrdup(args);
	return true;
}

static void hello_extended(struct smtp_session *s, char *args, const char *verb)
{
	if (!take_name(s, args, verb))
		return;
	s->esmtp = true;
	const char *ext[14];
	size_t n = 0;
	char size[48];
	ext[n++] = "PIPELINING";			/* RFC 2920 */
	snprintf(size, sizeof(size), "SIZE %lld", (long long)s->srv->max_size); /* RFC 1870 */
	ext[n++] = size;
	ext[n++] = "8BITMIME";				/* RFC 6152 */
	ext[n++] = "SMTPUTF8";				/* RFC 6531 */
	ext[n++] = "ENHANCEDSTATUSCODES";		/* RFC 2034 */
	ext[n++] = "CHUNKING";				/* RFC 3030 */
	ext[n++] = "DSN";				/* RFC 3461 */
	/* RFC 4468 3.1: "BURL" alone before AUTH says that it needs one */
	if (s->srv->submission && s->srv->burl)
		ext[n++] = s->account_id > 0 ? "BURL imap" : "BURL";
	if (conn_tls_available(s->conn) && !conn_tls_active(s->conn))
		ext[n++] = "STARTTLS";			/* RFC 3207 */
	/* RFC 8689 4.1: only where the session is already TLS */
	if (conn_tls_active(s->conn) && !s->srv->lmtp)
		ext[n++] = "REQUIRETLS";
	if (s->srv->submission && conn_plaintext_auth_ok(s->conn))
		ext[n++] = "AUTH SCRAM-SHA-256 PLAIN LOGIN"; /* RFC 4954, 7677 */
	ext[n++] = "HELP";
	smtp_reply(s, "250-%s Hello %s", s->srv->hostname, s->helo);
	for (size_t i = 0; i < n; i++)
		smtp_reply(s, "250%c%s", i + 1 == n ? ' ' : '-', ext[i]);
}

void smtp_cmd_ehlo(struct smtp_session *s, char *args)
{
	hello_extended(s, args, "EHLO");
}

void smtp_cmd_lhlo(struct smtp_session *s, char *args)
{
	hello_extended(s, args, "LHLO");
}

void smtp_cmd_helo(struct smtp_session *s, char *args)
{
	if (!take_name(s, args, "HELO"))
		return;
	/* HELO gets no extensions and no enhanced codes are promised, but
	 * they do no harm to an RFC 821 client. */
	smtp_reply(s, "250 %s Hello %s", s->srv->hostname, s->helo);
}
