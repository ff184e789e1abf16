/* reload: SIGHUP handling (see reload.h). */
#include "daemon/reload.h"
#include "acme/acme.h"
#include "http/http.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/tls.h"
#include <stdlib.h>
#include <string.h>

const char *const reload_live_keys[] = {
	"log.level",	   "tls.cert",		 "tls.key",	       "tls.min_version",
	"tls.ciphers",	   "tls.ciphersuites", "http.metrics_allow", "http.metrics_token",
	NULL,
};

static bool is_live(const char *key)
{
	for (size_t i = 0; reload_live_keys[i] != NULL; i++)
		if (strcmp(reload_live_keys[i], key) == 0)
			return true;
	return false;
}

/* Values of keys holding secrets are never logged. */
static const char *shown(const char *key, const char *value)
{
	return strstr(key, "token") != NULL || strstr(key, "password") != NULL ? "(secret)" : value;
}

/* The new certificate, key and policy, all or nothing. */
static SSL_CTX *tls_load(const struct config *next, char **error_r)
{
	SSL_CTX *ctx = tls_server_ctx_new(config_path(next, "tls.cert"),
					  config_path(next, "tls.key"), error_r);
	if (ctx != NULL &&
	    tls_server_ctx_policy(ctx, config_str(next, "tls.min_version"),
				  config_str(next, "tls.ciphers"), config_str(next, "tls.ciphersuites"),
				  error_r) < 0) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

int reload_certificate(struct config *live, struct event_base *base,
		       const struct conn_limits *limits, char **error_r)
{
	SSL_CTX *ctx = tls_load(live, error_r);
	if (ctx == NULL)
		return -1;
	conn_global_init(base, limits, ctx);
	http_set_ssl_ctx(ctx);
	SSL_CTX_free(ctx);
	return 0;
}

int reload_run(struct config *live, serve_reload_fn *fn, struct event_base *base,
	       const struct conn_limits *limits)
{
	char *error = NULL;
	struct config *next = fn != NULL ? fn(config_datadir(live), &error) : NULL;
	if (next == NULL) {
		log_warn("reload: %s: nothing changed", error != NULL ? error : "no configuration");
		free(error);
		return -1;
	}
	/* An ACME certificate replaces tls.cert/tls.key (acme.h). */
	if (acme_config_apply(next, &error) < 0) {
		log_warn("reload: %s: nothing changed", error);
		free(error);
		config_free(&next);
		return -1;
	}
	/* TLS off, or turned off or on, needs the listeners rebuilt: restart. */
	bool tls_on = *config_str(live, "tls.cert") != '\0';
	bool tls_next = *config_str(next, "tls.cert") != '\0';
	SSL_CTX *ctx = NULL;
	if (tls_on && tls_next) {
		ctx = tls_load(next, &error);
		if (ctx == NULL) {
			log_warn("reload: TLS: %s: nothing changed", error);
			free(error);
			config_free(&next);
			return -1;
		}
	}
	int changed = 0, restart = 0;
	for (size_t i = 0; i < config_nkeys(next); i++) {
		const char *key = config_key_nth(next, i)->name;
		const char *now = config_str(live, key), *want = config_str(next, key);
		if (strcmp(now, want) == 0)
			continue;
		bool tls_flip = strcmp(key, "tls.cert") == 0 && tls_on != tls_next;
		if (!is_live(key) || tls_flip) {
			log_warn("reload: %s changed to '%s': needs a restart, still '%s'", key,
				 shown(key, want), shown(key, now));
			restart++;
			continue;
		}
		if (config_set(live, key, want, &error) < 0) { /* validated already */
			log_warn("reload: %s", error);
			free(error);
			error = NULL;
			continue;
		}
		log_info("reload: %s = %s", key, shown(key, want));
		changed++;
	}
	enum log_level level;
	if (log_parse_level(config_str(live, "log.level"), &level) == 0)
		log_set_level(level);
	if (ctx != NULL) {
		/* New connections get the new certificate; open ones keep
		 * theirs (each SSL holds its context). */
		conn_global_init(base, limits, ctx);
		http_set_ssl_ctx(ctx);
		SSL_CTX_free(ctx);
	}
	log_info("reload: done: certificate %s, %d keys changed live, %d need a restart",
		 ctx != NULL ? "reloaded" : "unchanged (TLS off)", changed, restart);
	config_free(&next);
	return 0;
}
