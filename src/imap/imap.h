/* imap: the IMAP server (IMAP4rev2, RFC 9051, and IMAP4rev1, RFC 3501). */
#ifndef ROOST_IMAP_H
#define ROOST_IMAP_H
struct config;
struct store;
/* Listen on imap.listen and imaps.listen. */
int imap_start(struct config *cfg, struct store *store, char **error_r);
#endif
