/*
 * config-keys: every configuration key Roost knows, with its default.
 * This table is the documentation: `roost init` writes it out as the
 * commented roost.conf. Add a key here, then read it with config_*().
 */
#include "lib/config.h"
#include <stddef.h>

const struct config_key config_keys[] = {
	/* server */
	{"server.hostname", CONFIG_STR, "localhost", NULL,
	 "Name this server uses in greetings and Received: headers."},
	{"server.user", CONFIG_STR, "", NULL,
	 "When started as root: the user to switch to after binding ports. Empty = stay."},
	{"server.max_connections", CONFIG_INT, "20000", NULL,
	 "Total client connections over all protocols; more are refused."},
	{"server.max_connections_per_ip", CONFIG_INT, "100", NULL,
	 "Client connections from one IP address; more are refused."},
	{"server.line_timeout", CONFIG_SECONDS, "60s", NULL,
	 "A command line must be complete this long after its first byte arrived, however slowly it trickles in (slow-loris); 0 = no limit."},
	{"server.output_stall_timeout", CONFIG_SECONDS, "5m", NULL,
	 "A connection whose pending replies make no progress this long (the client stopped reading) is closed; 0 = never."},
	{"server.login_timeout", CONFIG_SECONDS, "3m", NULL,
	 "IMAP/POP3 must log in, SMTP/LMTP must start a first MAIL, this long after connecting; not extended by activity; 0 = no limit."},
	{"server.worker_threads", CONFIG_INT, "2", NULL,
	 "Threads that check passwords off the event loop (hashing is deliberately slow)."},
	{"log.level", CONFIG_ENUM, "info", "debug|info|warn|error", "Lowest level logged to stderr."},

	/* listeners: comma list of host:port, [v6]:port or unix:/path; empty disables */
	{"imap.listen", CONFIG_LISTEN, "127.0.0.1:1143", NULL, "IMAP with STARTTLS."},
	{"imaps.listen", CONFIG_LISTEN, "127.0.0.1:1993", NULL, "IMAP over implicit TLS."},
	{"pop3.listen", CONFIG_LISTEN, "127.0.0.1:1110", NULL, "POP3 with STLS."},
	{"pop3s.listen", CONFIG_LISTEN, "127.0.0.1:1995", NULL, "POP3 over implicit TLS."},
	{"smtp.listen", CONFIG_LISTEN, "127.0.0.1:2525", NULL, "SMTP for inbound mail (the MX)."},
	{"submission.listen", CONFIG_LISTEN, "127.0.0.1:1587", NULL,
	 "Authenticated submission with STARTTLS (not implemented yet: ignored)."},
	{"submissions.listen", CONFIG_LISTEN, "127.0.0.1:1465", NULL,
	 "Authenticated submission over implicit TLS (not implemented yet: ignored)."},
	{"lmtp.listen", CONFIG_LISTEN, "127.0.0.1:2424", NULL, "LMTP from a front MTA (TCP or unix:)."},
	{"control.socket", CONFIG_PATH, "control.sock", NULL,
	 "Local socket the CLI uses to reach a running daemon."},

	/* TLS */
	{"tls.cert", CONFIG_PATH, "tls/cert.pem", NULL, "Certificate chain (PEM). Empty disables TLS."},
	{"tls.key", CONFIG_PATH, "tls/key.pem", NULL, "Private key (PEM)."},

	/* authentication */
	{"auth.allow_plaintext", CONFIG_ENUM, "loopback", "loopback|yes|no",
	 "Password logins without TLS: only from loopback addresses, always, or never."},
	{"auth.fail_delay", CONFIG_SECONDS, "1s", NULL,
	 "Delay before answering the first failed login from an address; doubles per failure."},
	{"auth.fail_delay_max", CONFIG_SECONDS, "15s", NULL, "Cap on the failed-login delay."},

	/* storage and quota */
	{"quota.storage", CONFIG_SIZE, "1G", NULL,
	 "Default per-account storage quota (`roost user quota` overrides per account)."},
	{"quota.messages", CONFIG_SIZE, "unlimited", NULL, "Default per-account message-count quota."},
	{"quota.overquota", CONFIG_ENUM, "permanent", "permanent|temporary",
	 "Over-quota deliveries fail permanently (552 5.2.2, exit 77) or temporarily (452 4.2.2, exit 75)."},
	{"store.busy_timeout", CONFIG_SECONDS, "10s", NULL,
	 "How long a write waits for a database lock held by another process (a backup,\n"
	 "# an admin's sqlite3) before failing with a temporary error (IMAP NO [INUSE])."},
	{"message.max_size", CONFIG_SIZE, "50M", NULL,
	 "Largest message accepted (SMTP SIZE, LMTP, APPEND, deliver)."},
	{"search.fts", CONFIG_BOOL, "yes", NULL,
	 "Keep a full-text index of new messages and answer SEARCH BODY/TEXT/HEADER from it;\n"
	 "# no = SEARCH reads the messages (`roost reindex` indexes what was stored meanwhile)."},

	/* SMTP / LMTP */
	{"smtp.max_recipients", CONFIG_INT, "1000", NULL, "RCPT commands accepted per message."},
	{"smtp.max_line_length", CONFIG_INT, "10000", NULL,
	 "Longest text line in DATA, CRLF included (commands are always limited to 1000)."},
	{"smtp.max_errors", CONFIG_INT, "10", NULL, "Errors after which the session is closed with 421."},
	{"smtp.timeout", CONFIG_SECONDS, "5m", NULL, "Idle time after which a session is closed with 421."},
	{"smtp.greeting_delay", CONFIG_SECONDS, "0", NULL,
	 "Wait this long before the greeting; a client that talks first is rejected."},

	/* POP3 */
	{"pop3.delete", CONFIG_ENUM, "expunge", "expunge|hide",
	 "What DELE does: expunge for every client, or only hide the message from POP3."},
	{"pop3.retr_marks_seen", CONFIG_BOOL, "yes", NULL, "RETR sets \\Seen (visible over IMAP)."},
	{"pop3.expire_days", CONFIG_INT, "0", NULL,
	 "Remove messages N days after POP3 downloaded them (0 = never). Advertised as CAPA EXPIRE."},
	{"pop3.concurrent_sessions", CONFIG_BOOL, "no", NULL,
	 "Allow several POP3 sessions per account, each on its own snapshot."},
	{"pop3.login_delay", CONFIG_SECONDS, "0", NULL,
	 "Advertised LOGIN-DELAY (0 = not advertised)."},
	{"pop3.timeout", CONFIG_SECONDS, "10m", NULL, "Idle time after which a session is closed."},
	{"pop3.max_errors", CONFIG_INT, "10", NULL, "Errors after which the session is closed."},

	/* IMAP */
	{"imap.timeout", CONFIG_SECONDS, "30m", NULL, "Idle time (also in IDLE) after which a session is closed."},
	{"imap.max_line_length", CONFIG_SIZE, "64K", NULL, "Longest command line, literals excluded."},
	{"imap.max_errors", CONFIG_INT, "20", NULL, "BAD replies after which the session is closed."},
	{NULL, 0, NULL, NULL, NULL},
};
