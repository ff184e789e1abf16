/*
 * managesieve: settings and the listener (see managesieve.h). The
 * sessions live in ms-session.c.
 */
#include "managesieve/managesieve.h"
#include "managesieve/ms-private.h"
#include "lib/config.h"
#include "lib/conn.h"
#include <string.h>

struct ms_server ms_server;
extern const struct conn_handler ms_conn_handler;

const struct config_key managesieve_config_keys[] = {
	{"managesieve.listen", CONFIG_LISTEN, "127.0.0.1:4190", NULL,
	 "ManageSieve (RFC 5804) with STARTTLS: clients edit their Sieve scripts."},
	{"managesieve.max_scripts", CONFIG_INT, "20", NULL,
	 "Scripts one account may keep (0 = no limit): NO (QUOTA/MAXSCRIPTS) past it."},
	{"managesieve.timeout", CONFIG_SECONDS, "10m", NULL,
	 "Idle time after which a session is closed."},
	{NULL, 0, NULL, NULL, NULL},
};

static void on_refused(struct conn *c, enum conn_refusal why)
{
	conn_puts(c, "BYE (TRYLATER) \"Too many connections, try again later\"\r\n");
}

int managesieve_start(struct config *cfg, struct store *store, char **error_r)
{
	ms_server.store = store;
	ms_server.set.max_scripts = config_int(cfg, "managesieve.max_scripts");
	int64_t max = config_size(cfg, "sieve.max_script_size");
	ms_server.set.max_script_size = max < 0 || max > STORE_SIEVE_MAX_CONTENT
						? STORE_SIEVE_MAX_CONTENT : (size_t)max;
	ms_server.set.max_redirects = (unsigned)config_int(cfg, "sieve.max_redirects");
	ms_server.set.timeout_ms = config_ms(cfg, "managesieve.timeout");
	struct conn_listener_spec spec = {
		.proto = "managesieve",
		.listen = config_str(cfg, "managesieve.listen"),
		.handler = &ms_conn_handler,
		.on_refused = on_refused,
	};
	return conn_listen(&spec, error_r);
}
