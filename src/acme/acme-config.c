/* acme-config: the acme module's configuration keys (see config.h). */
#include "acme/acme.h"
#include <stddef.h>

const struct config_key acme_config_keys[] = {
	{"tls.acme", CONFIG_BOOL, "no", NULL,
	 "Obtain and renew the certificate from an ACME CA (RFC 8555); it is kept in DATADIR/acme/ and replaces tls.cert/tls.key once issued."},
	{"tls.acme_directory", CONFIG_STR, "https://acme-v02.api.letsencrypt.org/directory", NULL,
	 "The ACME directory URL (https only)."},
	{"tls.acme_email", CONFIG_STR, "", NULL,
	 "Contact address for the ACME account (empty: none)."},
	{"tls.acme_hosts", CONFIG_STR, "", NULL,
	 "Names for the certificate, comma separated; empty = server.hostname."},
	{"tls.acme_ca_file", CONFIG_PATH, "", NULL,
	 "Extra CA certificates (PEM) trusted for the ACME directory, besides the system's (a test CA)."},
	{"tls.acme_renew_before", CONFIG_SECONDS, "30d", NULL,
	 "Renew when this much validity is left, or one third of the lifetime if that is less (short-lived certificates)."},
	{"tls.acme_challenge", CONFIG_ENUM, "http-01", "http-01|tls-alpn-01",
	 "How to prove control of the names: http-01 (port 80, http.listen) or tls-alpn-01 (port 443, https.listen)."},
	{"tls.acme_check_interval", CONFIG_SECONDS, "1d", NULL,
	 "How often the certificate's expiry is checked."},
	{"tls.acme_retry_max", CONFIG_SECONDS, "1h", NULL,
	 "Longest wait between failed attempts (the wait doubles from one minute, or from tls.acme_check_interval when shorter)."},
	{NULL, 0, NULL, NULL, NULL},
};
