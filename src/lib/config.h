/*
 * config: the one roost.conf file, "key = value" lines, '#' comments.
 * Every key is declared once, with its type, default and documentation,
 * in the table of the module that owns it: config_generic_keys (here, for
 * lib/ and what every protocol shares), and src/<module>/<module>-config.c
 * for the rest (imap_config_keys, pop3_config_keys, smtp_config_keys,
 * store_config_keys, daemon_config_keys). The top layer lists the tables
 * once (cli/cli-config.c) and hands them to config_new(). Unknown keys and
 * bad values are errors naming the key. `roost serve --set key=value`
 * overrides the file.
 */
#ifndef ROOST_CONFIG_H
#define ROOST_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type {
	CONFIG_STR,	 /* any text */
	CONFIG_LISTEN,	 /* comma list of host:port, [v6]:port or unix:/path; empty = off */
	CONFIG_BOOL,	 /* yes/no, true/false, on/off, 1/0 */
	CONFIG_INT,	 /* non-negative integer */
	CONFIG_SIZE,	 /* bytes: 1024, 500K, 500M, 2G, or "unlimited" (stored as -1) */
	CONFIG_SECONDS,	 /* 30, 30s, 5m, 2h, 7d; stored in milliseconds internally */
	CONFIG_ENUM,	 /* one of the choices listed in `choices`, '|' separated */
	CONFIG_PATH,	 /* a path; relative paths are relative to the data dir */
};

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;
	const char *choices; /* CONFIG_ENUM only */
	const char *doc;
};

/* A table of keys ends with a row whose name is NULL. */
extern const struct config_key config_generic_keys[];

struct config;

/* A configuration holding every key of `tables` (a NULL-terminated list
 * of key tables) at its default. A key declared twice is fatal (a bug). */
struct config *config_new(const char *datadir, const struct config_key *const *tables);
void config_free(struct config **cfg);
/* Load a file; a missing file is an error. */
int config_load_file(struct config *cfg, const char *path, char **error_r);
/* Set one key from text, validating it. "key=value" form for --set. */
int config_set(struct config *cfg, const char *key, const char *value, char **error_r);
int config_set_arg(struct config *cfg, const char *key_eq_value, char **error_r);

/* Getters abort on an undeclared key or wrong type: that is a bug. */
const char *config_str(const struct config *cfg, const char *key);
bool config_bool(const struct config *cfg, const char *key);
int64_t config_int(const struct config *cfg, const char *key);
/* -1 means unlimited. */
int64_t config_size(const struct config *cfg, const char *key);
int64_t config_ms(const struct config *cfg, const char *key);
/* Absolute path (data dir joined). Caller does not free. */
const char *config_path(const struct config *cfg, const char *key);
const char *config_datadir(const struct config *cfg);

/* Parse helpers shared with the CLI. */
int config_parse_size(const char *s, int64_t *bytes_r);
int config_parse_bool(const char *s, bool *b_r);
int config_parse_seconds(const char *s, int64_t *ms_r);

/* The declared keys, in table order: i < config_nkeys(), else NULL. */
size_t config_nkeys(const struct config *cfg);
const struct config_key *config_key_nth(const struct config *cfg, size_t i);

/* Write the commented default roost.conf: every key of cfg with its
 * default and doc, one paragraph per section ("imap", "pop3", ...). */
void config_write_default(const struct config *cfg, FILE *f);
#endif
