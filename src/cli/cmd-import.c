/*
 * cmd-import: `roost import maildir ADDRESS PATH` — a Maildir++ tree into
 * an account: PATH is INBOX, PATH/.A.B is mailbox "A/B" (modified UTF-7
 * names, as Dovecot writes them), flags from file names, keywords through
 * each folder's dovecot-keywords, internal date = the file's mtime.
 *
 * Resumable without duplicates: each message's POP3 UIDL is derived from
 * its file's unique name (the part before ":2,"; 32 hex digits of its
 * SHA-256, within RFC 1939's 70 characters), stored in the same commit as
 * the message, and a file whose UIDL is already in the mailbox is
 * skipped; so a run killed at any point and started again imports each
 * message exactly once. Each message is one op through the store
 * (the daemon's writer when one runs: group commit); quota applies as for
 * any delivery. Limits: message.max_size per message, and folders at most
 * STORE_MAX_MAILBOX_DEPTH deep (the mailbox name rules).
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "mail/mailbox-name.h"
#include "mail/maildir.h"
#include "store/store.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lines of one dovecot-keywords file read (26 letters are usable). */
#define IMPORT_MAX_KEYWORD_LINES 1000

struct import_run {
	struct cli *cli;
	int64_t account_id;
	int64_t max_size;
	size_t imported, skipped, failed, folders;
};

static void uidl_of(const char *name, size_t len, char out[33])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)name, len, md);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* dovecot-keywords: "<index> <name>" per line; letter 'a' + index. */
static void read_keywords(const char *dir, char *names[26])
{
	char *p = xasprintf("%s/dovecot-keywords", dir);
	FILE *f = fopen(p, "re");
	free(p);
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0, lines = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0 && lines++ < IMPORT_MAX_KEYWORD_LINES) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		char *end = NULL;
		long idx = strtol(line, &end, 10);
		if (end == line || *end != ' ' || idx < 0 || idx >= 26 || end[1] == '\0' ||
		    strlen(end + 1) > STORE_MAX_KEYWORD_LEN || strchr(end + 1, ' ') != NULL)
			continue;
		free(names[idx]);
		names[idx] = xstrdup(end + 1);
	}
	free(line);
	fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum store_err mailbox_for(struct import_run *r, const char *name, int64_t *id_r)
{
	struct store_mailbox mb = {0};
	enum store_err err = store_mailbox_get(r->cli->store, r->account_id, name, &mb);
	if (err == STORE_OK) {
		*id_r = mb.id;
		store_mailbox_clear(&mb);
		return STORE_OK;
	}
	if (err != STORE_ENOTFOUND)
		return err;
	struct store_op op;
	store_op_init(&op, STORE_OP_MAILBOX_CREATE);
	op.u.mailbox.account_id = r->account_id;
	op.u.mailbox.name = name;
	err = store_run(r->cli->store, &op);
	*id_r = op.u.mailbox.mailbox_id;
	store_op_clear(&op);
	if (err == STORE_EEXISTS)
		return mailbox_for(r, name, id_r);
	return err;
}

static int read_file(const char *path, int64_t max, char **data_r, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	char *data = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*data_r = data;
	*len_r = got;
	return 0;
}

