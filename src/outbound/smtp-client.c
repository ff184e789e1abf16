/*
 * smtp-client: one outbound SMTP session to a destination (RFC 5321),
 * on libevent bufferevents. It tries the route's addresses in preference
 * order until one greets with 220 and accepts EHLO (HELO as a fallback),
 * upgrades with STARTTLS when offered (opportunistic, RFC 3207; the
 * certificate is checked and the result logged, not required), then sends
 * the destination's jobs one after another over the same connection (RSET
 * between them), using SIZE, 8BITMIME, SMTPUTF8, DSN and PIPELINING as
 * the peer offers them (RFC 1870, 6152, 6531, 3461, 2920).
 *
 * A hostile peer cannot grow memory or stall the loop: a reply line is at
 * most OB_REPLY_LINE_MAX octets and a reply OB_REPLY_MAX_LINES lines (the
 * socket is not read past one line), and every wait has a deadline that
 * input does not reset (RFC 5321 4.5.3.2 timeouts), so a peer trickling a
 * byte at a time is dropped like one that never answers.
 */
#include "outbound/outbound-private.h"
#include "outbound/dsn.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/workers.h"
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with CRLF. We
 * accept a little more (some servers exceed it), never unbounded. */
#define OB_REPLY_LINE_MAX 2048
/* Lines of one multi-line reply (EHLO lists a dozen). */
#define OB_REPLY_MAX_LINES 100
/* Reply text kept for logs, queue list and DSNs. */
#define OB_REPLY_TEXT_MAX 512
/* How long a connected session with nothing to send waits for the next
 * message to its destination before QUIT (a connection cache, as
 * Postfix's smtp_connection_cache_time_limit; saves a TCP, TLS and EHLO
 * setup per message when mail for one domain trickles in). */
#define OB_IDLE_MS 2000

enum ob_state {
	OB_CONNECTING,
	OB_GREETING,
	OB_EHLO,
	OB_HELO,
	OB_STARTTLS,
	OB_TLS_HANDSHAKE,
	OB_READING,	/* the job's message bytes are read on a worker */
	OB_TXN,		/* MAIL, RCPT..., DATA replies */
	OB_BODY,	/* waiting for the reply to the final dot */
	OB_RSET,
	OB_IDLE,	/* connected, waiting for a job (on dest->idle) */
	OB_QUIT,
};

struct ob_addr {
	const char *host;
	const struct dns_host *dns;	/* its route entry: TLSA records */
	const struct sockaddr_storage *sa;
	socklen_t len;
};

struct ob_session {
	struct event_base *base;
	const struct ob_settings *set;
	SSL_CTX *tls_ctx;	/* NULL: no STARTTLS (outbound.starttls = no) */
	SSL_CTX *tls_any;	/* for what requires TLS all the same */
	struct store *store;
	struct ob_dest *dest;
	struct bufferevent *bev;
	struct event *deadline;
	enum ob_state state;
	char id[24];
	/* addresses of the route, in order */
	struct ob_addr *addrs;
	size_t naddrs, next_addr;
	const char *host;	/* of the current connection */
	const struct dns_host *host_dns;
	bool dane;		/* this TLS session is checked against TLSA records */
	char ip[INET6_ADDRSTRLEN];
	bool connected;		/* some server accepted EHLO/HELO */
	bool tls;
	bool cert_ok;		/* the TLS peer's certificate verified for `host` */
	/* EHLO keywords */
	bool ext_pipelining, ext_8bitmime, ext_smtputf8, ext_dsn, ext_starttls, ext_size;
	bool ext_requiretls;
	uint64_t max_size;
	/* the reply being read */
	int reply_code;
	size_t reply_lines;
	struct buf reply;
	/* the current job */
	struct ob_job *job;
	/* the last job, its results not yet committed. The next message
	 * goes out meanwhile (commands and body) but its final dot waits
	 * for them, so a crash can repeat at most one message per session
	 * (RFC 5321 6.1 allows the duplicate; more would be ours) and the
	 * commit's wait hides behind the next transaction's round trips */
	struct ob_job *recording;
	bool dot_held;		/* OB_BODY: the body is out, its dot is not */
	char *data;
	size_t len;
	size_t ncmds, nsent, nreplied;	/* MAIL + RCPTs + DATA */
	size_t naccepted;
	bool mail_ok;
	int messages;
	char *fail_reason;
	/* inside a callback: a free waits until it returns */
	int in_cb;
	bool free_pending;
	char *free_error;
	bool started;	/* the first connect runs from the loop, not the caller */
	struct ob_session *idle_next;	/* on dest->idle */
};

/* A job's message bytes being read on a worker (start_job). */
struct ob_read {
	struct ob_session *ss;
	struct store *store;
	int64_t queue_id;
	enum store_err err;
	char *data;
	size_t len;
};

static void session_next_addr(struct ob_session *ss);
static void conn_failed(struct ob_session *ss, const char *why);
static void read_work(void *ctx);
static void read_done(void *ctx);
static void session_next_job(struct ob_session *ss);
static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void set_deadline(struct ob_session *ss, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
	evtimer_add(ss->deadline, &tv);
}

static void drop_connection(struct ob_session *ss)
{
	if (ss->bev != NULL) {
		bufferevent_free(ss->bev);
		ss->bev = NULL;
	}
	evtimer_del(ss->deadline);
	ss->tls = ss->cert_ok = false;
}

