/*
 * cmd-store-copy: `roost store copy --to postgresql CONNINFO` moves the
 * data directory's SQLite store (DIR/roost.db) into an empty PostgreSQL
 * database; `roost store copy --to sqlite` moves a PostgreSQL store back
 * into a new DIR/roost.db. Every UID, UIDVALIDITY, MODSEQ, flag, POP3
 * UIDL and EMAILID/THREADID is kept (store-copy.h), so no client
 * downloads anything again.
 *
 * Offline: refused while a daemon answers on the control socket (its
 * writes after the snapshot would be lost), as `roost restore` is. The
 * copy is the store's; this file checks, then switches roost.conf to the
 * new store (store.backend and store.postgresql, the lines `roost init
 * --postgresql` writes) with a temporary file renamed over it, only after
 * the copy committed. The old store is left as it was, for the admin to
 * remove once the copy is checked.
 */
#include "cli/cli.h"
#include "daemon/control.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "store/store-config.h"
#include "store/store-copy.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* roost.conf is the admin's file: rewritten line by line, and refused
 * beyond this size rather than read into memory whole. */
#define STORE_COPY_CONF_MAX (1024 * 1024)
/* the longest line config_load_file reads (lib/config.c) */
#define STORE_COPY_LINE_MAX 4096

static const char usage[] = "usage: roost store copy --to postgresql <conninfo> | --to sqlite";

/* Is a daemon listening on the data directory's control socket? */
static bool daemon_running(struct cli *cli)
{
	int fd = -1;
	FILE *devnull = fopen("/dev/null", "we");
	int r = control_client_connect(config_path(cli->cfg, "control.socket"), &fd,
				       devnull ? devnull : cli->err);
	if (devnull != NULL)
		fclose(devnull);
	if (r == 0)
		close(fd);
	return r != -1;
}

/* An active "store.backend" or "store.postgresql" line (comments stay). */
static bool store_line(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	static const char *const keys[] = {"store.backend", "store.postgresql"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i]);
		if (strncmp(line, keys[i], n) != 0)
			continue;
		const char *p = line + n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=')
			return true;
	}
	return false;
}

/* The comment above the store lines that init --postgresql or an
 * earlier copy wrote: it goes with them. */
static bool store_comment(const char *line)
{
	return strncmp(line, "# The store is in PostgreSQL (roost ", 36) == 0 ||
	       strncmp(line, "# The store is DIR/roost.db again (roost ", 41) == 0;
}

/* roost.conf with its store lines replaced by `block`: a temporary file,
 * synced, renamed over it (same mode). */
