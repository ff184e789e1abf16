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
	{"server.user", CONFIG_STR, "roost", NULL,
	 "When started as root: the user to switch to after binding ports (scripts/deps.sh\n"
	 "# creates the system user roost). \"root\" = stay root (logged as a warning)."},
	{"trace.max_bytes", CONFIG_SIZE, "10M", NULL,
	 "Largest support trace file (`roost user trace ADDRESS on`, DATADIR/trace/); the trace\n"
	 "# of a session stops there."},
	{"control.socket", CONFIG_PATH, "control.sock", NULL,
	 "Local socket the CLI uses to reach a running daemon."},

	/* authentication */
	{"auth.allow_plaintext", CONFIG_ENUM, "loopback", "loopback|yes|no",
	 "Password logins without TLS: only from loopback addresses, always, or never."},
	{"auth.fail_delay", CONFIG_SECONDS, "1s", NULL,
	 "Failed-login delay: a failure is answered no sooner than this; after N failures from\n"
	 "# a network (IPv4 address or IPv6 /64) or against one user from it, the next check\n"
	 "# waits this * 2^N first. A success clears only that user's failures."},
	{"auth.fail_delay_max", CONFIG_SECONDS, "15s", NULL, "Cap on the failed-login delay."},
	{"auth.block_failures", CONFIG_INT, "20", NULL,
	 "Failed logins from one network after which it is blocked (0 = never): every attempt\n"
	 "# waits auth.fail_delay_max and is refused as temporary, without checking the password."},
	{"auth.block_time", CONFIG_SECONDS, "15m", NULL, "How long such a block lasts."},
	{"auth.default_domain", CONFIG_STR, "", NULL,
	 "Domain a login name without '@' (IMAP, POP3) belongs to. Empty: the only hosted\n"
	 "# domain when there is exactly one; with several, such a login fails."},

	{"auth.cache_size", CONFIG_INT, "10000", NULL,
	 "Successful password logins remembered (least recently used forgotten first), so a\n"
	 "# client reconnecting within auth.cache_ttl skips the password hash. Only keyed hashes\n"
	 "# are kept, never a password; a changed password or disabled account misses at once.\n"
	 "# 0 = no cache."},
	{"auth.cache_ttl", CONFIG_SECONDS, "5m", NULL,
	 "How long a successful login stays remembered (from its full check); 0 = no cache."},
	{"auth.workers", CONFIG_INT, "0", NULL,
	 "Threads in each worker pool (password checks; heavy reads): 0 = the number of cores,\n"
	 "# never fewer than server.worker_threads."},

	/* testing */
	{"debug.fault_injection", CONFIG_BOOL, "no", NULL,
	 "Test only, never in production: let `roost debug fail-reads` make the daemon's\n"
	 "# store reads fail (the fault-injection tests, tests/e2e/test_store_faults.py)."},
	{NULL, 0, NULL, NULL, NULL},
};
