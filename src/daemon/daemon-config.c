/*
 * daemon-config: the keys `roost serve` itself reads (serve.c): the user
 * to run as, the control socket, and the login policy it hands to the
 * auth code. A new daemon setting is one row here; `roost init`
 * documents it.
 */
#include "daemon/serve.h"
#include "lib/config.h"
#include <stddef.h>

const struct config_key daemon_config_keys[] = {
	{"server.user", CONFIG_STR, "", NULL,
	 "When started as root: the user to switch to after binding ports. Empty = stay."},
	{"control.socket", CONFIG_PATH, "control.sock", NULL,
	 "Local socket the CLI uses to reach a running daemon."},

	/* authentication */
	{"auth.allow_plaintext", CONFIG_ENUM, "loopback", "loopback|yes|no",
	 "Password logins without TLS: only from loopback addresses, always, or never."},
	{"auth.fail_delay", CONFIG_SECONDS, "1s", NULL,
	 "Delay before answering the first failed login from an address; doubles per failure."},
	{"auth.fail_delay_max", CONFIG_SECONDS, "15s", NULL, "Cap on the failed-login delay."},

	/* testing */
	{"debug.fault_injection", CONFIG_BOOL, "no", NULL,
	 "Test only, never in production: let `roost debug fail-reads` make the daemon's\n"
	 "# store reads fail (the fault-injection tests, tests/e2e/test_store_faults.py)."},
	{NULL, 0, NULL, NULL, NULL},
};
