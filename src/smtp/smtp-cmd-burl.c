/*
 * smtp-cmd-burl: BURL (RFC 4468) on submission. "BURL imap-url [LAST]"
 * appends the message (or part of one, by ;PARTIAL=) that an URLAUTH URL
 * (RFC 4467) names to the transaction's data, as a BDAT chunk of that
 * size would (RFC 4468 3.2: BURL and BDAT mix; LAST ends the data), so
 * a client sends a draft kept in its IMAP store without uploading it.
 *
 * The URL is resolved against our own store (store_urlauth_resolve):
 * no IMAP connection, so no trust relationship is needed. It must:
 *   - come after AUTH (RFC 4468 3.2), from a transaction with recipients;
 *   - name this server: server.hostname, and no port or one of the IMAP
 *     listeners' ports;
 *   - carry an URLAUTH for "submit+<the authenticated account>" (RFC
 *     4467 3: the access identifier of a submission server), a valid
 *     INTERNAL token, no past EXPIRE.
 * Anything else is 554 5.7.0 (RFC 4468 6); a URL that no longer resolves
 * (expunged, mailbox gone) is 554 5.6.6, content not available; NUL in
 * the content would need BINARYMIME, which is not offered: 554 5.6.3. A
 * refused BURL leaves the transaction as it was. Sizes are the DATA
 * limits (message.max_size, the memory budget: smtp_data_chunk()).
 *
 * The resolve is one store read on this thread, like the RCPT lookups.
 */
#include "smtp/smtp-session.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "store/store-urlauth.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 3461-style limit for the URL: the IMAP URL parser's own maximum
 * (mail/imap-url.h); longer is refused before any parsing. */
#define SMTP_BURL_URL_MAX IMAP_URL_MAX

static bool port_ok(const struct smtp_server *srv, uint32_t port)
{
	if (port == 0)
		return true; /* the host's IMAP service, whatever port it has */
	for (size_t i = 0; i < srv->nburl_ports; i++)
		if (srv->burl_ports[i] == port)
			return true;
	return false;
}

/* The URL names this server and grants submit+ to `me`? */
static bool url_for_us(const struct smtp_server *srv, const struct imap_url *u, const char *me)
{
	return u->absolute && u->host != NULL && strcasecmp(u->host, srv->hostname) == 0 &&
	       port_ok(srv, u->port) && u->access != NULL &&
	       strncasecmp(u->access, "submit+", 7) == 0 && u->access_user != NULL &&
	       strcasecmp(u->access_user, me) == 0 && u->mechanism != NULL;
}

/* Split "url [LAST]" in place. -1 on a syntax error. */
static int parse_args(char *args, char **url_r, bool *last_r)
{
	*last_r = false;
	char *sp = strchr(args, ' ');
	if (sp != NULL) {
		*sp = '\0';
		if (strcasecmp(sp + 1, "LAST") != 0)
			return -1;
		*last_r = true;
	}
	*url_r = args;
	return args[0] != '\0' ? 0 : -1;
}

void smtp_cmd_burl(struct smtp_session *s, char *args)
{
	struct smtp_txn *t = &s->txn;
	if (s->account_id <= 0) {
		smtp_reply_error(s, "530 5.7.0 Authentication required");
		return;
	}
	if (!s->srv->burl) {
		smtp_reply_error(s, "502 5.5.1 BURL is not available (no IMAP service)");
		return;
	}
	if (strlen(args) > SMTP_BURL_URL_MAX + 5) {
		smtp_reply_error(s, "554 5.7.0 URL too long");
		return;
	}
	char *url;
	bool last;
	if (parse_args(args, &url, &last) < 0) {
		smtp_reply_error(s, "501 5.5.4 Syntax: BURL imap-url [LAST]");
		return;
	}
	if (!t->active) {
		smtp_reply_error(s, "503 5.5.1 Need MAIL command first");
		return;
	}
	if (t->nrcpts == 0) {
		smtp_reply_error(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (t->too_big || t->no_budget) {
		/* an earlier chunk already failed: end like BDAT does */
		smtp_data_chunk(s, "", 0, last);
		return;
	}
	size_t len = strlen(url);
	if (len > SMTP_BURL_URL_MAX) {
		smtp_reply_error(s, "554 5.7.0 URL too long");
		return;
	}
	struct store_account a;
	enum store_err err = store_account_get_by_id(s->srv->store, s->account_id, &a);
	if (err != STORE_OK) {
		conn_log(s->conn, LOG_WARN, "burl: account read failed: %s", store_strerror(err));
		smtp_reply_error(s, "451 4.3.0 Cannot resolve the URL now, try again later");
		return;
	}
	struct imap_url u;
	const char *why;
	bool ours = imap_url_parse(url, len, &u, &why) == 0;
	if (ours) {
		ours = url_for_us(s->srv, &u, a.address);
		imap_url_clear(&u);
	}
	struct store_urlauth_message m;
	memset(&m, 0, sizeof(m));
	if (ours)
		err = store_urlauth_resolve(s->srv->store, url, len, a.address, (int64_t)time(NULL), &m);
	store_account_clear(&a);
	if (!ours || err == STORE_EINVAL || err == STORE_EPERM) {
		conn_log(s->conn, LOG_WARN, "burl refused user=%s: %s", s->auth_user,
			 !ours ? "not a submit+ URLAUTH URL of this server" : store_strerror(err));
		smtp_reply_error(s, "554 5.7.0 Invalid URL or URLAUTH authorization");
		store_urlauth_message_clear(&m);
		return;
	}
	if (err == STORE_ENOTFOUND) {
		smtp_reply_error(s, "554 5.6.6 Message content not available");
		store_urlauth_message_clear(&m);
		return;
	}
	if (err != STORE_OK) {
		conn_log(s->conn, LOG_WARN, "burl: resolve failed: %s", store_strerror(err));
		smtp_reply_error(s, "451 4.3.0 Cannot resolve the URL now, try again later");
		store_urlauth_message_clear(&m);
		return;
	}
	if (m.url.section != NULL) {
		/* a body part is not a message to submit */
		smtp_reply_error(s, "554 5.6.6 BURL of a ;SECTION= part is not supported");
		store_urlauth_message_clear(&m);
		return;
	}
	const char *p = m.data;
	size_t n = m.len;
	if (m.url.partial) {
		size_t start = m.url.partial_start < n ? m.url.partial_start : n;
		n -= start;
		p += start;
		if (m.url.partial_len != 0 && m.url.partial_len < n)
			n = m.url.partial_len;
	}
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		smtp_reply_error(s, "554 5.6.3 Message content is binary (BINARYMIME not offered)");
		store_urlauth_message_clear(&m);
		return;
	}
	conn_log(s->conn, LOG_INFO, "burl user=%s bytes=%zu%s", s->auth_user, n,
		 last ? " last" : "");
	smtp_data_chunk(s, p, n, last);
	store_urlauth_message_clear(&m);
}
