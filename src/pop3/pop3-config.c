/*
 * pop3-config: the POP3 server's configuration keys (read in pop3.c).
 * A new POP3 setting is one row here; `roost init` documents it.
 */
#include "lib/config.h"
#include "pop3/pop3.h"
#include <stddef.h>

const struct config_key pop3_config_keys[] = {
	{"pop3.listen", CONFIG_LISTEN, "127.0.0.1:1110", NULL, "POP3 with STLS."},
	{"pop3s.listen", CONFIG_LISTEN, "127.0.0.1:1995", NULL, "POP3 over implicit TLS."},
	{"pop3.delete", CONFIG_ENUM, "expunge", "expunge|hide",
	 "What DELE does: expunge for every client, or only hide the message from POP3."},
	{"pop3.mailboxes", CONFIG_ENUM, "inbox", "inbox|all",
	 "What the maildrop holds: INBOX, or every mailbox but Trash, Junk and Sent"
	 " (`roost user pop3-mailboxes` overrides it per account)."},
	{"pop3.retr_marks_seen", CONFIG_BOOL, "yes", NULL, "RETR sets \\Seen (visible over IMAP)."},
	{"pop3.expire_days", CONFIG_INT, "0", NULL,
	 "Remove messages N days after POP3 downloaded them (0 = never). Advertised as CAPA EXPIRE."},
	{"pop3.concurrent_sessions", CONFIG_BOOL, "no", NULL,
	 "Allow several POP3 sessions per account, each on its own snapshot."},
	{"pop3.login_delay", CONFIG_SECONDS, "0", NULL,
	 "Advertised LOGIN-DELAY (0 = not advertised)."},
	{"pop3.timeout", CONFIG_SECONDS, "10m", NULL, "Idle time after which a session is closed."},
	{"pop3.max_errors", CONFIG_INT, "10", NULL, "Errors after which the session is closed."},
	{NULL, 0, NULL, NULL, NULL},
};
