/* smtp: inbound SMTP (the MX, RFC 5321) and LMTP (RFC 2033) servers. */
#ifndef ROOST_SMTP_H
#define ROOST_SMTP_H
struct config;
struct store;
/* Listen on smtp.listen and lmtp.listen. */
int smtp_start(struct config *cfg, struct store *store, char **error_r);
#endif
