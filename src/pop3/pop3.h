/* pop3: the POP3 server (RFC 1939, 2449, 2595, 5034, 6856). */
#ifndef ROOST_POP3_H
#define ROOST_POP3_H
#include "lib/config.h"
struct config;
struct store;
/* Listen on pop3.listen and pop3s.listen. */
int pop3_start(struct config *cfg, struct store *store, char **error_r);
/* This module's configuration keys (pop3-config.c). */
extern const struct config_key pop3_config_keys[];
#endif
