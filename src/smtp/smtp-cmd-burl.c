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
 * A URL of another server is 554 5.7.14 (no trust relationship, RFC
 * 4468 6 and its errata); any other URL or authorization failure 554
 * 5.7.0; a URL that no longer resolves (expunged, mailbox gone) 554
 * 5.6.6; NUL in the content would need BINARYMIME, which is not
 * offered: 554 5.6.3. A URL that fails ends the whole transaction (RFC
 * 4468 3.2); a syntax error (501) does not. Sizes are the DATA limits
 * (message.max_size, the memory budget: smtp_data_chunk()).
 *
 * The resolve (the account, the key, the message bytes) runs on the
 * read pool (lib/workers.h) with the session paused, like a store op.
 */
#include "smtp/smtp-session.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/workers.h"
#include "store/store-urlauth.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The longest URL: the IMAP URL parser's own maximum (mail/imap-url.h);
 * longer is refused before any parsing (554 5.7.0). */
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

/* The URL names this server (an absolute URL of our host and port)? */
static bool url_is_ours(const struct smtp_server *srv, const struct imap_url *u)
{
	return u->absolute && u->host != NULL && strcasecmp(u->host, srv->hostname) == 0 &&
	       port_ok(srv, u->port);
}

/* RFC 4468 3.3: a "submit+" URL only for the client's own identity. */
static bool url_grants_submit(const struct imap_url *u, const char *me)
{
	return u->access != NULL && strncasecmp(u->access, "submit+", 7) == 0 &&
	       u->access_user != NULL && strcasecmp(u->access_user, me) == 0 &&
	       u->mechanism != NULL;
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

/* One resolve on the read pool; the session is paused meanwhile. */
struct burl_job {
	struct smtp_session *s;
	struct store *store;
	int64_t account_id;
	char *url;
	size_t len;
	bool last;
	/* out */
	bool parsed, foreign, granted;
	enum store_err err;
	struct store_urlauth_message m;
};

/* Worker: the account's address, url_is_ours() and url_grants_submit(), then the
 * store's resolve (token, EXPIRE, the message bytes). */
static void resolve_work(void *ctx)
{
	struct burl_job *j = ctx;
	struct store_account a;
	j->err = store_account_get_by_id(j->store, j->account_id, &a);
	if (j->err != STORE_OK)
		return;
	const struct smtp_server *srv = j->s->srv;
	struct imap_url u;
	const char *why;
	j->parsed = imap_url_parse(j->url, j->len, &u, &why) == 0;
	if (j->parsed) {
		/* a relative URL names no server: refused as unauthorized */
		j->foreign = u.absolute && !url_is_ours(srv, &u);
		j->granted = u.absolute && url_grants_submit(&u, a.address);
		imap_url_clear(&u);
	}
	if (j->parsed && !j->foreign && j->granted)
		j->err = store_urlauth_resolve(j->store, j->url, j->len, a.address,
					       (int64_t)time(NULL), &j->m);
	store_account_clear(&a);
}

/* The reply for a resolve that gave no content, or NULL when it did. */
static const char *resolve_refusal(struct smtp_session *s, struct burl_job *j)
{
	if (j->err != STORE_OK && j->err != STORE_EINVAL && j->err != STORE_EPERM &&
	    j->err != STORE_ENOTFOUND) {
		conn_log(s->conn, LOG_WARN, "burl: resolve failed: %s", store_strerror(j->err));
		return "451 4.3.0 Cannot resolve the URL now, try again later";
	}
	if (j->parsed && j->foreign) {
		/* RFC 4468 6 (5.7.8, renumbered 5.7.14 by its errata): we
		 * resolve URLs of our own store only */
		conn_log(s->conn, LOG_WARN, "burl refused user=%s: URL of another server",
			 s->auth_user);
		return "554 5.7.14 URL resolution requires trust relationship";
	}
	if (!j->parsed || !j->granted || j->err == STORE_EINVAL || j->err == STORE_EPERM) {
		conn_log(s->conn, LOG_WARN, "burl refused user=%s: %s", s->auth_user,
			 !j->parsed	  ? "not an IMAP URL"
			 : !j->granted ? "no URLAUTH for submit+ of this user"
				       : store_strerror(j->err));
		return "554 5.7.0 IMAP URL authorization failed";
	}
	if (j->err == STORE_ENOTFOUND)
		return "554 5.6.6 IMAP URL resolution failed: message content not available";
	if (j->m.url.section != NULL)
		return "554 5.6.6 BURL of a ;SECTION= part is not supported"; /* not a message */
	return NULL;
}

/* Event loop: append the content, or refuse and end the transaction. */
static void resolve_done(void *ctx)
{
	struct burl_job *j = ctx;
	struct smtp_session *s = j->s;
	s->storing = false;
	if (s->closed) {
		smtp_session_free(s);
	} else {
		const char *refusal = resolve_refusal(s, j);
		const char *p = j->m.data;
		size_t n = j->m.len;
		if (refusal == NULL && j->m.url.partial) {
			size_t start = j->m.url.partial_start < n ? j->m.url.partial_start : n;
			n -= start;
			p += start;
			if (j->m.url.partial_len != 0 && j->m.url.partial_len < n)
				n = j->m.url.partial_len;
		}
		if (refusal == NULL && n > 0 && memchr(p, '\0', n) != NULL)
			refusal = "554 5.6.3 Message content is binary (BINARYMIME not offered)";
		if (refusal != NULL) {
			/* RFC 4468 3.2: "If the URL fetch fails, the server
			 * will fail the entire transaction." A temporary
			 * failure too: what came before is gone either way. */
			smtp_txn_reset(s);
			smtp_reply_error(s, "%s", refusal);
		} else {
			conn_log(s->conn, LOG_INFO, "burl user=%s bytes=%zu%s", s->auth_user, n,
				 j->last ? " last" : "");
			smtp_data_chunk(s, p, n, j->last); /* LAST may start storing */
		}
		if (!s->storing && !s->quitting && s->conn != NULL)
			conn_resume(s->conn);
	}
	store_urlauth_message_clear(&j->m);
	free(j->url);
	free(j);
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
		/* RFC 4468 3.2: no recipient, no resolution */
		smtp_reply_error(s, "554 5.5.0 No recipients have been specified");
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
	struct burl_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->store = s->srv->store;
	j->account_id = s->account_id;
	j->url = xstrndup(url, len);
	j->len = len;
	j->last = last;
	/* the message may be large: read it off the event loop */
	s->storing = true;
	conn_pause(s->conn);
	workers_submit_read((uint64_t)s->account_id, resolve_work, resolve_done, j);
}