static int switch_config(const char *path, const char *block, char **error_r)
{
	FILE *in = fopen(path, "re");
	if (in == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(in), &st) < 0 || st.st_size > STORE_COPY_CONF_MAX) {
		*error_r = xasprintf("%s: not a regular file of at most %d bytes", path,
				     STORE_COPY_CONF_MAX);
		fclose(in);
		return -1;
	}
	char *tmp = xasprintf("%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      st.st_mode & 0777);
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (out == NULL) {
		*error_r = xasprintf("%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		fclose(in);
		free(tmp);
		return -1;
	}
	char line[STORE_COPY_LINE_MAX + 2];
	bool ok = true;
	while (ok && fgets(line, sizeof(line), in) != NULL) {
		size_t n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			*error_r = xasprintf("%s: a line longer than %d bytes", path, STORE_COPY_LINE_MAX);
			ok = false;
		} else if (!store_line(line) && !store_comment(line)) {
			ok = fputs(line, out) >= 0;
		}
	}
	if (ferror(in))
		ok = false;
	fclose(in);
	ok = ok && fputs(block, out) >= 0 && fflush(out) == 0 && fsync(fileno(out)) == 0;
	ok = fclose(out) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		if (*error_r == NULL)
			*error_r = xasprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int cmd_store_copy(struct cli *cli, int argc, char **argv)
{
	bool to_pg = argc == 3 && strcmp(argv[0], "--to") == 0 && strcmp(argv[1], "postgresql") == 0;
	bool to_sqlite = argc == 2 && strcmp(argv[0], "--to") == 0 && strcmp(argv[1], "sqlite") == 0;
	if (!to_pg && !to_sqlite)
		return cli_fail(cli, CLI_EX_USAGE, "%s", usage);
	const char *conninfo = to_pg ? argv[2] : NULL;
	/* it becomes one line of roost.conf, as with roost init --postgresql */
	if (to_pg && (conninfo[0] == '\0' || strpbrk(conninfo, "\r\n") != NULL ||
		      strlen(conninfo) >= STORE_PG_CONNINFO_MAX))
		return cli_fail(cli, CLI_EX_USAGE, "--to postgresql: expected a libpq connection "
				"string on one line, at most %d bytes", STORE_PG_CONNINFO_MAX - 1);
	struct store_settings settings;
	char *error = NULL;
	if (store_config_settings(cli->cfg, &settings, &error) < 0) {
		int code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		return code;
	}
	bool from_pg = settings.pg_conninfo[0] != '\0';
	if (from_pg == to_pg)
		return cli_fail(cli, CLI_EX_ERROR, "the store of %s is in %s already", cli->datadir,
				from_pg ? "PostgreSQL" : "SQLite");
	if (daemon_running(cli))
		return cli_fail(cli, CLI_EX_ERROR, "a daemon is serving %s: stop it before copying"
				" the store (its writes would miss the copy)", cli->datadir);

	struct store_copy_counts n;
	bool target_left = false;
	enum store_err err = store_copy(cli->datadir, &settings, conninfo, &n, &target_left, &error);
	if (err != STORE_OK) {
		int code = cli_fail(cli, err == STORE_ETEMP ? CLI_EX_TEMPFAIL : CLI_EX_ERROR,
				    "store copy: %s", error != NULL ? error : store_strerror(err));
		if (target_left)
			cli_fail(cli, code, "the PostgreSQL database holds an incomplete copy that no"
				 " roost opens: drop it and create it again before another try");
		cli_fail(cli, code, "nothing changed: %s/roost.conf still uses the %s store",
			 cli->datadir, from_pg ? "PostgreSQL" : "SQLite");
		free(error);
		return code;
	}
	char *conf = xasprintf("%s/roost.conf", cli->datadir);
	char *block = to_pg
		? xasprintf("\n# The store is in PostgreSQL (roost store copy; it was %s/roost.db).\n"
			    "store.backend = postgresql\nstore.postgresql = %s\n",
			    cli->datadir, conninfo)
		: xstrdup("\n# The store is DIR/roost.db again (roost store copy --to sqlite).\n"
			  "store.backend = sqlite\n");
	int rc = switch_config(conf, block, &error);
	free(block);
	fprintf(cli->out, "copied %zu domains, %zu aliases, %zu accounts, %zu mailboxes,"
		" %zu messages, %zu queued messages to %s\n", n.domains, n.aliases, n.accounts,
		n.mailboxes, n.messages, n.queued,
		to_pg ? "PostgreSQL" : "SQLite");
	int code = CLI_EX_OK;
	if (rc < 0) {
		code = cli_fail(cli, CLI_EX_ERROR, "the copy is complete, but %s was not switched to"
				" it: %s; set store.backend = %s%s by hand", conf, error,
				to_pg ? "postgresql" : "sqlite",
				to_pg ? " and store.postgresql" : " (and remove store.postgresql)");
		free(error);
	} else {
		fprintf(cli->out, "%s now uses the new store (store.backend = %s)\n", conf,
			to_pg ? "postgresql" : "sqlite");
		if (to_pg)
			fprintf(cli->out, "the old store is left as it was: %s/roost.db (and any"
				" roost.db-wal, roost.db-shm); remove it once roost check and a client"
				" login show the copy is right\n", cli->datadir);
		else
			fprintf(cli->out, "the old store is left as it was in the PostgreSQL database"
				" of the old store.postgresql; drop it once roost check and a client"
				" login show the copy is right\n");
	}
	free(conf);
	return code;
}
