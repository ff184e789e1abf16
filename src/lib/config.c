/*
 * config: the mechanism (parsing, typed values, the commented default
 * file) and the generic keys that lib/ itself and every protocol read.
 * A module's own keys live in its <module>-config.c (see config.h).
 */
#include "lib/config.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/tls.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A config line longer than this is an error, not a truncation. */
#define CONFIG_MAX_LINE 4096

const struct config_key config_generic_keys[] = {
	/* server: connection limits and threads (lib/conn, lib/workers) */
	{"server.hostname", CONFIG_STR, "localhost", NULL,
	 "Name this server uses in greetings and Received: headers."},
	{"server.max_connections", CONFIG_INT, "20000", NULL,
	 "Total client connections over all protocols; more are refused."},
	{"server.max_connections_per_ip", CONFIG_INT, "100", NULL,
	 "Client connections from one IP address; more are refused."},
	{"server.line_timeout", CONFIG_SECONDS, "60s", NULL,
	 "A command line must be complete this long after its first byte arrived, however slowly it trickles in (slow-loris); 0 = no limit."},
	{"server.output_stall_timeout", CONFIG_SECONDS, "5m", NULL,
	 "A connection whose pending replies make no progress this long (the client stopped reading) is closed; 0 = never."},
	{"server.login_timeout", CONFIG_SECONDS, "3m", NULL,
	 "IMAP/POP3 must log in, SMTP/LMTP must start a first MAIL, this long after connecting; not extended by activity; 0 = no limit."},
	{"server.memory_budget", CONFIG_SIZE, "0", NULL,
	 "Memory all connections together may hold for message transfers (SMTP DATA/BDAT, IMAP APPEND literals, big FETCH/RETR messages); past it new transfers get a temporary refusal. 0 = a quarter of RAM, at least 256M, at most 2G; unlimited = no budget."},
	{"server.worker_threads", CONFIG_INT, "2", NULL,
	 "Threads in each of the two worker pools: password checks (hashing is deliberately slow), and heavy reads (SEARCH of text not yet indexed, SORT, THREAD)."},
	{"log.level", CONFIG_ENUM, "info", "debug|info|warn|error", "Lowest level logged to stderr."},
	{"log.format", CONFIG_ENUM, "text", "text|json",
	 "text: time level=L key=value... message; json: one object per line (time, level, the key=value fields, msg). contrib/fail2ban reads text."},

	/* PROXY protocol (lib/proxy-proto.c): nodes behind a load balancer */
	{"proxy.protocol", CONFIG_STR, "", NULL,
	 "Listeners whose connections start with a HAProxy PROXY header (v1 or v2), comma separated: imap, imaps, pop3, pop3s, smtp, submission, submissions, lmtp (TCP addresses only), http, https, or all; empty = none. The header's client address then counts for limits, throttling, logs and Received:. Needs a restart."},
	{"proxy.trusted", CONFIG_STR, "127.0.0.1/32, ::1/128", NULL,
	 "Sources (addresses or CIDR networks) allowed to send a PROXY header; on a proxy.protocol listener any other source is closed at once."},

	/* TLS (lib/tls.c) */
	{"tls.cert", CONFIG_PATH, "tls/cert.pem", NULL, "Certificate chain (PEM). Empty disables TLS."},
	{"tls.key", CONFIG_PATH, "tls/key.pem", NULL, "Private key (PEM)."},
	{"tls.min_version", CONFIG_ENUM, TLS_POLICY_MIN_VERSION, "TLSv1.2|TLSv1.3",
	 "Oldest TLS version accepted (Mozilla \"intermediate\": TLSv1.2)."},
	{"tls.ciphers", CONFIG_STR, TLS_POLICY_CIPHERS, NULL,
	 "TLS 1.2 cipher list (OpenSSL syntax); the default is ECDHE with AEAD ciphers only."},
	{"tls.ciphersuites", CONFIG_STR, TLS_POLICY_CIPHERSUITES, NULL,
	 "TLS 1.3 cipher suites (OpenSSL syntax)."},

	/* shared by every protocol that accepts a message and by `roost deliver` */
	{"message.max_size", CONFIG_SIZE, "50M", NULL,
	 "Largest message accepted (SMTP SIZE, LMTP, APPEND, deliver)."},
	{NULL, 0, NULL, NULL, NULL},
};

struct config_value {
	char *text;
	int64_t num; /* parsed INT/SIZE/SECONDS(ms)/BOOL */
	char *path;  /* CONFIG_PATH: absolute */
};

struct config {
	char *datadir;
	size_t nkeys;
	const struct config_key **keys; /* every table's rows, in table order */
	struct config_value *values;
};

