/* dns-private: what dns.c and dns-sync.c share. */
#ifndef ROOST_DNS_PRIVATE_H
#define ROOST_DNS_PRIVATE_H
struct ub_ctx;
/* dns.resolver's forwarder list "IP[@PORT],..." into `ub`. */
int dns_set_forwarders(struct ub_ctx *ub, const char *list, char **error_r);
#endif
