/*
 * smtp-config: the SMTP and LMTP servers' configuration keys (read in
 * smtp.c). A new SMTP/LMTP setting is one row here; `roost init`
 * documents it.
 */
#include "lib/config.h"
#include "smtp/smtp.h"
#include <stddef.h>

const struct config_key smtp_config_keys[] = {
	{"smtp.listen", CONFIG_LISTEN, "127.0.0.1:2525", NULL, "SMTP for inbound mail (the MX)."},
	{"submission.listen", CONFIG_LISTEN, "127.0.0.1:1587", NULL,
	 "Authenticated submission (RFC 6409) with STARTTLS; production: 0.0.0.0:587."},
	{"submissions.listen", CONFIG_LISTEN, "127.0.0.1:1465", NULL,
	 "Authenticated submission over implicit TLS (RFC 8314); production: 0.0.0.0:465."},
	{"submission.any_sender_domains", CONFIG_STR, "", NULL,
	 "Comma-separated hosted domains whose users may send as any address of their own domain (MAIL FROM and From:). Elsewhere only the account's address, its +tag forms and aliases pointing to it."},
	{"submission.save_sent", CONFIG_BOOL, "yes", NULL,
	 "Store a copy of each submitted message in the sender's \\Sent mailbox; the client's own APPEND of it to Sent within 10 minutes (same Message-ID and From address) is answered with the existing copy, so every client ends up with one copy."},
	{"submission.max_messages_per_hour", CONFIG_INT, "200", NULL,
	 "Messages one account may submit per hour (0 = no limit); past it 451 4.7.1."},
	{"submission.max_messages_per_day", CONFIG_INT, "1000", NULL,
	 "Messages one account may submit per day (0 = no limit)."},
	{"submission.max_recipients_per_hour", CONFIG_INT, "500", NULL,
	 "Recipients one account may submit to per hour (0 = no limit)."},
	{"submission.max_recipients_per_day", CONFIG_INT, "2000", NULL,
	 "Recipients one account may submit to per day (0 = no limit)."},
	{"lmtp.listen", CONFIG_LISTEN, "127.0.0.1:2424", NULL, "LMTP from a front MTA (TCP or unix:)."},
	{"smtp.max_recipients", CONFIG_INT, "1000", NULL, "RCPT commands accepted per message."},
	{"smtp.max_line_length", CONFIG_INT, "10000", NULL,
	 "Longest text line in DATA, CRLF included (commands are always limited to 1000)."},
	{"smtp.max_errors", CONFIG_INT, "10", NULL, "Errors after which the session is closed with 421."},
	{"smtp.timeout", CONFIG_SECONDS, "5m", NULL, "Idle time after which a session is closed with 421."},
	{"smtp.greeting_delay", CONFIG_SECONDS, "0", NULL,
	 "Wait this long before the greeting; a client that talks first is rejected."},
	{"smtp.postmaster", CONFIG_STR, "", NULL,
	 "Where mail for postmaster goes (RFC 5321 4.5.1: <postmaster> and postmaster@ every hosted domain) when no account or alias of that name exists. Empty = the first account in `roost user list` order."},
	{"smtp.authenticate", CONFIG_BOOL, "yes", NULL,
	 "Check SPF (RFC 7208), DKIM (RFC 6376, 8463) and DMARC (RFC 7489) of mail received on smtp.listen and add an Authentication-Results header (RFC 8601) named after server.hostname."},
	{"lmtp.authenticate", CONFIG_BOOL, "no", NULL,
	 "The same checks on LMTP (off: the MTA in front normally did them, and the client IP is its own)."},
	{"smtp.dmarc_policy", CONFIG_ENUM, "enforce", "enforce|report-only",
	 "enforce: a DMARC failure of a domain publishing p=reject is refused with 550 5.7.1, p=quarantine is filed into Junk; report-only: only the Authentication-Results header says so."},
	{"smtp.auth_check_timeout", CONFIG_SECONDS, "10s", NULL,
	 "Longest time the SPF/DKIM/DMARC lookups of one message may take; past it the results are temperror and the mail is accepted."},
	{NULL, 0, NULL, NULL, NULL},
};