static void idle_remove(struct ob_session *ss)
{
	for (struct ob_session **p = &ss->dest->idle; *p != NULL; p = &(*p)->idle_next)
		if (*p == ss) {
			*p = ss->idle_next;
			break;
		}
	ss->idle_next = NULL;
}

static void session_really_free(struct ob_session *ss, const char *error)
{
	if (ss->state == OB_IDLE)
		idle_remove(ss);
	if (ss->recording != NULL)
		ss->recording->recorded = NULL;	/* nobody waits any more */
	drop_connection(ss);
	if (ss->job != NULL) {
		ob_job_fail_rest(ss->job, false, "4.4.2", error != NULL ? error : "session ended");
		ob_job_finished(ss->job);
		ss->job = NULL;
	}
	struct ob_dest *d = ss->dest;
	bool connected = ss->connected;
	event_free(ss->deadline);
	buf_free(&ss->reply);
	free(ss->data);
	free(ss->addrs);
	char *why = xstrdup(error != NULL ? error : "no usable mail host");
	free(ss->fail_reason);
	free(ss->free_error);
	free(ss);
	ob_session_ended(d, connected, why);
	free(why);
}

static void session_free(struct ob_session *ss, const char *error)
{
	if (ss->in_cb > 0) {
		if (!ss->free_pending && error != NULL)
			ss->free_error = xstrdup(error);
		ss->free_pending = true;
		return;
	}
	session_really_free(ss, error);
}

static void cb_enter(struct ob_session *ss)
{
	ss->in_cb++;
}

/* false when the session is gone */
static bool cb_leave(struct ob_session *ss)
{
	if (--ss->in_cb == 0 && ss->free_pending) {
		session_really_free(ss, ss->free_error);
		return false;
	}
	return true;
}

/* RFC 7672 2.2: the host published secure TLSA records, so TLS is
 * required; authenticated against them when some are usable. */
static bool dane_required(const struct ob_session *ss)
{
	return !ss->dest->tls_optional && ss->host_dns != NULL &&
	       ss->host_dns->dane == DNS_DANE_ON;
}

/* RFC 8461 5: the destination's policy demands TLS (enforce) or wants
 * failures reported (testing). */
static enum mta_sts_mode sts_mode(const struct ob_session *ss)
{
	return ss->dest->sts != NULL ? ss->dest->sts->mode : MTA_STS_NONE;
}

/* A policy check failed: with enforce the connection is not used (true),
 * with testing it is logged and delivery goes on (false). */
static bool sts_violation(struct ob_session *ss, const char *why)
{
	if (sts_mode(ss) == MTA_STS_TESTING) {
		log_warn("outbound session=%s host=%s: MTA-STS policy of %s (testing) not met: %s; "
			 "delivering anyway", ss->id, ss->host, ss->dest->domain, why);
		return false;
	}
	char *msg = xasprintf("MTA-STS policy of %s (enforce): %s", ss->dest->domain, why);
	log_warn("outbound session=%s host=%s: %s", ss->id, ss->host, msg);
	conn_failed(ss, msg);
	free(msg);
	return true;
}

static void sendf(struct ob_session *ss, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(struct ob_session *ss, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(ss->bev), fmt, ap);
	va_end(ap);
}

/* This connection is unusable: try the next address, or give up. */
static void conn_failed(struct ob_session *ss, const char *why)
{
	log_info("outbound session=%s host=%s ip=%s: %s", ss->id, ss->host != NULL ? ss->host : "-",
		 ss->ip, why);
	free(ss->fail_reason);
	ss->fail_reason = xasprintf("%s[%s]: %s", ss->host != NULL ? ss->host : "?", ss->ip, why);
	if (ss->job != NULL) {
		/* mid-transaction: this job is retried later; the rest may go
		 * over another connection */
		ob_job_fail_rest(ss->job, false, "4.4.2", ss->fail_reason);
		ob_job_finished(ss->job);
		ss->job = NULL;
		free(ss->data);
		ss->data = NULL;
	}
	drop_connection(ss);
	if (ss->connected) {
		/* it worked once: end here, the scheduler starts another */
		session_free(ss, ss->fail_reason);
		return;
	}
	session_next_addr(ss);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ob_session *ss = arg;
	if (!ss->started) {
		ss->started = true;
		session_next_addr(ss);
		return;
	}
	if (ss->state == OB_QUIT) {
		session_free(ss, NULL);
		return;
	}
	if (ss->state == OB_IDLE) {
		/* nothing more came for this destination */
		idle_remove(ss);
		ss->state = OB_QUIT;
		sendf(ss, "QUIT\r\n");
		set_deadline(ss, ss->set->command_ms < 10000 ? ss->set->command_ms : 10000);
		return;
	}
	conn_failed(ss, ss->state == OB_CONNECTING ? "connection timed out" : "timeout waiting for the reply");
}