static ssize_t key_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nkeys; i++)
		if (strcmp(cfg->keys[i]->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

int config_parse_size(const char *s, int64_t *bytes_r)
{
	if (strcmp(s, "unlimited") == 0) {
		*bytes_r = -1;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	unsigned long long mul = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mul = 1ULL << 10; end++; break;
	case 'M': mul = 1ULL << 20; end++; break;
	case 'G': mul = 1ULL << 30; end++; break;
	case 'T': mul = 1ULL << 40; end++; break;
	default: return -1;
	}
	if (mul > 1 && (*end == 'B' || *end == 'b'))
		end++;
	if (*end != '\0' || v > (unsigned long long)INT64_MAX / mul)
		return -1;
	*bytes_r = (int64_t)(v * mul);
	return 0;
}

int config_parse_bool(const char *s, bool *b_r)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b_r = false;
			return 0;
		}
	}
	return -1;
}

int config_parse_seconds(const char *s, int64_t *ms_r)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || v < 0)
		return -1;
	double mul = 1000;
	if (strcmp(end, "ms") == 0)
		mul = 1, end += 2;
	else if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60e3, end++;
	else if (*end == 'h')
		mul = 3600e3, end++;
	else if (*end == 'd')
		mul = 86400e3, end++;
	if (*end != '\0' || v * mul > 1e15)
		return -1;
	*ms_r = (int64_t)(v * mul);
	return 0;
}

static int check_listen(const char *v)
{
	/* Each element: unix:/path, [v6]:port, or host:port with port 1-65535. */
	char *copy = xstrdup(v);
	int ret = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		size_t n = strlen(tok);
		while (n > 0 && isspace((unsigned char)tok[n - 1]))
			tok[--n] = '\0';
		if (strncmp(tok, "unix:", 5) == 0) {
			if (tok[5] == '\0')
				ret = -1;
			continue;
		}
		char *colon = strrchr(tok, ':');
		if (colon == NULL || colon == tok) {
			ret = -1;
			break;
		}
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535) {
			ret = -1;
			break;
		}
	}
	free(copy);
	return ret;
}

static int enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

static int set_index(struct config *cfg, size_t i, const char *value, char **error_r)
{
	const struct config_key *k = cfg->keys[i];
	struct config_value nv = {0};
	bool b;
	switch (k->type) {
	case CONFIG_STR:
		break;
	case CONFIG_LISTEN:
		if (check_listen(value) < 0)
			goto bad;
		break;
	case CONFIG_BOOL:
		if (config_parse_bool(value, &b) < 0)
			goto bad;
		nv.num = b;
		break;
	case CONFIG_INT: {
		char *end;
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno || *end || end == value || v < 0)
			goto bad;
		nv.num = v;
		break;
	}
	case CONFIG_SIZE:
		if (config_parse_size(value, &nv.num) < 0)
			goto bad;
		break;
	case CONFIG_SECONDS:
		if (config_parse_seconds(value, &nv.num) < 0)
			goto bad;
		break;
	case CONFIG_ENUM:
		if (!enum_has(k->choices, value))
			goto bad;
		break;
	case CONFIG_PATH:
		if (value[0] == '\0' || value[0] == '/')
			nv.path = xstrdup(value);
		else
			nv.path = xasprintf("%s/%s", cfg->datadir, value);
		break;
	}
	nv.text = xstrdup(value);
	free(cfg->values[i].text);
	free(cfg->values[i].path);
	cfg->values[i] = nv;
	return 0;
bad:
	if (k->type == CONFIG_ENUM)
		*error_r = xasprintf("%s: bad value '%s' (expected one of %s)", k->name, value, k->choices);
	else
		*error_r = xasprintf("%s: bad value '%s'", k->name, value);
	return -1;
}

struct config *config_new(const char *datadir, const struct config_key *const *tables)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	cfg->datadir = xstrdup(datadir);
	size_t n = 0;
	for (size_t t = 0; tables[t] != NULL; t++)
		for (const struct config_key *k = tables[t]; k->name != NULL; k++)
			n++;
	cfg->keys = xcalloc(n, sizeof(*cfg->keys));
	cfg->values = xcalloc(n, sizeof(*cfg->values));
	for (size_t t = 0; tables[t] != NULL; t++) {
		for (const struct config_key *k = tables[t]; k->name != NULL; k++) {
			/* Two modules claiming one key is a bug, not a setting. */
			if (key_index(cfg, k->name) >= 0)
				fatal("config: key %s declared twice", k->name);
			cfg->keys[cfg->nkeys++] = k;
		}
	}
	for (size_t i = 0; i < cfg->nkeys; i++) {
		char *err = NULL;
		if (set_index(cfg, i, cfg->keys[i]->def, &err) < 0)
			fatal("config: built-in default broken: %s", err);
	}
	return cfg;
}

