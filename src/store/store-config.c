/*
 * store-config: the storage and quota keys (see store-config.h). A new
 * storage setting is one row here; `roost init` documents it.
 */
#include "store/store-config.h"
#include "lib/config.h"
#include "lib/alloc.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quota_warn(const struct config *cfg, struct store_settings *set, char **error_r)
{
	memset(set->quota_warn_percent, 0, sizeof(set->quota_warn_percent));
	const char *p = config_str(cfg, "quota.warn_percent");
	size_t n = 0;
	unsigned int last = 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		char *end;
		long v = strtol(p, &end, 10);
		if (*p < '0' || *p > '9' || end == p || v < 1 || v > 100 || (unsigned int)v <= last ||
		    n == STORE_QUOTA_WARN_MAX || (*end != '\0' && *end != ',' && *end != ' ' &&
						   *end != '%')) {
			*error_r = xasprintf("quota.warn_percent: expected up to %d ascending "
					     "percentages 1-100, e.g. \"80, 95\"",
					     STORE_QUOTA_WARN_MAX);
			return -1;
		}
		set->quota_warn_percent[n++] = (unsigned char)v;
		last = (unsigned int)v;
		p = *end == '%' ? end + 1 : end;
	}
	const char *subject = config_str(cfg, "quota.warn_subject");
	const char *text = config_str(cfg, "quota.warn_template");
	if (strlen(subject) >= sizeof(set->quota_warn_subject) ||
	    strlen(text) >= sizeof(set->quota_warn_template)) {
		*error_r = xasprintf("quota.warn_subject and quota.warn_template: at most %d bytes",
				     STORE_QUOTA_WARN_TEXT_MAX - 1);
		return -1;
	}
	snprintf(set->quota_warn_subject, sizeof(set->quota_warn_subject), "%s", subject);
	snprintf(set->quota_warn_template, sizeof(set->quota_warn_template), "%s", text);
	return 0;
}

const struct config_key store_config_keys[] = {
	{"quota.storage", CONFIG_SIZE, "1G", NULL,
	 "Default per-account storage quota (`roost user quota` overrides per account)."},
	{"quota.messages", CONFIG_SIZE, "unlimited", NULL, "Default per-account message-count quota."},
	{"quota.overquota", CONFIG_ENUM, "permanent", "permanent|temporary",
	 "Over-quota deliveries fail permanently (552 5.2.2, exit 77) or temporarily (452 4.2.2, exit 75)."},
	{"quota.warn_percent", CONFIG_STR, "80, 95", NULL,
	 "A delivery that makes an account's storage use cross one of these percentages of its\n"
	 "# quota leaves a notice in its INBOX (at most 4, comma separated; empty = never)."},
	{"quota.warn_subject", CONFIG_STR, "", NULL,
	 "Subject of the quota notice (empty = built in). %a address, %u used MB, %l limit MB,\n"
	 "# %p percent used, %t threshold, %% percent sign. DATADIR/quota-warn/DOMAIN overrides\n"
	 "# subject (first line) and text (the rest) for one domain."},
	{"quota.warn_template", CONFIG_STR, "", NULL,
	 "Text of the quota notice (empty = built in): the placeholders above, \\n for a line break."},
	{"store.busy_timeout", CONFIG_SECONDS, "10s", NULL,
	 "How long a write waits for a database lock held by another process (a backup,\n"
	 "# an admin's sqlite3) before failing with a temporary error (IMAP NO [INUSE])."},
	{"store.backend", CONFIG_ENUM, "sqlite", "sqlite|postgresql",
	 "Where the store lives: sqlite = DATADIR/roost.db, embedded (the default);\n"
	 "# postgresql = the database store.postgresql names (roost init --postgresql)."},
	{"store.postgresql", CONFIG_STR, "", NULL,
	 "The libpq connection string of the PostgreSQL store, e.g.\n"
	 "# \"host=/run/postgresql dbname=roost\" (a password is better in ~/.pgpass)."},
	{"store.content", CONFIG_STR, "db", NULL,
	 "Where message bytes live: db = in the database (the default); dir:PATH = one file\n"
	 "# per content in the directory PATH (absolute; shared storage for several nodes),\n"
	 "# the database keeping its name. Back the directory up with the database."},
	{"search.fts", CONFIG_BOOL, "yes", NULL,
	 "Keep a full-text index of new messages and answer SEARCH BODY/TEXT/HEADER from it;\n"
	 "# no = SEARCH reads the messages (`roost reindex` indexes what was stored meanwhile)."},
	{NULL, 0, NULL, NULL, NULL},
};

int store_config_settings(const struct config *cfg, struct store_settings *set, char **error_r)
{
	memset(set, 0, sizeof(*set));
	set->default_quota_bytes = config_size(cfg, "quota.storage");
	set->default_quota_messages = config_size(cfg, "quota.messages");
	set->busy_timeout_ms = config_ms(cfg, "store.busy_timeout");
	set->fts_disabled = !config_bool(cfg, "search.fts");
	if (strcmp(config_str(cfg, "store.backend"), "postgresql") == 0) {
		const char *ci = config_str(cfg, "store.postgresql");
		if (ci[0] == '\0') {
			*error_r = xstrdup("store.backend = postgresql needs store.postgresql"
					   " (a libpq connection string)");
			return -1;
		}
		if (strlen(ci) >= sizeof(set->pg_conninfo)) {
			*error_r = xasprintf("store.postgresql: longer than %zu bytes",
					     sizeof(set->pg_conninfo) - 1);
			return -1;
		}
		strcpy(set->pg_conninfo, ci);
	}
	const char *content = config_str(cfg, "store.content");
	if (strncmp(content, "dir:", 4) == 0) {
		const char *dir = content + 4;
		if (dir[0] != '/' || strlen(dir) >= sizeof(set->content_dir)) {
			*error_r = xasprintf("store.content = dir:PATH: PATH must be absolute and"
					     " at most %zu bytes", sizeof(set->content_dir) - 1);
			return -1;
		}
		strcpy(set->content_dir, dir);
	} else if (strcmp(content, "db") != 0) {
		*error_r = xasprintf("store.content: \"%s\": expected db or dir:PATH", content);
		return -1;
	}
	return quota_warn(cfg, set, error_r);
}
