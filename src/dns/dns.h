/*
 * dns: where mail for a domain goes, resolved with libunbound on the
 * daemon's libevent loop (ub_ctx_create_event: no thread, no blocking),
 * validating DNSSEC when a trust anchor is configured.
 *
 * dns_route() follows RFC 5321 5.1: the MX records in preference order,
 * each host's AAAA and A addresses; no MX record at all means the domain
 * itself is the one host (the implicit MX); a null MX (RFC 7505: one MX
 * with the root "." as exchange) means the domain accepts no mail.
 * With validation on and a DNSSEC-secure MX answer, each host's TLSA
 * records (RFC 7672 DANE, at _PORT._tcp.HOST) come along too.
 * Callbacks run on the loop, never inside dns_route() itself.
 */
#ifndef ROOST_DNS_H
#define ROOST_DNS_H
#include "dns/dns-packet.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct dns;

/* MX hosts used per domain, and addresses per host, at most. */
#define DNS_MAX_MX_HOSTS 10
#define DNS_MAX_HOST_ADDRS 8
/* Usable TLSA records kept per host, at most. */
#define DNS_MAX_TLSA 8

/* resolver: "system" (/etc/resolv.conf) or "IP[@PORT][,IP[@PORT]...]"
 * (forwarders: tests point it at a local server). trust_anchor: a root
 * key file (dns-root-data's /usr/share/dns/root.key), "" = no DNSSEC
 * validation. NULL with *error_r on a bad setting. */
struct dns *dns_new(struct event_base *base, const char *resolver, const char *trust_anchor,
		    char **error_r);
void dns_free(struct dns **d);

enum dns_status {
	DNS_OK,
	DNS_TEMPFAIL,	/* SERVFAIL, timeout, bogus DNSSEC: try later */
	DNS_NOTFOUND,	/* NXDOMAIN, or no host has an address: permanent */
	DNS_NULL_MX,	/* RFC 7505: the domain accepts no mail */
};

/* One TLSA record usable for SMTP (RFC 7672 3.1): usage DANE-TA(2) or
 * DANE-EE(3), selector 0 or 1, matching type 0, 1 or 2. */
struct dns_tlsa {
	uint8_t usage, selector, mtype;
	uint8_t data[DNS_TLSA_DATA_MAX];
	size_t len;
};

enum dns_dane {
	DNS_DANE_NONE,		/* no secure TLSA RRset (or no secure path to one): no DANE */
	DNS_DANE_ON,		/* a secure TLSA RRset: tlsa[] its usable records; none
				 * usable = TLS still required (RFC 7672 2.2) */
	DNS_DANE_FAILED,	/* the TLSA lookup failed or was bogus: the host is not
				 * to be used now (RFC 7672 2.2.2) */
};

struct dns_host {
	char *name;
	unsigned pref;
	struct sockaddr_storage addrs[DNS_MAX_HOST_ADDRS];
	socklen_t addr_lens[DNS_MAX_HOST_ADDRS];
	size_t naddrs;
	bool addr_insecure;	/* some address answer was not DNSSEC-secure */
	enum dns_dane dane;
	struct dns_tlsa tlsa[DNS_MAX_TLSA];
	size_t ntlsa;
};

struct dns_route {
	enum dns_status status;
	char *error;		/* for logs and DSNs when status != DNS_OK */
	bool secure;		/* every answer DNSSEC-validated */
	bool implicit_mx;	/* no MX: the domain's own address (RFC 5321 5.1) */
	struct dns_host *hosts;	/* preference order */
	size_t nhosts;
};
void dns_route_free(struct dns_route **r);

struct dns_lookup;
/* The route is the callback's to free. */
typedef void dns_route_cb(void *ctx, struct dns_route *route);
/* port: the port put into every address (25; outbound.port in tests). */
struct dns_lookup *dns_route(struct dns *d, const char *domain, int port, dns_route_cb *cb,
			     void *ctx);
/* The callback will not run; the lookup is freed when its answers come. */
void dns_lookup_cancel(struct dns_lookup **l);
#endif
