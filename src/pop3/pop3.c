/*
 * pop3: the POP3 server's start. Reads the pop3.* settings once and opens
 * the listeners: pop3.listen (plain, with STLS) and pop3s.listen (implicit
 * TLS, RFC 8314), and starts the pop3.expire_days timer on the
 * daemon's loop. Sessions live in pop3-session.c.
 */
#include "pop3/pop3.h"
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/conn.h"
#include <string.h>

struct pop3_server pop3_server;

static void pop3_on_refused(struct conn *c, enum conn_refusal why)
{
	/* RFC 3206 section 4: SYS/TEMP, the client may try again later. */
	conn_puts(c, why == CONN_REFUSE_PER_IP
			     ? "-ERR [SYS/TEMP] Too many connections from your address\r\n"
			     : "-ERR [SYS/TEMP] Too many connections, try again later\r\n");
}

static void read_settings(struct config *cfg, struct pop3_settings *set)
{
	set->delete_hide = strcmp(config_str(cfg, "pop3.delete"), "hide") == 0;
	set->retr_marks_seen = config_bool(cfg, "pop3.retr_marks_seen");
	set->expire_days = config_int(cfg, "pop3.expire_days");
	set->concurrent = config_bool(cfg, "pop3.concurrent_sessions");
	set->login_delay_ms = config_ms(cfg, "pop3.login_delay");
	set->timeout_ms = config_ms(cfg, "pop3.timeout");
	set->max_errors = config_int(cfg, "pop3.max_errors");
	set->mailboxes_all = strcmp(config_str(cfg, "pop3.mailboxes"), "all") == 0;
}

int pop3_start(struct config *cfg, struct store *store, char **error_r)
{
	struct conn_listener_spec plain = {
		.proto = "pop3",
		.listen = config_str(cfg, "pop3.listen"),
		.handler = &pop3_conn_handler,
		.implicit_tls = false,
		.on_refused = pop3_on_refused,
	};
	struct conn_listener_spec tls = plain;

	pop3_server.store = store;
	read_settings(cfg, &pop3_server.set);
	tls.proto = "pop3s";
	tls.listen = config_str(cfg, "pop3s.listen");
	tls.implicit_tls = true;
	if (conn_listen(&plain, error_r) < 0 || conn_listen(&tls, error_r) < 0)
		return -1;
	/* Expiry is server-wide work: it runs whether or not anyone connects. */
	if (pop3_server.set.expire_days > 0)
		pop3_expire_start(conn_global_base());
	return 0;
}
