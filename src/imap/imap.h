/* imap: the IMAP server (IMAP4rev2, RFC 9051, and IMAP4rev1, RFC 3501). */
#ifndef ROOST_IMAP_H
#define ROOST_IMAP_H
#include "lib/config.h"
struct config;
struct store;
/* Listen on imap.listen and imaps.listen. */
int imap_start(struct config *cfg, struct store *store, char **error_r);
/* This module's configuration keys (imap-config.c). */
extern const struct config_key imap_config_keys[];
#endif