static void attach(struct ob_session *ss, struct bufferevent *bev)
{
	ss->bev = bev;
	bufferevent_setcb(bev, on_read, NULL, on_event, ss);
	/* never buffer more than one line beyond what we parse */
	bufferevent_setwatermark(bev, EV_READ, 0, OB_REPLY_LINE_MAX + 2);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void session_next_addr(struct ob_session *ss)
{
	while (ss->next_addr < ss->naddrs) {
		struct ob_addr *a = &ss->addrs[ss->next_addr++];
		ss->host = a->host;
		ss->host_dns = a->dns;
		ss->dane = false;
		const void *ip = a->sa->ss_family == AF_INET6 ?
					 (const void *)&((const struct sockaddr_in6 *)a->sa)->sin6_addr :
					 (const void *)&((const struct sockaddr_in *)a->sa)->sin_addr;
		inet_ntop(a->sa->ss_family, ip, ss->ip, sizeof(ss->ip));
		struct bufferevent *bev = bufferevent_socket_new(ss->base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			continue;
		attach(ss, bev);
		ss->state = OB_CONNECTING;
		ss->ext_pipelining = ss->ext_8bitmime = ss->ext_smtputf8 = false;
		ss->ext_dsn = ss->ext_starttls = ss->ext_size = ss->ext_requiretls = false;
		ss->max_size = 0;
		set_deadline(ss, ss->set->connect_ms);
		if (bufferevent_socket_connect(bev, (const struct sockaddr *)a->sa, (int)a->len) < 0) {
			drop_connection(ss);
			continue;
		}
		/* every write is a whole command group, a body or a held dot:
		 * none of them may wait for the peer's delayed ACK (Nagle) */
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return;
	}
	session_free(ss, ss->fail_reason != NULL ? ss->fail_reason : "no address to connect to");
}

static void send_ehlo(struct ob_session *ss)
{
	ss->state = OB_EHLO;
	sendf(ss, "EHLO %s\r\n", ss->set->hostname);
	set_deadline(ss, ss->set->command_ms);
}

static void ehlo_keyword(struct ob_session *ss, const char *kw)
{
	if (strcasecmp(kw, "PIPELINING") == 0)
		ss->ext_pipelining = true;
	else if (strcasecmp(kw, "8BITMIME") == 0)
		ss->ext_8bitmime = true;
	else if (strcasecmp(kw, "SMTPUTF8") == 0)
		ss->ext_smtputf8 = true;
	else if (strcasecmp(kw, "DSN") == 0)
		ss->ext_dsn = true;
	else if (strcasecmp(kw, "STARTTLS") == 0)
		ss->ext_starttls = true;
	else if (strcasecmp(kw, "REQUIRETLS") == 0)
		ss->ext_requiretls = true;
	else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' ')) {
		ss->ext_size = true;
		ss->max_size = kw[4] == ' ' ? strtoull(kw + 5, NULL, 10) : 0;
	}
}

static void start_tls(struct ob_session *ss)
{
	SSL *ssl = SSL_new(ss->tls_ctx != NULL ? ss->tls_ctx : ss->tls_any);
	if (ssl == NULL) {
		conn_failed(ss, "cannot create a TLS session");
		return;
	}
	/* SNI: the MX host name (RFC 6066 3; RFC 7672 8.1 for DANE) */
	SSL_set_tlsext_host_name(ssl, ss->host);
	ss->dane = false;
	if (dane_required(ss) && ss->host_dns->ntlsa > 0 && SSL_dane_enable(ssl, ss->host) > 0) {
		/* RFC 7672 3.1.1: DANE-EE(3) names no host; DANE-TA(2) checks
		 * the MX name, which SSL_dane_enable() set as the reference */
		SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		for (size_t i = 0; i < ss->host_dns->ntlsa; i++) {
			const struct dns_tlsa *t = &ss->host_dns->tlsa[i];
			if (SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->len) > 0)
				ss->dane = true;
		}
	}
	if (!ss->dane)
		SSL_set1_host(ssl, ss->host);
	struct bufferevent *under = ss->bev;
	bufferevent_setcb(under, NULL, NULL, NULL, NULL);
	/* RFC 3207 5: plaintext after the 220 is an injection, never TLS */
	struct evbuffer *pending = bufferevent_get_input(under);
	evbuffer_drain(pending, evbuffer_get_length(pending));
	struct bufferevent *f = bufferevent_openssl_filter_new(ss->base, under, ssl,
							       BUFFEREVENT_SSL_CONNECTING,
							       BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL) {
		SSL_free(ssl);
		conn_failed(ss, "cannot start TLS");
		return;
	}
	attach(ss, f);
	ss->state = OB_TLS_HANDSHAKE;
	set_deadline(ss, ss->set->command_ms);
}

static void tls_ready(struct ob_session *ss)
{
	SSL *ssl = bufferevent_openssl_get_ssl(ss->bev);
	long v = SSL_get_verify_result(ssl);
	log_info("outbound session=%s host=%s: TLS %s %s, certificate %s", ss->id, ss->host,
		 SSL_get_version(ssl), SSL_get_cipher_name(ssl),
		 v == X509_V_OK ? "verified" : X509_verify_cert_error_string(v));
	ss->tls = true;
	ss->cert_ok = v == X509_V_OK;
	if (ss->dane) {
		/* RFC 7672 3: the TLSA records decide; MTA-STS does not apply */
		uint8_t usage = 0;
		if (v != X509_V_OK || SSL_get0_dane_tlsa(ssl, &usage, NULL, NULL, NULL, NULL) < 0) {
			char *why = xasprintf("DANE: the certificate of %s matches no TLSA record (%s)",
					      ss->host, X509_verify_cert_error_string(v));
			log_warn("outbound session=%s host=%s: %s", ss->id, ss->host, why);
			conn_failed(ss, why);
			free(why);
			return;
		}
		log_info("outbound session=%s host=%s: DANE: the certificate matches a %s TLSA "
			 "record", ss->id, ss->host, usage == 3 ? "DANE-EE" : "DANE-TA");
		send_ehlo(ss);
		return;
	}
	if (v != X509_V_OK && sts_mode(ss) != MTA_STS_NONE) {
		char *why = xasprintf("the certificate is not valid for %s: %s", ss->host,
				      X509_verify_cert_error_string(v));
		bool stop = sts_violation(ss, why);
		free(why);
		if (stop)
			return;
	}
	send_ehlo(ss);
}

