/* smtp: inbound SMTP (the MX, RFC 5321) and LMTP (RFC 2033) servers. */
#ifndef ROOST_SMTP_H
#define ROOST_SMTP_H
#include "lib/config.h"
struct config;
struct store;
/* Listen on smtp.listen and lmtp.listen. */
int smtp_start(struct config *cfg, struct store *store, char **error_r);
/* This module's configuration keys (smtp-config.c). */
extern const struct config_key smtp_config_keys[];
#endif
