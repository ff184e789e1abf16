/*
 * smtp-mxauth: SPF, DKIM and DMARC of mail received as the MX, and the
 * Authentication-Results header (RFC 8601) that reports them.
 *
 * At the end of data the session stays paused (as for a store op) while
 * one job runs on a net-pool worker (lib/workers.h): SPF check_host() of the client IP and
 * MAIL FROM (HELO for the null sender), the DKIM signatures, the DMARC
 * policy of the From domain, all through dns-sync.h with one deadline
 * (smtp.auth_check_timeout: a lookup still unanswered then is a
 * temperror, and the mail is accepted). The worker also removes the
 * message's Authentication-Results fields that claim our authserv-id
 * (server.hostname, RFC 8601 5) and prepends ours; the message bytes are
 * the worker's alone while the session waits. SPF runs here rather than
 * at MAIL FROM so one job holds all the lookups and the session has one
 * wait, at a point where it is paused anyway.
 *
 * DMARC failures of a domain asking for reject are refused with 550 5.7.1
 * when smtp.dmarc_policy = enforce; quarantine files the message into the
 * recipients' \Junk mailbox (smtp_mxauth_file), INBOX when they have none,
 * the header saying why either way.
 */
#include "smtp/smtp-session.h"
#include "dkim/dkim.h"
#include "dmarc/dmarc.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/workers.h"
#include "mail/address.h"
#include "mail/auth-results.h"
#include "mail/header-field.h"
#include "spf/spf.h"
#include "store/store-auth.h"
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct mxauth_job {
	struct smtp_session *s;
	/* in (copies: the worker must not read the session) */
	char *ip, *helo, *mail_from, *authserv_id;
	struct buf *data;	/* the session's message, the worker's meanwhile */
	int64_t timeout_ms;
	bool enforce;
	/* out */
	bool reject, quarantine;
	const char *spf_res, *dkim_res, *dmarc_res; /* static names */
	char *log;
};

