/*
 * outbound-config: the keys of outbound delivery, the queue's retry
 * policy and the resolver (read in scheduler.c). RFC 5321 4.5.3.2 gives
 * the client's minimum timeouts used as defaults.
 */
#include "lib/config.h"
#include "outbound/outbound.h"
#include <stddef.h>

const struct config_key outbound_config_keys[] = {
	{"outbound.port", CONFIG_INT, "25", NULL,
	 "Port of the remote MXs. For tests only: production mail always goes to 25."},
	{"outbound.max_connections", CONFIG_INT, "50", NULL,
	 "Outbound SMTP sessions at once, over all destinations."},
	{"outbound.max_per_domain", CONFIG_INT, "4", NULL,
	 "Outbound SMTP sessions at once to one destination domain."},
	{"outbound.max_messages_per_session", CONFIG_INT, "100", NULL,
	 "Messages sent over one connection before it is closed (RSET between them)."},
	{"outbound.connect_timeout", CONFIG_SECONDS, "30s", NULL,
	 "Time to establish a TCP connection to a remote MX."},
	{"outbound.greeting_timeout", CONFIG_SECONDS, "5m", NULL,
	 "Wait for the 220 greeting (RFC 5321 4.5.3.2.1)."},
	{"outbound.command_timeout", CONFIG_SECONDS, "5m", NULL,
	 "Wait for the reply to EHLO, MAIL, RCPT, RSET, STARTTLS (RFC 5321 4.5.3.2.2-3)."},
	{"outbound.data_timeout", CONFIG_SECONDS, "10m", NULL,
	 "Wait for the reply to the final dot, and the longest time to send a message "
	 "(RFC 5321 4.5.3.2.5-6)."},
	{"outbound.starttls", CONFIG_BOOL, "yes", NULL,
	 "Use STARTTLS when the remote MX offers it (opportunistic; the certificate is "
	 "not required to verify, the result is logged)."},
	{"outbound.mta_sts", CONFIG_BOOL, "yes", NULL,
	 "Honour the MTA-STS policies (RFC 8461) of destination domains: with mode "
	 "enforce, only the policy's MX hosts, with STARTTLS and a valid certificate."},
	{"outbound.mta_sts_timeout", CONFIG_SECONDS, "30s", NULL,
	 "Longest time for one MTA-STS TXT lookup and policy fetch over HTTPS "
	 "(the policy is at most 64 KB)."},
	{"outbound.tls_ca_file", CONFIG_PATH, "", NULL,
	 "Extra CA certificates (PEM) trusted besides the system store for MX "
	 "certificates and MTA-STS policy hosts. For tests only."},
	{"queue.max_lifetime", CONFIG_SECONDS, "5d", NULL,
	 "A recipient still failing temporarily after this long is bounced (4.4.7)."},
	{"queue.retry_min", CONFIG_SECONDS, "5m", NULL,
	 "First retry interval; each next one doubles, up to queue.retry_max."},
	{"queue.retry_max", CONFIG_SECONDS, "4h", NULL, "Longest retry interval."},
	{"queue.delay_warning", CONFIG_SECONDS, "4h", NULL,
	 "Send one delay DSN when a message is still queued after this long (0 = never)."},
	{"dns.resolver", CONFIG_STR, "system", NULL,
	 "\"system\" (/etc/resolv.conf) or forwarders IP[@PORT][,IP[@PORT]...]."},
	{"dns.trust_anchor", CONFIG_PATH, "/usr/share/dns/root.key", NULL,
	 "DNSSEC root trust anchor (Debian's dns-root-data); empty = no validation."},
	{NULL, 0, NULL, NULL, NULL},
};
