/* test-config: the per-module key tables assembled into one config. */
#include "unit.h"
#include "cli/cli.h"
#include "lib/config.h"
#include <stdlib.h>

static const struct config_key test_keys_a[] = {
	{"alpha.one", CONFIG_INT, "1", NULL, "First."},
	{"beta.two", CONFIG_BOOL, "yes", NULL, "Second."},
	{NULL, 0, NULL, NULL, NULL},
};
static const struct config_key test_keys_b[] = {
	{"alpha.three", CONFIG_ENUM, "x", "x|y", "Third."},
	{NULL, 0, NULL, NULL, NULL},
};

TEST(config_tables_are_joined_in_order)
{
	const struct config_key *const tables[] = {test_keys_a, test_keys_b, NULL};
	struct config *cfg = config_new("/nonexistent", tables);
	CHECK_INT(config_nkeys(cfg), 3);
	CHECK_STR(config_key_nth(cfg, 2)->name, "alpha.three");
	CHECK(config_key_nth(cfg, 3) == NULL);
	CHECK_INT(config_int(cfg, "alpha.one"), 1);
	char *error = NULL;
	CHECK(config_set(cfg, "alpha.three", "z", &error) < 0);
	CHECK(error != NULL && strstr(error, "alpha.three") != NULL);
	free(error);
	error = NULL;
	CHECK(config_set(cfg, "gamma.four", "1", &error) < 0);
	CHECK(error != NULL && strstr(error, "gamma.four: unknown") != NULL);
	free(error);

	/* One paragraph per section even when the tables interleave it. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_write_default(cfg, f);
	fclose(f);
	const char *one = strstr(text, "#alpha.one = 1\n");
	const char *three = strstr(text, "#alpha.three = x\n");
	const char *two = strstr(text, "#beta.two = yes\n");
	CHECK(one != NULL && three != NULL && two != NULL);
	CHECK(one < three && three < two);
	free(text);
	config_free(&cfg);
	CHECK(cfg == NULL);
}

/* `roost init` documents every key of every module at its default. */
TEST(config_default_file_has_every_key)
{
	struct config *cfg = config_new("/nonexistent", cli_config_tables);
	CHECK(config_nkeys(cfg) > 40);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_write_default(cfg, f);
	fclose(f);
	for (size_t i = 0; i < config_nkeys(cfg); i++) {
		const struct config_key *k = config_key_nth(cfg, i);
		char *line = NULL;
		size_t n = 0;
		FILE *lf = open_memstream(&line, &n);
		fprintf(lf, "\n#%s = %s\n", k->name, k->def);
		fclose(lf);
		if (strstr(text, line) == NULL)
			unit_fail(__FILE__, __LINE__, "%s missing from the default file", k->name);
		free(line);
	}
	CHECK(strstr(text, "#imap.timeout = 30m\n") != NULL);
	CHECK(strstr(text, "#quota.storage = 1G\n") != NULL);
	free(text);
	config_free(&cfg);
}
