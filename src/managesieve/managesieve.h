/*
 * managesieve: the ManageSieve server (RFC 5804) on managesieve.listen:
 * an account's Sieve scripts (store-sieve.h) edited by mail clients.
 */
#ifndef ROOST_MANAGESIEVE_H
#define ROOST_MANAGESIEVE_H
#include "lib/config.h"
struct store;

/* Open the listener (managesieve.listen; empty = off). */
int managesieve_start(struct config *cfg, struct store *store, char **error_r);
/* This module's configuration keys (managesieve.c). */
extern const struct config_key managesieve_config_keys[];
#endif
