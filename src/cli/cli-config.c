/*
 * cli-config: the one list of every module's configuration keys. The CLI
 * is the top layer, so it alone knows all modules; main.c (roost.conf and
 * `serve --set`, whose config the daemon then uses) and `roost init`
 * (the commented default file) both build their config from this list.
 * A module with new keys adds its table here once.
 */
#include "acme/acme.h"
#include "cli/cli.h"
#include "daemon/serve.h"
#include "http/http.h"
#include "imap/imap.h"
#include "lib/config.h"
#include "outbound/outbound.h"
#include "pop3/pop3.h"
#include "managesieve/managesieve.h"
#include "smtp/smtp.h"
#include "store/store-config.h"
#include "store/delivery-sieve.h"
#include <stddef.h>

const struct config_key *const cli_config_tables[] = {
	config_generic_keys,
	daemon_config_keys,
	store_config_keys,
	smtp_config_keys,
	pop3_config_keys,
	imap_config_keys,
	outbound_config_keys,
	http_config_keys,
	sieve_config_keys,
	managesieve_config_keys,
	acme_config_keys,
	NULL,
};