/* xtext (RFC 3461 4): '+', '=' and anything outside '!'..'~' as +XX */
static void put_xtext(struct ob_session *ss, const char *s)
{
	struct evbuffer *out = bufferevent_get_output(ss->bev);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < '!' || *p > '~' || *p == '+' || *p == '=')
			evbuffer_add_printf(out, "+%02X", *p);
		else
			evbuffer_add(out, p, 1);
	}
}

static bool has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

static void send_cmd(struct ob_session *ss, size_t i)
{
	struct ob_job *job = ss->job;
	if (i == 0) {
		sendf(ss, "MAIL FROM:<%s>", job->return_path);
		if (ss->ext_size)
			sendf(ss, " SIZE=%zu", ss->len);
		if (ss->ext_8bitmime && has_8bit(ss->data, ss->len))
			sendf(ss, " BODY=8BITMIME");
		bool utf8 = has_8bit(job->return_path, strlen(job->return_path));
		for (size_t k = 0; k < job->nrcpts; k++)
			utf8 |= has_8bit(job->rcpts[k].address, strlen(job->rcpts[k].address));
		if (utf8 && ss->ext_smtputf8)
			sendf(ss, " SMTPUTF8");
		if (job->requiretls)
			sendf(ss, " REQUIRETLS");	/* checked by start_job */
		if (ss->ext_dsn) {
			sendf(ss, " RET=%s", job->ret_full ? "FULL" : "HDRS");
			if (job->envid != NULL) {
				sendf(ss, " ENVID=");
				put_xtext(ss, job->envid);
			}
		}
		sendf(ss, "\r\n");
	} else if (i <= job->nrcpts) {
		struct ob_rcpt *r = &job->rcpts[i - 1];
		sendf(ss, "RCPT TO:<%s>", r->address);
		if (ss->ext_dsn && r->notify != 0) {
			if (r->notify & STORE_QUEUE_NOTIFY_NEVER) {
				sendf(ss, " NOTIFY=NEVER");
			} else {
				const char *sep = " NOTIFY=";
				static const struct {
					unsigned bit;
					const char *name;
				} names[] = {{STORE_QUEUE_NOTIFY_SUCCESS, "SUCCESS"},
					     {STORE_QUEUE_NOTIFY_FAILURE, "FAILURE"},
					     {STORE_QUEUE_NOTIFY_DELAY, "DELAY"}};
				for (size_t k = 0; k < 3; k++)
					if (r->notify & names[k].bit) {
						sendf(ss, "%s%s", sep, names[k].name);
						sep = ",";
					}
			}
		}
		if (ss->ext_dsn && r->orcpt != NULL) {
			/* stored as "type;address" */
			const char *semi = strchr(r->orcpt, ';');
			if (semi != NULL) {
				sendf(ss, " ORCPT=%.*s;", (int)(semi - r->orcpt), r->orcpt);
				put_xtext(ss, semi + 1);
			}
		}
		sendf(ss, "\r\n");
	} else {
		sendf(ss, "DATA\r\n");
	}
	ss->nsent++;
}

/* Queue the message, dot-stuffed (RFC 5321 4.5.2), every line CRLF. */
static void send_body(struct ob_session *ss)
{
	struct evbuffer *out = bufferevent_get_output(ss->bev);
	const char *p = ss->data;
	size_t n = ss->len, start = 0;
	bool bol = true;
	for (size_t i = 0; i < n; i++) {
		if (bol && p[i] == '.')
			evbuffer_add(out, ".", 1);
		bol = false;
		if (p[i] == '\n') {
			size_t end = i > start && p[i - 1] == '\r' ? i - 1 : i;
			evbuffer_add(out, p + start, end - start);
			evbuffer_add(out, "\r\n", 2);
			start = i + 1;
			bol = true;
		}
	}
	if (start < n) {
		evbuffer_add(out, p + start, n - start);
		evbuffer_add(out, "\r\n", 2);
	}
	if (ss->recording != NULL)
		ss->dot_held = true;	/* sent by job_recorded */
	else
		evbuffer_add(out, ".\r\n", 3);
	ss->state = OB_BODY;
	set_deadline(ss, ss->set->data_ms);
}

static void rcpt_result(struct ob_session *ss, struct ob_rcpt *r, int code, const char *text)
{
	r->tried = true;
	r->remote = true;
	free(r->reply);
	r->reply = xstrdup(text);
	dsn_status_of_reply(text, r->status_code, sizeof(r->status_code));
	if (code >= 200 && code < 300) {
		r->status = STORE_QUEUE_SENT;
		r->relayed = !ss->ext_dsn;
	} else if (code >= 500) {
		r->status = STORE_QUEUE_FAILED;
	} else {
		r->status = STORE_QUEUE_PENDING;
	}
}

