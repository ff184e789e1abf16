/* unit: the runner. Prints one line per test and "N passed, M failed". */
#include "unit.h"
#include "lib/log.h"
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_TESTS 1024

static struct {
	const char *name;
	unit_fn *fn;
} tests[MAX_TESTS];
static int ntests, failed_now;
static char tmpdir[256];

void unit_register(const char *name, unit_fn *fn)
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	failed_now = 1;
}

const char *unit_tmpdir(void)
{
	if (tmpdir[0] != '\0') {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/roost-unit-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	return tmpdir;
}

const char *unit_tmpdir_current(void)
{
	return tmpdir;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	log_set_level(LOG_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
			continue;
		failed_now = 0;
		tests[i].fn();
		printf("%s %s\n", failed_now ? "FAIL" : "ok  ", tests[i].name);
		if (failed_now)
			failed++;
		else
			passed++;
		if (tmpdir[0] != '\0') {
			char cmd[300];
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
			if (system(cmd) != 0)
				fprintf(stderr, "could not remove %s\n", tmpdir);
			tmpdir[0] = '\0';
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
