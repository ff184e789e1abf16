/*
 * http-routes: the route table. Paths match exactly (no file system
 * behind any of them, so no path can reach outside the table); the
 * method set is checked before the route runs (405 otherwise).
 */
#include "http/http-private.h"

#define GET (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

const struct http_route http_routes[] = {
	/* Thunderbird: autoconfig.DOMAIN/mail/config-v1.1.xml, and
	 * DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml, both with
	 * ?emailaddress= */
	{"/mail/config-v1.1.xml", GET, "autoconfig", http_route_autoconfig},
	{"/.well-known/autoconfig/mail/config-v1.1.xml", GET, "autoconfig", http_route_autoconfig},
	/* Outlook POX autodiscover: POST with the request XML (the GET form
	 * is what some clients probe first; it gets the same answer when
	 * ?emailaddress= names an address) */
	{"/autodiscover/autodiscover.xml", EVHTTP_REQ_POST | GET, "autodiscover",
	 http_route_autodiscover},
	{"/Autodiscover/Autodiscover.xml", EVHTTP_REQ_POST | GET, "autodiscover",
	 http_route_autodiscover},
	/* draft-ietf-mailmaint-pacc: ua-auto-config.DOMAIN */
	{"/.well-known/user-agent-configuration.json", GET, "pacc", http_route_pacc},
	/* Apple configuration profile, signed: ?emailaddress= */
	{"/apple/mail.mobileconfig", GET, "mobileconfig", http_route_mobileconfig},
	{"/metrics", GET, "metrics", http_route_metrics},
	/* RFC 8555 8.3: http-01 challenge answers (prefix route) */
	{"/.well-known/acme-challenge/", GET, "acme", http_route_acme},
	{NULL, 0, NULL, NULL},
};