/* The last message's results are on disk: the next one may be taken. */
static void job_recorded(void *arg)
{
	struct ob_session *ss = arg;
	ss->recording = NULL;
	if (ss->dot_held) {
		ss->dot_held = false;
		sendf(ss, ".\r\n");
		set_deadline(ss, ss->set->data_ms);
	}
}

/* The job's transaction is over. clean: it ended with the reply to the
 * final dot, after which the server has reset its state (RFC 5321
 * 4.1.1.4), so the next MAIL follows at once; after a refused MAIL, RCPTs
 * or DATA an RSET comes first. */
static void job_done(struct ob_session *ss, bool clean)
{
	struct ob_job *job = ss->job;
	ss->job = NULL;
	free(job->mx_host);
	job->mx_host = xstrdup(ss->host);
	free(ss->data);
	ss->data = NULL;
	job->recorded = job_recorded;
	job->recorded_arg = ss;
	/* set first: should the results ever be recorded at once, the
	 * callback clears it before ob_job_finished returns */
	ss->recording = job;
	if (!ob_job_finished(job))
		ss->recording = NULL;	/* shutting down: freed, nothing to wait for */
	ss->messages++;
	if (clean) {
		session_next_job(ss);
		return;
	}
	ss->state = OB_RSET;
	sendf(ss, "RSET\r\n");
	set_deadline(ss, ss->set->command_ms);
}

/* RFC 8689 4.1: may a REQUIRETLS message go over this connection? NULL
 * if so, else why not (caller frees), *permanent when retrying this
 * host cannot help: the MX host must come from a DNSSEC-validated answer
 * or be named by the destination's MTA-STS policy, the session must be
 * TLS with a certificate valid for that name, and the peer must offer
 * REQUIRETLS itself (so it keeps the promise on its next hop). */
static char *requiretls_refusal(const struct ob_session *ss, bool *permanent)
{
	*permanent = true;
	if (!ss->tls) {
		*permanent = !ss->ext_starttls;
		return xasprintf("%s %s", ss->host,
				 ss->ext_starttls ? "could not set up TLS" : "does not offer STARTTLS");
	}
	if (!ss->cert_ok) {
		*permanent = false;	/* a certificate gets fixed */
		return xasprintf("the certificate of %s is not valid for that name", ss->host);
	}
	bool mx_trusted = (ss->dest->route != NULL && ss->dest->route->secure) ||
			  (ss->dest->sts != NULL && mta_sts_mx_match(ss->dest->sts, ss->host));
	if (!mx_trusted)
		return xasprintf("%s is neither from a DNSSEC-validated MX answer nor named by "
				 "an MTA-STS policy of %s", ss->host, ss->dest->domain);
	if (!ss->ext_requiretls)
		return xasprintf("%s does not offer REQUIRETLS", ss->host);
	return NULL;
}

/* Does any job waiting for this destination need REQUIRETLS? Then a
 * session tries STARTTLS even where it would otherwise go without. */
static bool dest_wants_requiretls(const struct ob_dest *d)
{
	for (const struct ob_job *j = d->head; j != NULL; j = j->next)
		if (j->requiretls)
			return true;
	return false;
}

static void start_job(struct ob_session *ss, struct ob_job *job)
{
	ss->job = job;
	free(job->mx_host);
	job->mx_host = xstrdup(ss->host);
	bool permanent;
	char *refusal = job->requiretls ? requiretls_refusal(ss, &permanent) : NULL;
	if (refusal != NULL) {
		const char *status = permanent ? "5.7.30" : "4.7.5";
		char *why = xasprintf("%s %s REQUIRETLS: %s", permanent ? "550" : "450", status,
				      refusal);
		log_warn("outbound session=%s host=%s queue=%lld: %s", ss->id, ss->host,
			 (long long)job->queue_id, why);
		ob_job_fail_rest(job, permanent, status, why);
		free(why);
		free(refusal);
		ss->job = NULL;
		ob_job_finished(job);
		session_next_job(ss);
		return;
	}
	/* the bytes (up to the message size limit) are read on a worker:
	 * never on the event loop */
	struct ob_read *rd = xcalloc(1, sizeof(*rd));
	rd->ss = ss;
	rd->store = ss->store;
	rd->queue_id = job->queue_id;
	ss->state = OB_READING;
	cb_enter(ss);	/* a free waits for read_done */
	workers_submit_read((uint64_t)job->queue_id, read_work, read_done, rd);
}

/* Worker: the queued message's bytes. */
static void read_work(void *ctx)
{
	struct ob_read *rd = ctx;
	rd->err = store_queue_data(rd->store, rd->queue_id, &rd->data, &rd->len);
}

