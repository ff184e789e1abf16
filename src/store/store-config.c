/*
 * store-config: the storage and quota keys (see store-config.h). A new
 * storage setting is one row here; `roost init` documents it.
 */
#include "store/store-config.h"
#include "lib/config.h"
#include <stddef.h>

const struct config_key store_config_keys[] = {
	{"quota.storage", CONFIG_SIZE, "1G", NULL,
	 "Default per-account storage quota (`roost user quota` overrides per account)."},
	{"quota.messages", CONFIG_SIZE, "unlimited", NULL, "Default per-account message-count quota."},
	{"quota.overquota", CONFIG_ENUM, "permanent", "permanent|temporary",
	 "Over-quota deliveries fail permanently (552 5.2.2, exit 77) or temporarily (452 4.2.2, exit 75)."},
	{"store.busy_timeout", CONFIG_SECONDS, "10s", NULL,
	 "How long a write waits for a database lock held by another process (a backup,\n"
	 "# an admin's sqlite3) before failing with a temporary error (IMAP NO [INUSE])."},
	{"search.fts", CONFIG_BOOL, "yes", NULL,
	 "Keep a full-text index of new messages and answer SEARCH BODY/TEXT/HEADER from it;\n"
	 "# no = SEARCH reads the messages (`roost reindex` indexes what was stored meanwhile)."},
	{NULL, 0, NULL, NULL, NULL},
};
