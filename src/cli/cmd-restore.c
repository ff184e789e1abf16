/*
 * cmd-restore: `roost restore [--force] SRC`: a whole server back from a
 * backup made by `roost backup` (format: cli-backup.h).
 *
 * The backup is verified first (cmd_backup_verify: checksums, integrity,
 * roost check's invariants), so a damaged backup never replaces anything.
 * Refused while a daemon serves the data directory (its open database
 * would go on writing the old file; stop it first, --force or not), and
 * when the directory holds anything unless --force. Each file is copied
 * next to its place and renamed over it; the database's -wal and -shm go
 * before the restored roost.db takes its name, as an old WAL replayed
 * into the restored file would corrupt it.
 */
#include "cli/cli-backup.h"
#include "cli/cli.h"
#include "daemon/control.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "store/store-backup.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return errno == ENOENT;
	bool empty = true;
	struct dirent *e;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Is a daemon listening on the data directory's control socket? */
static bool daemon_running(struct cli *cli)
{
	struct config *cfg = config_new(cli->datadir, cli_config_tables);
	char *conf = xasprintf("%s/roost.conf", cli->datadir);
	char *error = NULL;
	if (access(conf, F_OK) == 0 && config_load_file(cfg, conf, &error) < 0)
		free(error); /* the defaults name the socket then */
	free(conf);
	int fd = -1;
	FILE *devnull = fopen("/dev/null", "we");
	int r = control_client_connect(config_path(cfg, "control.socket"), &fd,
				       devnull ? devnull : cli->err);
	if (devnull != NULL)
		fclose(devnull);
	if (r == 0)
		close(fd);
	config_free(&cfg);
	return r != -1;
}

/* mkdir -p for the directories of rel under root. */
static int make_parents(const char *root, const char *rel, char **error_r)
{
	char *p = xasprintf("%s/%s", root, rel);
	size_t skip = strlen(root) + 1;
	for (char *c = p + skip; (c = strchr(c, '/')) != NULL; c++) {
		*c = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			*error_r = xasprintf("%s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*c = '/';
	}
	free(p);
	return 0;
}

static int restore_file(const char *src, const char *dir, const char *rel, char **error_r)
{
	char *from = xasprintf("%s/%s", src, rel);
	char *to = xasprintf("%s/%s", dir, rel);
	char *tmp = xasprintf("%s.restore-tmp", to);
	struct stat st;
	unsigned mode = stat(from, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0600;
	unlink(tmp);
	int rc = make_parents(dir, rel, error_r);
	if (rc == 0)
		rc = backup_copy_file(from, tmp, mode, error_r);
	if (rc == 0 && strcmp(rel, "roost.db") == 0) {
		char *wal = xasprintf("%s-wal", to), *shm = xasprintf("%s-shm", to);
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	if (rc == 0 && rename(tmp, to) < 0) {
		*error_r = xasprintf("%s: %s", to, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		unlink(tmp);
	free(from);
	free(to);
	free(tmp);
	return rc;
}

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	bool force = false;
	const char *src = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (src == NULL)
			src = argv[i];
		else
			return cli_fail(cli, CLI_EX_USAGE, "usage: roost restore [--force] <src>");
	}
	if (src == NULL)
		return cli_fail(cli, CLI_EX_USAGE, "usage: roost restore [--force] <src>");
	if (daemon_running(cli))
		return cli_fail(cli, CLI_EX_ERROR,
				"a daemon is serving %s: stop it before restoring the whole "
				"server (one account: roost restore --account)", cli->datadir);
	if (!force && !dir_is_empty(cli->datadir))
		return cli_fail(cli, CLI_EX_ERROR,
				"%s is not empty: restoring would replace its database and files "
				"(add --force to replace them)", cli->datadir);
	char *srcv[1] = {(char *)src};
	int code = cmd_backup_verify(cli, 1, srcv);
	if (code != CLI_EX_OK)
		return cli_fail(cli, code, "%s: the backup does not verify: nothing restored", src);
	struct backup_manifest m;
	char *error = NULL;
	if (backup_manifest_read(src, &m, &error) < 0) {
		code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		return code;
	}
	if (mkdir(cli->datadir, 0700) < 0 && errno != EEXIST) {
		backup_manifest_free(&m);
		return cli_fail(cli, CLI_EX_ERROR, "%s: %s", cli->datadir, strerror(errno));
	}
	int rc = 0;
	/* the database last: a restore that stops half way leaves no new
	 * database beside old keys or an old config */
	for (size_t i = 0; rc == 0 && i < m.nfiles; i++)
		if (strcmp(m.files[i].path, "roost.db") != 0)
			rc = restore_file(src, cli->datadir, m.files[i].path, &error);
	if (rc == 0)
		rc = restore_file(src, cli->datadir, "roost.db", &error);
	backup_sync_dir(cli->datadir);
	if (rc < 0) {
		code = cli_fail(cli, CLI_EX_ERROR, "restore: %s", error);
		free(error);
	} else {
		fprintf(cli->out, "restored %zu files from %s into %s\n", m.nfiles, src,
			cli->datadir);
		code = CLI_EX_OK;
	}
	backup_manifest_free(&m);
	return code;
}

/*
 * `roost restore --account ADDRESS SRC`: one account back into a server,
 * running or not (through the control socket the daemon's writer does it
 * in one transaction: its sessions see the account absent or whole; other
 * accounts are not touched). An account that exists is not replaced:
 * `roost user del` it first (a deliberate second command, as its current
 * mail is then gone). SRC must be an absolute path when a daemon runs, as
 * the daemon (as server.user) reads it.
 */
int cmd_restore_account(struct cli *cli, int argc, char **argv)
{
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	const char *src = argv[1];
	if (cli->via_daemon && src[0] != '/') {
		free(addr);
		return cli_fail(cli, CLI_EX_USAGE,
				"%s: give the backup's absolute path (the daemon reads it)", src);
	}
	struct backup_manifest m;
	char *error = NULL;
	int code = CLI_EX_OK;
	if (backup_manifest_read(src, &m, &error) < 0) {
		code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		free(addr);
		return code;
	}
	if (backup_check_files(src, &m, cli->out) > 0) {
		backup_manifest_free(&m);
		free(addr);
		return cli_fail(cli, CLI_EX_ERROR, "%s: the backup does not verify: nothing restored",
				src);
	}
	backup_manifest_free(&m);
	char *db = xasprintf("%s/roost.db", src);
	size_t nmb = 0, nmsg = 0;
	enum store_err err = store_restore_account(cli->store, db, addr, &nmb, &nmsg, &error);
	free(db);
	if (err == STORE_OK) {
		fprintf(cli->out, "restored %s: %zu mailboxes, %zu messages\n", addr, nmb, nmsg);
		free(error);
	} else {
		code = cli_store_result(cli, err, error, "restore");
	}
	free(addr);
	return code;
}