/* Event loop: the bytes are in; send the transaction. */
static void read_done(void *ctx)
{
	struct ob_read *rd = ctx;
	struct ob_session *ss = rd->ss;
	enum store_err err = rd->err;
	ss->data = rd->data;
	ss->len = rd->len;
	free(rd);
	if (ss->free_pending || ss->state != OB_READING || ss->job == NULL) {
		/* the connection failed meanwhile: the job went back */
		free(ss->data);
		ss->data = NULL;
		cb_leave(ss);
		return;
	}
	struct ob_job *job = ss->job;
	if (err != STORE_OK) {
		/* deleted meanwhile (queue delete), or a read error: retry later */
		ob_job_fail_rest(job, false, "4.3.0",
				 err == STORE_ENOTFOUND ? "removed from the queue" : "queue read failed");
		ss->job = NULL;
		ob_job_finished(job);
		session_next_job(ss);
		cb_leave(ss);
		return;
	}
	if (ss->ext_size && ss->max_size > 0 && ss->len > ss->max_size) {
		char *why = xasprintf("552 5.3.4 message size %zu exceeds the limit %llu of %s",
				      ss->len, (unsigned long long)ss->max_size, ss->host);
		ob_job_fail_rest(job, true, "5.3.4", why);
		free(why);
		ss->job = NULL;
		free(ss->data);
		ss->data = NULL;
		ob_job_finished(job);
		session_next_job(ss);
		cb_leave(ss);
		return;
	}
	ss->ncmds = job->nrcpts + 2;
	ss->nsent = ss->nreplied = ss->naccepted = 0;
	ss->mail_ok = false;
	ss->state = OB_TXN;
	if (ss->ext_pipelining) {
		/* RFC 2920 3.1: MAIL, RCPTs and DATA in one group */
		for (size_t i = 0; i < ss->ncmds; i++)
			send_cmd(ss, i);
	} else {
		send_cmd(ss, 0);
	}
	set_deadline(ss, ss->set->command_ms);
	cb_leave(ss);
}

static void session_next_job(struct ob_session *ss)
{
	struct ob_job *job = NULL;
	if (ss->messages < ss->set->max_messages_per_session)
		job = ob_dest_take_job(ss->dest);
	if (job == NULL && ss->messages < ss->set->max_messages_per_session &&
	    ob_session_may_idle()) {
		ss->state = OB_IDLE;
		ss->idle_next = ss->dest->idle;
		ss->dest->idle = ss;
		set_deadline(ss, OB_IDLE_MS);
		return;
	}
	if (job == NULL) {
		ss->state = OB_QUIT;
		sendf(ss, "QUIT\r\n");
		set_deadline(ss, ss->set->command_ms < 10000 ? ss->set->command_ms : 10000);
		return;
	}
	start_job(ss, job);
}

static void txn_reply(struct ob_session *ss, int code, const char *text)
{
	struct ob_job *job = ss->job;
	size_t i = ss->nreplied++;
	if (i == 0) {
		ss->mail_ok = code >= 200 && code < 300;
		if (!ss->mail_ok)
			ob_job_fail_rest(job, code >= 500, NULL, text);
		else if (!ss->ext_pipelining)
			send_cmd(ss, 1);
	} else if (i <= job->nrcpts) {
		if (ss->mail_ok) {
			rcpt_result(ss, &job->rcpts[i - 1], code, text);
			if (code >= 200 && code < 300) {
				/* accepted: decided at the final dot */
				job->rcpts[i - 1].tried = false;
				ss->naccepted++;
			}
		}
		if (!ss->ext_pipelining && ss->mail_ok) {
			if (i < job->nrcpts)
				send_cmd(ss, i + 1);
			else if (ss->naccepted > 0)
				send_cmd(ss, i + 1);
		}
	} else {
		/* the DATA reply */
		if (code == 354 && ss->naccepted > 0) {
			send_body(ss);
			return;
		}
		if (code == 354) {
			/* RFC 2920 3.1: nothing accepted but DATA went ahead */
			sendf(ss, ".\r\n");
			ss->state = OB_BODY;
			set_deadline(ss, ss->set->data_ms);
			return;
		}
		ob_job_fail_rest(job, code >= 500, NULL, text);
		job_done(ss, false);
		return;
	}
	/* without pipelining, a failure stops the sequence early */
	if (!ss->ext_pipelining && ss->nsent == ss->nreplied) {
		ob_job_fail_rest(job, false, NULL, text);
		job_done(ss, false);
		return;
	}
	if (ss->nreplied == ss->ncmds) { /* pipelined group fully answered */
		ob_job_fail_rest(job, false, NULL, text);
		job_done(ss, false);
		return;
	}
	set_deadline(ss, ss->set->command_ms);
}

static void body_reply(struct ob_session *ss, int code, const char *text)
{
	struct ob_job *job = ss->job;
	for (size_t i = 0; i < job->nrcpts; i++) {
		struct ob_rcpt *r = &job->rcpts[i];
		if (!r->tried && r->status == STORE_QUEUE_SENT)
			rcpt_result(ss, r, code, text);
	}
	log_info("outbound session=%s host=%s queue=%lld: %s", ss->id, ss->host,
		 (long long)job->queue_id, text);
	ob_job_fail_rest(job, code >= 500, NULL, text);
	job_done(ss, true);
}

