/*
 * imap-config: the IMAP server's configuration keys (read in imap.c).
 * A new IMAP setting is one row here; `roost init` documents it.
 */
#include "imap/imap.h"
#include "lib/config.h"
#include <stddef.h>

const struct config_key imap_config_keys[] = {
	{"imap.listen", CONFIG_LISTEN, "127.0.0.1:1143", NULL, "IMAP with STARTTLS."},
	{"imaps.listen", CONFIG_LISTEN, "127.0.0.1:1993", NULL, "IMAP over implicit TLS."},
	{"imap.timeout", CONFIG_SECONDS, "30m", NULL, "Idle time (also in IDLE) after which a session is closed."},
	{"imap.max_line_length", CONFIG_SIZE, "64K", NULL, "Longest command line, literals excluded."},
	{"imap.max_errors", CONFIG_INT, "20", NULL, "BAD replies after which the session is closed."},
	/* RFC 9738 3: the limit SHOULD NOT be below 1000. 100000 keeps a
	 * whole-mailbox FETCH 1:* working for all but the biggest mailboxes
	 * (the largest this server is tuned for, docs/PERFORMANCE.md) while
	 * bounding the work and the reply of one command. */
	{"imap.message_limit", CONFIG_INT, "100000", NULL,
	 "Most messages one FETCH, STORE, SEARCH, COPY, MOVE, UID EXPUNGE or APPEND works on,"
	 " advertised as MESSAGELIMIT (RFC 9738); a UID command over more processes the"
	 " highest UIDs and says where it stopped. 0: no limit, not advertised."},
	{"imap.quota_admins", CONFIG_STR, "", NULL,
	 "Addresses (comma or space separated) that may set the quotas of their own domain's"
	 " accounts with SETQUOTA (RFC 9208); the quota root is the account's address. Empty:"
	 " nobody, SETQUOTA is refused and QUOTASET not advertised."},
	{NULL, 0, NULL, NULL, NULL},
};
