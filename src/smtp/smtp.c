/*
 * smtp: the inbound SMTP server (the MX, RFC 5321), the LMTP server
 * (RFC 2033) and message submission (RFC 6409: submission.listen with
 * STARTTLS, submissions.listen with implicit TLS, RFC 8314 3.3): reads the
 * settings, opens the listeners, and routes the conn callbacks
 * (lib/conn.h) to the session. The four share one session code; the
 * server's `submission` flag is what turns on AUTH and relaying for
 * authenticated users.
 *
 * Greeting delay (smtp.greeting_delay, SMTP only): the 220 is held back;
 * a client that sends anything before it ("pregreet", typical of spam
 * bots, RFC 5321 4.3.1 says the client waits for the greeting) gets
 * 554 5.5.1 and is disconnected.
 */
#include "smtp/smtp.h"
#include "smtp/smtp-parse.h"
#include "smtp/smtp-session.h"
#include "dns/dns-sync.h"
#include "store/delivery-sieve.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/conn.h"
#include <event2/event.h>
#include <string.h>

static struct smtp_server smtp_srv, lmtp_srv, submission_srv;

static void send_greeting(struct smtp_session *s)
{
	s->greeted = true;
	smtp_reply(s, "220 %s %s Roost ready", s->srv->hostname, s->srv->lmtp ? "LMTP" : "ESMTP");
}

static void greeting_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	if (s->talked_early || conn_input_pending(s->conn) > 0) {
		conn_log(s->conn, LOG_INFO, "client talked before the greeting");
		conn_discard_input(s->conn);
		smtp_reply(s, "554 5.5.1 %s Protocol error: talked before the greeting",
			   s->srv->hostname);
		s->quitting = true;
		conn_close(s->conn);
		return;
	}
	send_greeting(s);
}

static void on_connect_common(struct conn *c, const struct smtp_server *srv)
{
	struct smtp_session *s = smtp_session_new(c, srv);
	conn_set_data(c, s);
	conn_set_line_max(c, srv->command_line_max);
	conn_set_timeout(c, srv->timeout_ms);
	if (srv->greeting_delay_ms > 0) {
		s->greet_timer = evtimer_new(conn_base(c), greeting_timer_cb, s);
		struct timeval tv = {
			.tv_sec = srv->greeting_delay_ms / 1000,
			.tv_usec = (srv->greeting_delay_ms % 1000) * 1000,
		};
		evtimer_add(s->greet_timer, &tv);
		return;
	}
	send_greeting(s);
}

static void smtp_on_connect(struct conn *c)
{
	on_connect_common(c, &smtp_srv);
}

static void lmtp_on_connect(struct conn *c)
{
	on_connect_common(c, &lmtp_srv);
}

static void submission_on_connect(struct conn *c)
{
	on_connect_common(c, &submission_srv);
}

static void on_line(struct conn *c, char *line, size_t len)
{
	struct smtp_session *s = conn_data(c);
	if (s == NULL || s->quitting)
		return;
	if (!s->greeted) {
		s->talked_early = true;
		return;
	}
	if (s->in_data)
		smtp_data_line(s, line, len, conn_line_bare_lf(c));
	else if (s->auth_step != SMTP_AUTH_NONE)
		smtp_auth_line(s, line, len);
	else
		smtp_session_command(s, line, len);
}

static void on_line_too_long(struct conn *c)
{
	struct smtp_session *s = conn_data(c);
	if (s == NULL || s->quitting)
		return;
	if (!s->greeted) {
		s->talked_early = true;
		return;
	}
	if (s->in_data)
		smtp_data_line_too_long(s, conn_line_bare_lf(c));
	else if (s->auth_step != SMTP_AUTH_NONE)
		smtp_auth_line_too_long(s);
	else
		smtp_reply_error(s, "500 5.5.2 Line too long");
}

static void on_bytes(struct conn *c, const char *data, size_t len, bool last)
{
	struct smtp_session *s = conn_data(c);
	if (s == NULL || s->quitting)
		return;
	smtp_bdat_bytes(s, data, len, last);
}