/* A complete reply: code and its text (lines joined). */
static void handle_reply(struct ob_session *ss, int code, const char *text)
{
	switch (ss->state) {
	case OB_GREETING:
		if (code != 220) {
			conn_failed(ss, text);
			return;
		}
		send_ehlo(ss);
		return;
	case OB_EHLO:
		if (code >= 500 && !ss->tls) {
			/* RFC 5321 4.1.4: an old server; HELO instead */
			ss->state = OB_HELO;
			sendf(ss, "HELO %s\r\n", ss->set->hostname);
			set_deadline(ss, ss->set->command_ms);
			return;
		}
		if (code != 250) {
			conn_failed(ss, text);
			return;
		}
		bool need_tls = sts_mode(ss) == MTA_STS_ENFORCE || dest_wants_requiretls(ss->dest) ||
				(ss->job != NULL && ss->job->requiretls) || dane_required(ss);
		if (!ss->tls && ss->ext_starttls &&
		    ((ss->tls_ctx != NULL && !ss->dest->tls_failed) || need_tls)) {
			ss->state = OB_STARTTLS;
			sendf(ss, "STARTTLS\r\n");
			set_deadline(ss, ss->set->command_ms);
			return;
		}
		if (!ss->tls && dane_required(ss)) {
			/* RFC 7672 2.2: TLSA records make TLS mandatory */
			char *why = xasprintf("DANE: %s publishes TLSA records but does not offer "
					      "STARTTLS", ss->host);
			log_warn("outbound session=%s host=%s: %s", ss->id, ss->host, why);
			conn_failed(ss, why);
			free(why);
			return;
		}
		if (!ss->tls)
			log_info("outbound session=%s host=%s: no TLS (%s)", ss->id, ss->host,
				 ss->ext_starttls ? "disabled" : "not offered");
		if (!ss->tls && sts_mode(ss) != MTA_STS_NONE &&
		    sts_violation(ss, "STARTTLS not offered"))
			return;
		ss->connected = true;
		session_next_job(ss);
		return;
	case OB_HELO:
		if (code != 250) {
			conn_failed(ss, text);
			return;
		}
		/* HELO offers no STARTTLS: where TLS is required, not this host */
		if (dane_required(ss)) {
			conn_failed(ss, "DANE: the host answers HELO only (no STARTTLS)");
			return;
		}
		if (sts_mode(ss) != MTA_STS_NONE &&
		    sts_violation(ss, "STARTTLS not offered (HELO only)"))
			return;
		ss->connected = true;
		session_next_job(ss);
		return;
	case OB_STARTTLS:
		if (code != 220) {
			if (dane_required(ss)) {
				conn_failed(ss, "DANE: STARTTLS refused");
				return;
			}
			if (sts_mode(ss) != MTA_STS_NONE && sts_violation(ss, "STARTTLS refused"))
				return;
			/* refused: go on in plaintext (opportunistic) */
			ss->connected = true;
			session_next_job(ss);
			return;
		}
		start_tls(ss);
		return;
	case OB_TXN:
		txn_reply(ss, code, text);
		return;
	case OB_BODY:
		if (ss->dot_held) {
			/* a reply before the end of the data (a 421 going away) */
			conn_failed(ss, text);
			return;
		}
		body_reply(ss, code, text);
		return;
	case OB_RSET:
		if (code != 250) {
			conn_failed(ss, text);
			return;
		}
		session_next_job(ss);
		return;
	case OB_QUIT:
		session_free(ss, NULL);
		return;
	case OB_IDLE:
		/* unasked (a 421 before the server closes): done with it */
		session_free(ss, NULL);
		return;
	default:
		conn_failed(ss, "unexpected reply");
		return;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ob_session *ss = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		size_t eol_len = 0;
		struct evbuffer_ptr pos = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		if (pos.pos < 0) {
			if (evbuffer_get_length(in) > OB_REPLY_LINE_MAX) {
				conn_failed(ss, "reply line too long");
				return;
			}
			return;
		}
		if ((size_t)pos.pos > OB_REPLY_LINE_MAX) {
			conn_failed(ss, "reply line too long");
			return;
		}
		char line[OB_REPLY_LINE_MAX + 1];
		size_t n = (size_t)pos.pos;
		evbuffer_remove(in, line, n);
		evbuffer_drain(in, eol_len);
		line[n] = '\0';
		if (ss->state == OB_TLS_HANDSHAKE || ss->state == OB_CONNECTING) {
			conn_failed(ss, "unexpected input");
			return;
		}
		if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (n > 3 && line[3] != ' ' && line[3] != '-')) {
			conn_failed(ss, "malformed reply");
			return;
		}
		int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		bool last = n == 3 || line[3] == ' ';
		if (ss->reply_lines > 0 && code != ss->reply_code) {
			conn_failed(ss, "malformed multi-line reply");
			return;
		}
		if (++ss->reply_lines > OB_REPLY_MAX_LINES) {
			conn_failed(ss, "reply has too many lines");
			return;
		}
		ss->reply_code = code;
		if (ss->state == OB_EHLO && ss->reply_lines > 1 && n > 4)
			ehlo_keyword(ss, line + 4);
		if (ss->reply.len == 0) {
			buf_append(&ss->reply, line, n < OB_REPLY_TEXT_MAX ? n : OB_REPLY_TEXT_MAX);
		} else if (ss->state != OB_EHLO && ss->reply.len + n + 1 < OB_REPLY_TEXT_MAX) {
			buf_putc(&ss->reply, ' ');
			buf_append(&ss->reply, line + (n > 4 ? 4 : n), n > 4 ? n - 4 : 0);
		}
		if (!last)
			continue;
		char *text = xstrdup(ss->reply.data != NULL ? ss->reply.data : "");
		buf_reset(&ss->reply);
		ss->reply_lines = 0;
		cb_enter(ss);
		handle_reply(ss, code, text);
		free(text);
		bool gone = ss->free_pending || ss->bev != bev;
		if (!cb_leave(ss) || gone)
			return;
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ob_session *ss = arg;
	cb_enter(ss);
	if (what & BEV_EVENT_CONNECTED) {
		if (ss->state == OB_CONNECTING) {
			ss->state = OB_GREETING;
			set_deadline(ss, ss->set->greeting_ms);
		} else if (ss->state == OB_TLS_HANDSHAKE) {
			tls_ready(ss);
		}
	} else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (ss->state == OB_QUIT || ss->state == OB_IDLE) {
			session_free(ss, NULL);	/* an idle connection closed: fine */
		} else if (ss->state == OB_TLS_HANDSHAKE) {
			unsigned long e = bufferevent_get_openssl_error(bev);
			char why[256];
			snprintf(why, sizeof(why), "TLS handshake failed: %s",
				 e != 0 ? ERR_reason_error_string(e) : "connection closed");
			/* the next session to this destination goes without TLS */
			ss->dest->tls_failed = true;
			conn_failed(ss, why);
		} else if (ss->state == OB_CONNECTING) {
			int err = EVUTIL_SOCKET_ERROR();
			conn_failed(ss, err != 0 ? evutil_socket_error_to_string(err) : "connect failed");
		} else {
			conn_failed(ss, "connection lost");
		}
	}
	cb_leave(ss);
}