static void lower(char *p)
{
	for (; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
}

/* The domain of the From: field's one address (RFC 7489 6.6.1), or NULL;
 * *multiple_r when there are several fields or addresses. */
static char *from_domain(const char *msg, size_t len, bool *multiple_r)
{
	unsigned count = 0;
	char *v = header_field_get(msg, len, "from", &count);
	*multiple_r = count > 1;
	if (v == NULL)
		return NULL;
	char *clean = address_strip_comments(v);
	if (clean != NULL) {
		free(v);
		v = clean;
	}
	const char *addr = v;
	char *lt = strchr(v, '<');
	if (lt != NULL) {
		if (strchr(lt + 1, '<') != NULL)
			*multiple_r = true;
		addr = lt + 1;
		char *gt = strchr(lt, '>');
		if (gt != NULL)
			*gt = '\0';
	} else if (strchr(v, ',') != NULL) {
		*multiple_r = true;
	}
	const char *at = strrchr(addr, '@');
	char *dom = NULL;
	if (at != NULL) {
		size_t n = strcspn(at + 1, " \t\r\n>;,");
		if (n > 0 && n < 254)
			dom = xstrndup(at + 1, n);
	}
	free(v);
	if (dom != NULL)
		lower(dom);
	return dom;
}

static void mxauth_work(void *ctx)
{
	struct mxauth_job *j = ctx;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += j->timeout_ms / 1000;
	deadline.tv_nsec += (j->timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000)
		deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
	struct dns_resolver dns = dns_sync_resolver(&deadline);

	/* RFC 8601 5: nobody outside may speak in our name */
	struct buf *d = j->data;
	size_t removed = 0;
	if (d->data != NULL)
		d->len = auth_results_strip(d->data, d->len, j->authserv_id, &removed);
	const char *msg = d->data != NULL ? d->data : "";

	/* SPF (RFC 7208 2.4: MAIL FROM, or postmaster@HELO for <>) */
	struct auth_results_entry e[2 + DKIM_VERIFY_MAX_SIGS];
	size_t ne = 0;
	char *sender = *j->mail_from != '\0' ? xstrdup(j->mail_from)
					       : xasprintf("postmaster@%s", j->helo);
	const char *at = strrchr(sender, '@');
	char *spf_domain = xstrdup(at != NULL ? at + 1 : j->helo);
	lower(spf_domain);
	struct spf_request req = {.ip = j->ip, .sender = sender, .helo = j->helo};
	char *spf_why = NULL;
	enum spf_result spf = spf_check(&dns, &req, spf_domain, &spf_why);
	e[ne++] = (struct auth_results_entry){
		.method = "spf",
		.result = spf_result_name(spf),
		.reason = spf_why,
		.props = {{*j->mail_from != '\0' ? "smtp.mailfrom" : "smtp.helo",
			   *j->mail_from != '\0' ? j->mail_from : j->helo}},
	};

	/* DKIM */
	struct dkim_verify_result *dk = xcalloc(1, sizeof(*dk));
	dkim_verify(&dns, msg, d->len, time(NULL), dk);
	struct dmarc_input din = {.spf_pass = spf == SPF_PASS, .spf_domain = spf_domain};
	char dkim_none[] = "none";
	if (dk->n == 0)
		e[ne++] = (struct auth_results_entry){.method = "dkim", .result = dkim_none};
	char bprops[DKIM_VERIFY_MAX_SIGS][12];
	for (size_t i = 0; i < dk->n; i++) {
		const struct dkim_sig_result *r = &dk->sigs[i];
		snprintf(bprops[i], sizeof(bprops[i]), "%s", r->b_prefix);
		e[ne++] = (struct auth_results_entry){
			.method = "dkim",
			.result = dkim_result_name(r->result),
			.reason = r->why,
			.props = {{"header.d", r->domain},
				  {"header.s", r->selector},
				  {"header.b", r->b_prefix[0] ? bprops[i] : NULL}},
		};
		if (r->result == DKIM_PASS && din.ndkim < DMARC_MAX_DKIM_DOMAINS)
			din.dkim_pass[din.ndkim++] = r->domain;
	}

	/* DMARC */
	din.from_domain = from_domain(msg, d->len, &din.from_multiple);
	unsigned char rnd = 0;
	RAND_bytes(&rnd, 1);
	struct dmarc_outcome dm;
	dmarc_check(&dns, &din, rnd % 100, &dm);
	char dmarc_why[200];
	snprintf(dmarc_why, sizeof(dmarc_why), "%s%s", dm.why,
		 dm.apply && dm.policy == DMARC_P_QUARANTINE ? ", quarantined" : "");
	struct auth_results_entry *de = &e[ne++];
	*de = (struct auth_results_entry){
		.method = "dmarc",
		.result = dmarc_result_name(dm.result),
		.reason = dmarc_why,
		.props = {{"header.from", (char *)din.from_domain}},
	};
	j->reject = j->enforce && dm.apply && dm.policy == DMARC_P_REJECT;
	j->quarantine = j->enforce && dm.apply && dm.policy == DMARC_P_QUARANTINE;

	j->spf_res = spf_result_name(spf);
	j->dkim_res = dk->n == 0 ? "none" : dkim_result_name(dk->sigs[0].result);
	j->dmarc_res = dmarc_result_name(dm.result);
	char *hdr = auth_results_header(j->authserv_id, e, ne);
	j->log = xasprintf("spf=%s dkim=%s dmarc=%s%s removed_ar=%zu", spf_result_name(spf),
			   dk->n == 0 ? "none" : dkim_result_name(dk->sigs[0].result),
			   dmarc_result_name(dm.result),
			   j->reject ? " (reject)" : j->quarantine ? " (quarantine)" : "", removed);
	/* prepend: the buffer may grow past the client's maximum by our
	 * header only */
	struct buf nb;
	buf_init(&nb, d->max + strlen(hdr) + 1);
	buf_puts(&nb, hdr);
	buf_append(&nb, msg, d->len);
	buf_free(d);
	*d = nb;
	free(hdr);
	free((char *)din.from_domain);
	dkim_verify_result_clear(dk);
	free(dk);
	free(spf_why);
	free(spf_domain);
	free(sender);
}

static void job_free(struct mxauth_job *j)
{
	free(j->ip);
	free(j->helo);
	free(j->mail_from);
	free(j->authserv_id);
	free(j->log);
	free(j);
}

static void mxauth_done(void *ctx)
{
	struct mxauth_job *j = ctx;
	struct smtp_session *s = j->s;
	struct smtp_txn *t = &s->txn;
	s->storing = false;
	if (s->closed) {
		smtp_session_free(s);
		job_free(j);
		return;
	}
	conn_log(s->conn, LOG_INFO, "auth id=%s %s", t->id, j->log);
	metrics_inc("roost_mx_auth_total", "spf", j->spf_res);
	metrics_inc("roost_mx_auth_total", "dkim", j->dkim_res);
	metrics_inc("roost_mx_auth_total", "dmarc", j->dmarc_res);
	t->mxauth_done = true;
	t->mxauth_quarantine = j->quarantine;
	bool reject = j->reject;
	job_free(j);
	if (reject) {
		/* RFC 7489 6.7 / 10.3: the reply names DMARC */
		smtp_deliver_refuse(s, "550 5.7.1 Message rejected: the From domain's DMARC policy");
		if (!s->quitting)
			conn_resume(s->conn);
		return;
	}
	/* smtp_deliver_start() pauses again at once when it stores; the
	 * paths that reply without storing need the input back */
	conn_resume(s->conn);
	smtp_deliver_start(s);
}

bool smtp_mxauth_start(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	const struct smtp_server *srv = s->srv;
	if (srv->submission || !srv->authenticate || t->mxauth_done)
		return false;
	struct mxauth_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->ip = xstrdup(conn_remote_ip(s->conn));
	j->helo = xstrdup(s->helo != NULL ? s->helo : "");
	j->mail_from = xstrdup(t->mail_from != NULL ? t->mail_from : "");
	j->authserv_id = xstrdup(srv->hostname);
	j->data = &t->data;
	j->timeout_ms = srv->auth_check_timeout_ms;
	j->enforce = srv->dmarc_enforce;
	s->storing = true;
	conn_pause(s->conn);
	workers_submit_net(mxauth_work, mxauth_done, j);
	return true;
}

void smtp_mxauth_file(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	if (!t->mxauth_quarantine)
		return;
	struct store_op *op = &t->d.op;
	for (size_t i = 0; i < op->u.deliver.ntargets; i++) {
		struct store_target *tg = &op->u.deliver.targets[i];
		if (tg->mailbox_name != NULL)
			continue; /* the user's own Sieve rule filed it: it wins */
		int64_t mailbox_id = 0;
		uint32_t uidvalidity;
		enum store_err err = store_mailbox_special(s->srv->store, tg->account_id, "\\Junk",
							   &mailbox_id, &uidvalidity);
		if (err == STORE_OK)
			tg->mailbox_id = mailbox_id;
		else if (err != STORE_ENOTFOUND)
			conn_log(s->conn, LOG_WARN, "id=%s no Junk mailbox: %s", t->id,
				 store_strerror(err));
	}
}
