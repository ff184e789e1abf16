/*
 * fuzz-config: the roost.conf parser (lib/config.h). The input is a whole
 * configuration file, loaded with config_load_file() from a temporary file
 * (the API takes a path); then each of its lines also goes through
 * config_set_arg(), the `roost serve --set key=value` path.
 *
 * Invariants: a failed load names the problem; whatever was accepted
 * reads back through the typed getters within its type's range (INT >= 0,
 * SIZE >= -1, SECONDS >= 0, ENUM one of its choices, PATH absolute since
 * the data dir is), and every key's stored text is accepted again by
 * config_set() unchanged. A getter never aborts on a declared key.
 */
#include "fuzz.h"
#include "cli/cli.h"
#include "lib/config.h"
#include <unistd.h>

static char tmp_path[] = "/tmp/roost-fuzz-config-XXXXXX";
static int tmp_fd = -1;

static void remove_tmp(void)
{
	if (tmp_fd >= 0)
		unlink(tmp_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tmp_fd = mkstemp(tmp_path);
	FUZZ_CHECK(tmp_fd >= 0);
	atexit(remove_tmp);
	return 0;
}

static bool enum_choice(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; p != NULL; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL) {
		const char *bar = strchr(p, '|');
		size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return true;
	}
	return false;
}

static void check_values(struct config *cfg)
{
	for (size_t i = 0; i < config_nkeys(cfg); i++) {
		const struct config_key *k = config_key_nth(cfg, i);
		const char *text = config_str(cfg, k->name);
		FUZZ_CHECK(text != NULL);
		switch (k->type) {
		case CONFIG_BOOL:
			(void)config_bool(cfg, k->name);
			break;
		case CONFIG_INT:
			FUZZ_CHECK(config_int(cfg, k->name) >= 0);
			break;
		case CONFIG_SIZE:
			FUZZ_CHECK(config_size(cfg, k->name) >= -1);
			break;
		case CONFIG_SECONDS:
			FUZZ_CHECK(config_ms(cfg, k->name) >= 0);
			break;
		case CONFIG_ENUM:
			FUZZ_CHECK(enum_choice(k->choices, text));
			break;
		case CONFIG_PATH: {
			const char *p = config_path(cfg, k->name);
			FUZZ_CHECK(p != NULL && (p[0] == '/' || p[0] == '\0'));
			break;
		}
		case CONFIG_STR:
		case CONFIG_LISTEN:
			break;
		}
		/* What was accepted once is accepted again, unchanged. */
		char *copy = strdup(text), *err = NULL;
		FUZZ_CHECK(copy != NULL);
		if (config_set(cfg, k->name, copy, &err) != 0) {
			fprintf(stderr, "%s = '%s' not accepted again: %s\n", k->name, copy, err);
			FUZZ_CHECK(!"stored value accepted again");
		}
		FUZZ_CHECK(strcmp(config_str(cfg, k->name), copy) == 0);
		free(copy);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FUZZ_CHECK(ftruncate(tmp_fd, 0) == 0);
	FUZZ_CHECK(pwrite(tmp_fd, data, size, 0) == (ssize_t)size);

	struct config *cfg = config_new("/var/lib/roost-fuzz", cli_config_tables);
	char *error = NULL;
	if (config_load_file(cfg, tmp_path, &error) < 0) {
		FUZZ_CHECK(error != NULL);
		free(error);
	}
	check_values(cfg);

	size_t pos = 0;
	struct fuzz_line line;
	while (fuzz_next_line(data, size, &pos, &line)) {
		error = NULL;
		if (config_set_arg(cfg, line.text, &error) < 0) {
			FUZZ_CHECK(error != NULL);
			free(error);
		}
		int64_t n;
		bool b;
		(void)config_parse_size(line.text, &n);
		(void)config_parse_seconds(line.text, &n);
		(void)config_parse_bool(line.text, &b);
		free(line.text);
	}
	check_values(cfg);
	config_free(&cfg);
	FUZZ_CHECK(cfg == NULL);
	return 0;
}