static void deadline_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ob_session *ss = arg;
	cb_enter(ss);
	deadline_cb(fd, what, arg);
	cb_leave(ss);
}

void ob_dest_wake_idle(struct ob_dest *d)
{
	while (d->idle != NULL && d->head != NULL) {
		struct ob_session *ss = d->idle;
		d->idle = ss->idle_next;
		ss->idle_next = NULL;
		evtimer_del(ss->deadline);
		cb_enter(ss);
		session_next_job(ss);
		cb_leave(ss);
	}
}

void ob_session_start(struct event_base *base, const struct ob_settings *set, SSL_CTX *tls,
		      struct store *s, struct ob_dest *dest)
{
	static unsigned long serial;
	struct ob_session *ss = xcalloc(1, sizeof(*ss));
	ss->base = base;
	ss->set = set;
	ss->tls_ctx = set->starttls ? tls : NULL;
	ss->tls_any = tls;
	ss->store = s;
	ss->dest = dest;
	snprintf(ss->id, sizeof(ss->id), "o%lu", ++serial);
	buf_init(&ss->reply, OB_REPLY_TEXT_MAX + OB_REPLY_LINE_MAX);
	ss->deadline = evtimer_new(base, deadline_fire, ss);
	const struct dns_route *r = dest->route;
	for (size_t i = 0; r != NULL && i < r->nhosts; i++)
		ss->naddrs += r->hosts[i].naddrs;
	ss->addrs = xcalloc(ss->naddrs + 1, sizeof(*ss->addrs));
	size_t k = 0;
	for (size_t i = 0; r != NULL && i < r->nhosts; i++) {
		/* RFC 7672 2.2.2: a host whose TLSA lookup failed is skipped */
		if (r->hosts[i].dane == DNS_DANE_FAILED && !dest->tls_optional) {
			log_warn("outbound session=%s: DANE: the TLSA lookup of MX host %s failed: "
				 "not used", ss->id, r->hosts[i].name);
			free(ss->fail_reason);
			ss->fail_reason = xasprintf("DANE: the TLSA lookup of %s failed",
						    r->hosts[i].name);
			continue;
		}
		/* RFC 8461 4.1: only the MX hosts the policy names (RFC 8461 2:
		 * a host with DANE is held to its TLSA records instead) */
		if (dest->sts != NULL && r->hosts[i].dane != DNS_DANE_ON &&
		    !mta_sts_mx_match(dest->sts, r->hosts[i].name)) {
			if (dest->sts->mode == MTA_STS_ENFORCE) {
				log_warn("outbound session=%s: MTA-STS policy of %s (enforce): MX host %s "
					 "is not in the policy: not used", ss->id, dest->domain,
					 r->hosts[i].name);
				continue;
			}
			log_warn("outbound session=%s: MTA-STS policy of %s (testing): MX host %s "
				 "is not in the policy; using it anyway", ss->id, dest->domain,
				 r->hosts[i].name);
		}
		for (size_t j = 0; j < r->hosts[i].naddrs; j++)
			ss->addrs[k++] = (struct ob_addr){r->hosts[i].name, &r->hosts[i],
							  &r->hosts[i].addrs[j],
							  r->hosts[i].addr_lens[j]};
	}
	ss->naddrs = k;
	if (k == 0 && ss->fail_reason == NULL && dest->sts != NULL &&
	    dest->sts->mode == MTA_STS_ENFORCE)
		ss->fail_reason = xasprintf("MTA-STS policy of %s (enforce): no MX host matches "
					    "the policy", dest->domain);
	dest->nsess++;
	/* connect from the loop: a failure must not end the session inside
	 * the scheduler's call */
	set_deadline(ss, 0);
}