size_t config_nkeys(const struct config *cfg)
{
	return cfg->nkeys;
}

const struct config_key *config_key_nth(const struct config *cfg, size_t i)
{
	return i < cfg->nkeys ? cfg->keys[i] : NULL;
}

void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nkeys; i++) {
		free(cfg->values[i].text);
		free(cfg->values[i].path);
	}
	free(cfg->values);
	free(cfg->keys);
	free(cfg->datadir);
	free(cfg);
	*cfgp = NULL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int config_set(struct config *cfg, const char *key, const char *value, char **error_r)
{
	ssize_t i = key_index(cfg, key);
	if (i < 0) {
		*error_r = xasprintf("%s: unknown configuration key", key);
		return -1;
	}
	return set_index(cfg, (size_t)i, value, error_r);
}

int config_set_arg(struct config *cfg, const char *arg, char **error_r)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL) {
		*error_r = xasprintf("--set %s: expected key=value", arg);
		return -1;
	}
	char *key = xstrndup(arg, (size_t)(eq - arg));
	char *k = trim(key);
	char *val = xstrdup(eq + 1);
	int r = config_set(cfg, k, trim(val), error_r);
	free(key);
	free(val);
	return r;
}

int config_load_file(struct config *cfg, const char *path, char **error_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	char line[CONFIG_MAX_LINE + 2];
	int lineno = 0, ret = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			*error_r = xasprintf("%s:%d: line too long", path, lineno);
			ret = -1;
			break;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			*error_r = xasprintf("%s:%d: expected 'key = value'", path, lineno);
			ret = -1;
			break;
		}
		*eq = '\0';
		char *err = NULL;
		if (config_set(cfg, trim(s), trim(eq + 1), &err) < 0) {
			*error_r = xasprintf("%s:%d: %s", path, lineno, err);
			free(err);
			ret = -1;
			break;
		}
	}
	fclose(f);
	return ret;
}

static const struct config_value *get(const struct config *cfg, const char *key, int type)
{
	ssize_t i = key_index(cfg, key);
	if (i < 0)
		fatal("config: undeclared key %s", key);
	if (type >= 0 && (int)cfg->keys[i]->type != type)
		fatal("config: key %s read with the wrong type", key);
	return &cfg->values[i];
}

const char *config_str(const struct config *cfg, const char *key)
{
	return get(cfg, key, -1)->text;
}

bool config_bool(const struct config *cfg, const char *key)
{
	return get(cfg, key, CONFIG_BOOL)->num != 0;
}

int64_t config_int(const struct config *cfg, const char *key)
{
	return get(cfg, key, CONFIG_INT)->num;
}

int64_t config_size(const struct config *cfg, const char *key)
{
	return get(cfg, key, CONFIG_SIZE)->num;
}

int64_t config_ms(const struct config *cfg, const char *key)
{
	return get(cfg, key, CONFIG_SECONDS)->num;
}

const char *config_path(const struct config *cfg, const char *key)
{
	return get(cfg, key, CONFIG_PATH)->path;
}

const char *config_datadir(const struct config *cfg)
{
	return cfg->datadir;
}

/* Length of a key's section: "imap" in "imap.timeout". */
static size_t section_len(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot != NULL ? (size_t)(dot - name) : strlen(name);
}

static bool same_section(const char *a, const char *b)
{
	size_t n = section_len(a);
	return n == section_len(b) && strncmp(a, b, n) == 0;
}

void config_write_default(const struct config *cfg, FILE *f)
{
	fputs("# roost.conf: Roost configuration.\n"
	      "# Every key is listed with its default, commented out. Uncomment and change\n"
	      "# what you need; `roost serve --set key=value` overrides this file.\n"
	      "# Relative paths are relative to this data directory.\n",
	      f);
	/* One paragraph per section, in the order sections first appear,
	 * even when two modules' tables both add to one section. */
	for (size_t i = 0; i < cfg->nkeys; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = same_section(cfg->keys[j]->name, cfg->keys[i]->name);
		if (seen)
			continue;
		fprintf(f, "\n");
		for (size_t j = i; j < cfg->nkeys; j++) {
			const struct config_key *k = cfg->keys[j];
			if (!same_section(k->name, cfg->keys[i]->name))
				continue;
			fprintf(f, "# %s", k->doc);
			if (k->type == CONFIG_ENUM)
				fprintf(f, " (%s)", k->choices);
			fprintf(f, "\n#%s = %s\n", k->name, k->def);
		}
	}
}
