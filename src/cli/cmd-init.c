/*
 * cmd-init: `roost -d DIR init` creates a data directory: DIR (mode
 * 0700), the database, tls/cert.pem + tls/key.pem (self-signed for
 * localhost, unless both files are already there) and, last, the
 * commented roost.conf. roost.conf is what marks a complete data
 * directory, so it is written last and atomically (temporary file +
 * rename); init refuses to run when it or the database already exists.
 *
 * `init --hostname NAME` writes the production profile instead of the
 * loopback one: the standard ports on every address, server.hostname,
 * ACME on (tls.acme: the self-signed certificate serves until the first
 * one is issued for NAME over port 80), and the privilege drop to
 * server.user (the default) left on. The profile is a block of active
 * settings after the commented defaults.
 *
 * `init --postgresql CONNINFO` creates the store's schema in that empty
 * PostgreSQL database instead of DIR/roost.db, and writes store.backend
 * and store.postgresql into roost.conf; the rest of DIR (configuration,
 * certificates, sockets, logs) is as with SQLite.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "mail/address.h"
#include "store/store.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The production profile: every listener on its standard port (RFC 6335
 * registrations; RFC 8314 for 465, 993, 995). LMTP stays on loopback: it
 * is for a front MTA on this host. */
static const char *const profile[][2] = {
	{"smtp.listen", "*:25"},	 {"submission.listen", "*:587"},
	{"submissions.listen", "*:465"}, {"imap.listen", "*:143"},
	{"imaps.listen", "*:993"},	 {"pop3.listen", "*:110"},
	{"pop3s.listen", "*:995"},	 {"http.listen", "*:80"},
	{"https.listen", "*:443"},	 {"managesieve.listen", "*:4190"},
	{"tls.acme", "yes"},
};

static void write_profile(FILE *f, const char *hostname)
{
	fprintf(f, "\n# Production profile (roost init --hostname %s): standard ports on\n"
		   "# every address; started as root, roost binds them, then runs as\n"
		   "# server.user. ACME (tls.acme) obtains a certificate for %s over\n"
		   "# port 80 and renews it; to use your own instead, set tls.acme = no\n"
		   "# and point tls.cert, tls.key at it (README: Certificates).\n",
		hostname, hostname);
	fprintf(f, "server.hostname = %s\n", hostname);
	for (size_t i = 0; i < sizeof(profile) / sizeof(profile[0]); i++)
		fprintf(f, "%s = %s\n", profile[i][0], profile[i][1]);
}

static int write_config(const char *datadir, const char *path, const char *hostname,
			const char *pg_conninfo, char **error_r)
{
	char *tmp = xasprintf("%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		*error_r = xasprintf("%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return -1;
	}
	struct config *cfg = config_new(datadir, cli_config_tables);
	config_write_default(cfg, f);
	config_free(&cfg);
	if (hostname != NULL)
		write_profile(f, hostname);
	if (pg_conninfo != NULL)
		fprintf(f, "\n# The store is in PostgreSQL (roost init --postgresql).\n"
			   "store.backend = postgresql\nstore.postgresql = %s\n", pg_conninfo);
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	const char *dir = cli->datadir;
	char *conf = xasprintf("%s/roost.conf", dir);
	char *tlsdir = xasprintf("%s/tls", dir);
	char *cert = xasprintf("%s/tls/cert.pem", dir);
	char *key = xasprintf("%s/tls/key.pem", dir);
	char *error = NULL;
	int code = CLI_EX_ERROR;
	const char *hostname = NULL, *pg_conninfo = NULL;

	for (int i = 0; i < argc; i += 2) {
		bool known = i + 1 < argc && (strcmp(argv[i], "--hostname") == 0 ||
					      strcmp(argv[i], "--postgresql") == 0);
		if (!known) {
			code = cli_fail(cli, CLI_EX_USAGE,
				 "usage: roost init [--hostname NAME] [--postgresql CONNINFO]");
			goto out;
		}
		if (argv[i][2] == 'h')
			hostname = argv[i + 1];
		else
			pg_conninfo = argv[i + 1];
	}
	if (hostname != NULL && (!domain_valid(hostname) || strchr(hostname, '.') == NULL)) {
		code = cli_fail(cli, CLI_EX_USAGE, "--hostname %.255s: expected a host name such as "
			 "mail.example.com", hostname);
		goto out;
	}
	/* it becomes one line of roost.conf, and the store's settings */
	if (pg_conninfo != NULL && (pg_conninfo[0] == '\0' || strpbrk(pg_conninfo, "\r\n") != NULL ||
				    strlen(pg_conninfo) >= STORE_PG_CONNINFO_MAX)) {
		code = cli_fail(cli, CLI_EX_USAGE, "--postgresql: expected a libpq connection string on one"
			 " line, at most %d bytes", STORE_PG_CONNINFO_MAX - 1);
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cli_fail(cli, code, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (exists(conf)) {
		cli_fail(cli, code, "%s already exists: refusing to overwrite a data directory", conf);
		goto out;
	}
	enum store_err err = store_create(dir, pg_conninfo, &error);
	if (err == STORE_EEXISTS) {
		cli_fail(cli, code, "%s: refusing to overwrite a data directory", error);
		goto out;
	} else if (err != STORE_OK) {
		cli_fail(cli, code, "cannot create the database: %s", error);
		goto out;
	}
	if (mkdir(tlsdir, 0700) < 0 && errno != EEXIST) {
		cli_fail(cli, code, "%s: %s", tlsdir, strerror(errno));
		goto out;
	}
	/* Keep a certificate the admin put there before init. */
	if (!(exists(cert) && exists(key))) {
		unlink(cert);
		unlink(key);
		if (cli_cert_selfsigned(cert, key, &error) < 0) {
			cli_fail(cli, code, "%s", error);
			goto out;
		}
	}
	if (write_config(dir, conf, hostname, pg_conninfo, &error) < 0) {
		cli_fail(cli, code, "%s", error);
		goto out;
	}
	fprintf(cli->out, "Created %s (configuration: %s)\n", dir, conf);
	if (hostname != NULL)
		fprintf(cli->out, "Production profile for %s: standard ports on every address; "
				  "install a certificate for it as %s\n", hostname, cert);
	code = CLI_EX_OK;
out:
	free(error);
	free(conf);
	free(tlsdir);
	free(cert);
	free(key);
	return code;
}
