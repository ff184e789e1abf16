/*
 * store-config: the storage and quota configuration keys. The store
 * itself never reads the configuration: the daemon and the CLI turn these
 * keys into a struct store_settings (store.h), and the protocols read
 * quota.overquota to choose their reply.
 */
#ifndef ROOST_STORE_CONFIG_H
#define ROOST_STORE_CONFIG_H
#include "lib/config.h"
#include "store/store.h"

extern const struct config_key store_config_keys[];

/* Every store.*, quota.* and search.* key into `set` (zeroed first): 0,
 * or -1 with error_r (malformed, or store.backend = postgresql without
 * store.postgresql). */
int store_config_settings(const struct config *cfg, struct store_settings *set, char **error_r);
#endif