static int import_folder(struct import_run *r, const char *dir, const char *name)
{
	int64_t mbid;
	enum store_err err = mailbox_for(r, name, &mbid);
	if (err != STORE_OK)
		return cli_store_result(r->cli, err, NULL, name);
	r->folders++;
	struct store_msg *msgs = NULL;
	size_t nmsgs = 0;
	err = store_mailbox_messages(r->cli->store, r->account_id, mbid, &msgs, &nmsgs);
	if (err != STORE_OK)
		return cli_store_result(r->cli, err, NULL, name);
	/* the UIDLs already imported, sorted for lookup */
	const char **have = xcalloc(nmsgs + 1, sizeof(*have));
	size_t nhave = 0;
	for (size_t i = 0; i < nmsgs; i++)
		if (msgs[i].pop3_uidl != NULL)
			have[nhave++] = msgs[i].pop3_uidl;
	qsort(have, nhave, sizeof(*have), cmp_str);
	char *kw[26] = {0};
	read_keywords(dir, kw);
	static const char *const subs[] = {"cur", "new"};
	int code = CLI_EX_OK;
	for (size_t s = 0; code == CLI_EX_OK && s < 2; s++) {
		char *sub = xasprintf("%s/%s", dir, subs[s]);
		DIR *d = opendir(sub);
		struct dirent *e;
		while (d != NULL && code == CLI_EX_OK && (e = readdir(d)) != NULL) {
			struct maildir_info info;
			if (!maildir_parse_name(e->d_name, &info))
				continue;
			char uidl[33];
			uidl_of(e->d_name, info.base_len, uidl);
			const char *key = uidl;
			if (nhave > 0 && bsearch(&key, have, nhave, sizeof(*have), cmp_str) != NULL) {
				r->skipped++;
				continue;
			}
			char *path = xasprintf("%s/%s", sub, e->d_name);
			struct stat st;
			char *data = NULL;
			size_t len = 0;
			if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
			    read_file(path, r->max_size, &data, &len) < 0) {
				fprintf(r->cli->err, "roost: %s: %s\n", path, strerror(errno));
				r->failed++;
				free(path);
				continue;
			}
			char *kws = xstrdup("");
			for (int i = 0; i < 26; i++) {
				if (!(info.keyword_letters & (1u << i)) || kw[i] == NULL)
					continue;
				char *next = xasprintf("%s%s%s", kws, *kws ? " " : "", kw[i]);
				free(kws);
				kws = next;
			}
			struct store_target t = {.account_id = r->account_id, .mailbox_id = mbid,
						 .flags = info.flags, .keywords = *kws ? kws : NULL};
			struct store_op op;
			store_op_init(&op, STORE_OP_DELIVER);
			op.u.deliver.data = data;
			op.u.deliver.len = len;
			op.u.deliver.internaldate = (int64_t)st.st_mtime;
			op.u.deliver.targets = &t;
			op.u.deliver.ntargets = 1;
			op.u.deliver.pop3_uidl = uidl;
			err = store_run(r->cli->store, &op);
			if (err == STORE_OK && t.err != STORE_OK)
				err = t.err;
			if (err == STORE_OK) {
				r->imported++;
			} else if (err == STORE_ENOQUOTA || err == STORE_ETEMP || err == STORE_ENOSPACE ||
				   err == STORE_EINUSE) {
				code = cli_store_result(r->cli, err, op.error ? xstrdup(op.error) : NULL,
							path);
			} else {
				fprintf(r->cli->err, "roost: %s: %s\n", path, store_strerror(err));
				r->failed++;
			}
			store_op_clear(&op);
			free(kws);
			free(data);
			free(path);
			if (r->imported % 1000 == 0 && r->imported > 0 && isatty(fileno(r->cli->err)))
				fprintf(r->cli->err, "\r%zu messages", r->imported);
		}
		if (d != NULL)
			closedir(d);
		free(sub);
	}
	for (int i = 0; i < 26; i++)
		free(kw[i]);
	free(have);
	store_msg_list_free(msgs, nmsgs);
	return code;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	if (strcmp(argv[0], "maildir") != 0)
		return cli_fail(cli, CLI_EX_USAGE, "import %s: not supported yet (maildir)", argv[0]);
	char *addr = cli_address(cli, argv[1]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	const char *path = argv[2];
	if (cli->via_daemon && path[0] != '/') {
		free(addr);
		return cli_fail(cli, CLI_EX_USAGE, "%s: give an absolute path (the daemon reads it)",
				path);
	}
	struct store_account acct = {0};
	enum store_err err = store_account_get(cli->store, addr, &acct);
	if (err != STORE_OK) {
		int code = cli_store_result(cli, err, NULL, addr);
		free(addr);
		return code;
	}
	struct import_run r = {.cli = cli, .account_id = acct.id,
			       .max_size = config_size(cli->cfg, "message.max_size")};
	store_account_clear(&acct);
	int code = import_folder(&r, path, "INBOX");
	DIR *d = code == CLI_EX_OK ? opendir(path) : NULL;
	if (code == CLI_EX_OK && d == NULL)
		code = cli_fail(cli, CLI_EX_ERROR, "%s: %s", path, strerror(errno));
	struct dirent *e;
	while (d != NULL && code == CLI_EX_OK && (e = readdir(d)) != NULL) {
		/* Maildir++ folders: ".A.B"; not "." and ".." */
		if (e->d_name[0] != '.' || e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0)
			continue;
		char *dir = xasprintf("%s/%s", path, e->d_name);
		struct stat st;
		char *cur = xasprintf("%s/cur", dir);
		bool is_folder = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
		free(cur);
		char *name = NULL;
		if (is_folder) {
			char *m = xstrdup(e->d_name + 1);
			for (char *c = m; *c; c++)
				if (*c == '.')
					*c = '/';
			if (mailbox_name_mutf7_decode(m, &name) < 0)
				name = xstrdup(m);
			free(m);
			if (!store_mailbox_name_valid(name)) {
				fprintf(cli->err, "roost: %s: not a valid mailbox name here: skipped\n",
					dir);
				r.failed++;
			} else {
				code = import_folder(&r, dir, name);
			}
		}
		free(name);
		free(dir);
	}
	if (d != NULL)
		closedir(d);
	if (isatty(fileno(cli->err)) && r.imported >= 1000)
		fputc('\n', cli->err);
	fprintf(cli->out, "imported %zu messages into %zu mailboxes of %s; %zu already there, "
			  "%zu failed\n", r.imported, r.folders, addr, r.skipped, r.failed);
	free(addr);
	if (code == CLI_EX_OK && r.failed > 0)
		code = CLI_EX_ERROR;
	return code;
}