static void on_timeout(struct conn *c)
{
	struct smtp_session *s = conn_data(c);
	if (s == NULL)
		return;
	if (s->storing)
		return; /* our own wait, not the client's: the reply follows */
	smtp_close_421(s, "Idle timeout");
}

static void on_tls_ready(struct conn *c)
{
	struct smtp_session *s = conn_data(c);
	if (s == NULL)
		return;
	/* RFC 3207 4.2: forget everything learnt before TLS, a login too. */
	smtp_session_reset_helo(s);
	smtp_auth_clear(s);
}

static void on_close(struct conn *c)
{
	struct smtp_session *s = conn_data(c);
	conn_set_data(c, NULL);
	if (s != NULL)
		smtp_session_conn_closed(s);
}

static void on_refused(struct conn *c, enum conn_refusal why)
{
	conn_printf(c, "421 4.7.0 %s Too many connections%s, try again later\r\n", smtp_srv.hostname,
		    why == CONN_REFUSE_PER_IP ? " from your address" : "");
}

static const struct conn_handler smtp_handler = {
	.proto = "smtp",
	.on_connect = smtp_on_connect,
	.on_line = on_line,
	.on_line_too_long = on_line_too_long,
	.on_bytes = on_bytes,
	.on_timeout = on_timeout,
	.on_tls_ready = on_tls_ready,
	.on_close = on_close,
};

static const struct conn_handler lmtp_handler = {
	.proto = "lmtp",
	.on_connect = lmtp_on_connect,
	.on_line = on_line,
	.on_line_too_long = on_line_too_long,
	.on_bytes = on_bytes,
	.on_timeout = on_timeout,
	.on_tls_ready = on_tls_ready,
	.on_close = on_close,
};

static const struct conn_handler submission_handler = {
	.proto = "submission",
	.on_connect = submission_on_connect,
	.on_line = on_line,
	.on_line_too_long = on_line_too_long,
	.on_bytes = on_bytes,
	.on_timeout = on_timeout,
	.on_tls_ready = on_tls_ready,
	.on_close = on_close,
};

/* Sieve at delivery, shared by SMTP, LMTP and submission. */
static struct delivery_sieve_config smtp_sieve;

static void server_init(struct smtp_server *srv, bool lmtp, struct config *cfg,
			struct store *store)
{
	memset(srv, 0, sizeof(*srv));
	srv->lmtp = lmtp;
	srv->command_line_max = SMTP_MAX_COMMAND_LINE - 2;
	srv->store = store;
	srv->hostname = config_str(cfg, "server.hostname");
	srv->datadir = config_datadir(cfg);
	int64_t max = config_size(cfg, "message.max_size");
	srv->max_size = max < 0 || max > SMTP_HARD_MAX_SIZE ? SMTP_HARD_MAX_SIZE : max;
	srv->max_rcpts = (size_t)config_int(cfg, "smtp.max_recipients");
	srv->max_errors = (unsigned)config_int(cfg, "smtp.max_errors");
	int64_t line = config_int(cfg, "smtp.max_line_length");
	/* the key counts the CRLF; RFC 5321 4.5.3.1.6 says at least 1000 */
	srv->data_line_max = line < 1000 ? 998 : (size_t)line - 2;
	srv->timeout_ms = config_ms(cfg, "smtp.timeout");
	/* LMTP clients are our own MTA: no pregreet test for them. */
	srv->greeting_delay_ms = lmtp ? 0 : config_ms(cfg, "smtp.greeting_delay");
	srv->overquota_temp = strcmp(config_str(cfg, "quota.overquota"), "temporary") == 0;
	srv->postmaster = config_str(cfg, "smtp.postmaster");
	srv->authenticate = config_bool(cfg, lmtp ? "lmtp.authenticate" : "smtp.authenticate");
	srv->dmarc_enforce = strcmp(config_str(cfg, "smtp.dmarc_policy"), "enforce") == 0;
	srv->auth_check_timeout_ms = config_ms(cfg, "smtp.auth_check_timeout");
	srv->sieve = &smtp_sieve;
}

