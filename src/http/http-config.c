/* http-config: the http module's configuration keys (see config.h). */
#include "http/http.h"
#include <stddef.h>

const struct config_key http_config_keys[] = {
	{"http.listen", CONFIG_LISTEN, "127.0.0.1:8080", NULL,
	 "HTTP: client autoconfiguration (autoconfig.DOMAIN, autodiscover.DOMAIN) and /metrics."},
	{"https.listen", CONFIG_LISTEN, "127.0.0.1:8443", NULL,
	 "HTTPS with the server's certificate (tls.cert): the same routes."},
	{"http.max_connections", CONFIG_INT, "512", NULL,
	 "HTTP and HTTPS connections open at once; past it the listeners stop accepting until one closes."},
	{"http.max_connections_per_ip", CONFIG_INT, "32", NULL,
	 "HTTP and HTTPS connections from one address; more are closed at once. 0 = no limit."},
	{"http.max_header_size", CONFIG_SIZE, "8K", NULL,
	 "Request line and headers of one request together; larger requests get 400."},
	{"http.max_body_size", CONFIG_SIZE, "16K", NULL,
	 "Body of a POST (Outlook autodiscover); larger bodies get 413."},
	{"http.timeout", CONFIG_SECONDS, "10s", NULL,
	 "A connection that sends or takes nothing this long is closed (0: libevent's default, 50s)."},
	{"http.connection_timeout", CONFIG_SECONDS, "60s", NULL,
	 "Longest a connection may stay open, keep-alive included: a client trickling a request byte by byte is cut here; 0 = no limit."},
	{"http.metrics_allow", CONFIG_STR, "127.0.0.0/8, ::1/128", NULL,
	 "Addresses (CIDR, comma separated) that may read /metrics; empty = none by address."},
	{"http.metrics_token", CONFIG_STR, "", NULL,
	 "A secret that also grants /metrics as \"Authorization: Bearer TOKEN\", from any address; empty = no token."},
	{NULL, 0, NULL, NULL, NULL},
};
