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
	{NULL, 0, NULL, NULL, NULL},
};
