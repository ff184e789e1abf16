/*
 * store-config: the storage and quota configuration keys. The store
 * itself never reads the configuration: the daemon and the CLI turn these
 * keys into a struct store_settings (store.h), and the protocols read
 * quota.overquota to choose their reply.
 */
#ifndef ROOST_STORE_CONFIG_H
#define ROOST_STORE_CONFIG_H
#include "lib/config.h"

extern const struct config_key store_config_keys[];
#endif