/* The ports of a listen list ("127.0.0.1:1143,[::1]:1143"): what a BURL
 * URL may name besides none (smtp-cmd-burl.c). */
static void burl_ports(struct smtp_server *srv, const char *listen)
{
	const char *p = listen;
	while (*p != '\0' && srv->nburl_ports < SMTP_BURL_MAX_PORTS) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, ",");
		const char *colon = NULL;
		for (const char *c = p; c < p + n; c++)
			if (*c == ':')
				colon = c;
		if (colon != NULL && strncmp(p, "unix:", 5) != 0) {
			unsigned long port = 0;
			const char *d = colon + 1;
			while (d < p + n && *d >= '0' && *d <= '9' && port <= 65535)
				port = port * 10 + (unsigned long)(*d++ - '0');
			if (d == p + n && d > colon + 1 && port > 0 && port <= 65535)
				srv->burl_ports[srv->nburl_ports++] = (uint16_t)port;
		}
		srv->burl = true; /* an IMAP listener: URLAUTH is there */
		p += n;
	}
}

int smtp_start(struct config *cfg, struct store *store, char **error_r)
{
	static struct conn_listener_spec smtp_spec, lmtp_spec, sub_spec, subs_spec;
	delivery_sieve_config_clear(&smtp_sieve);
	delivery_sieve_config_load(&smtp_sieve, cfg, config_str(cfg, "server.hostname"));
	server_init(&smtp_srv, false, cfg, store);
	server_init(&lmtp_srv, true, cfg, store);
	server_init(&submission_srv, false, cfg, store);
	submission_srv.submission = true;
	submission_srv.authenticate = false;
	if ((smtp_srv.authenticate || lmtp_srv.authenticate) &&
	    dns_sync_configure(config_str(cfg, "dns.resolver"), config_path(cfg, "dns.trust_anchor"),
			       error_r) < 0)
		return -1;
	submission_srv.command_line_max = SMTP_AUTH_LINE_MAX - 2;
	/* The MUA is our own user: no pregreet test (RFC 6409 has none). */
	submission_srv.greeting_delay_ms = 0;
	submission_srv.any_sender_domains = config_str(cfg, "submission.any_sender_domains");
	submission_srv.save_sent = config_bool(cfg, "submission.save_sent");
	burl_ports(&submission_srv, config_str(cfg, "imap.listen"));
	burl_ports(&submission_srv, config_str(cfg, "imaps.listen"));
	submission_srv.rate = (struct smtp_rate_limits){
		.messages_hour = config_int(cfg, "submission.max_messages_per_hour"),
		.messages_day = config_int(cfg, "submission.max_messages_per_day"),
		.rcpts_hour = config_int(cfg, "submission.max_recipients_per_hour"),
		.rcpts_day = config_int(cfg, "submission.max_recipients_per_day"),
	};
	smtp_spec = (struct conn_listener_spec){
		.proto = "smtp",
		.listen = config_str(cfg, "smtp.listen"),
		.handler = &smtp_handler,
		.on_refused = on_refused,
	};
	lmtp_spec = (struct conn_listener_spec){
		.proto = "lmtp",
		.listen = config_str(cfg, "lmtp.listen"),
		.handler = &lmtp_handler,
		.on_refused = on_refused,
	};
	sub_spec = (struct conn_listener_spec){
		.proto = "submission",
		.listen = config_str(cfg, "submission.listen"),
		.handler = &submission_handler,
		.on_refused = on_refused,
	};
	subs_spec = sub_spec;
	subs_spec.proto = "submissions";
	subs_spec.listen = config_str(cfg, "submissions.listen");
	subs_spec.implicit_tls = true;
	if (conn_listen(&smtp_spec, error_r) < 0)
		return -1;
	if (conn_listen(&lmtp_spec, error_r) < 0)
		return -1;
	if (conn_listen(&sub_spec, error_r) < 0)
		return -1;
	if (conn_listen(&subs_spec, error_r) < 0)
		return -1;
	return 0;
}
