/*
 * cmd-export: `roost export ADDRESS maildir|mbox DEST` — a user's mail in
 * the formats other servers and clients import.
 *
 * maildir: Maildir++ as Dovecot writes it: INBOX is DEST itself, mailbox
 * "A/B" is DEST/.A.B (names in modified UTF-7, RFC 3501 5.1.3, as Dovecot
 * stores them); each message one file in cur/ named
 * "<internaldate>.R<uid>.roost,S=<size>:2,<flags>" with the flag letters of
 * the maildir spec (D draft, F flagged, R answered, S seen, T deleted) and
 * a-z for the first 26 keywords of the folder, listed in its
 * dovecot-keywords file; the file's mtime is the internal date.
 * mbox: DEST/<mailbox>.mbox per mailbox (mboxrd: a "From " line with the
 * internal date, body lines matching ^>*From  get one more '>'), with
 * Status (R seen, O), X-Status (A answered, F flagged, T draft, D deleted)
 * and X-Keywords headers added at the end of each message's header.
 * Message bytes are written as stored (line ends included).
 * Runs in the CLI process (reads only: WAL readers do not disturb a
 * running daemon) so DEST is the caller's path and files are the caller's.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "mail/mailbox-name.h"
#include "store/store.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

/* Keywords a maildir file name can carry (dovecot-keywords letters a-z). */
#define EXPORT_MAILDIR_KEYWORDS 26

struct kwtab {
	char *names[EXPORT_MAILDIR_KEYWORDS];
	size_t n;
};

static int kw_letter(struct kwtab *t, const char *kw)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->names[i], kw) == 0)
			return 'a' + (int)i;
	if (t->n >= EXPORT_MAILDIR_KEYWORDS)
		return 0;
	t->names[t->n] = xstrdup(kw);
	return 'a' + (int)t->n++;
}

static int mkdirs(const char *path)
{
	char *p = xstrdup(path);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*c = '/';
	}
	int rc = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static char *maildir_folder(const char *dest, const char *name)
{
	if (strcmp(name, "INBOX") == 0)
		return xstrdup(dest);
	char *m = NULL;
	if (mailbox_name_mutf7_encode(name, &m) < 0)
		m = xstrdup(name);
	for (char *c = m; *c; c++)
		if (*c == '/')
			*c = '.';
	char *dir = xasprintf("%s/.%s", dest, m);
	free(m);
	return dir;
}

static int export_maildir_msg(const char *dir, struct kwtab *kw, const struct store_msg *msg,
			      const char *data, size_t len)
{
	char flags[8 + EXPORT_MAILDIR_KEYWORDS + 1];
	size_t n = 0;
	if (msg->flags & STORE_FLAG_DRAFT)
		flags[n++] = 'D';
	if (msg->flags & STORE_FLAG_FLAGGED)
		flags[n++] = 'F';
	if (msg->flags & STORE_FLAG_ANSWERED)
		flags[n++] = 'R';
	if (msg->flags & STORE_FLAG_SEEN)
		flags[n++] = 'S';
	if (msg->flags & STORE_FLAG_DELETED)
		flags[n++] = 'T';
	if (msg->keywords != NULL) {
		char *k = xstrdup(msg->keywords);
		char letters[EXPORT_MAILDIR_KEYWORDS + 1];
		size_t nl = 0;
		for (char *w = k; *w != '\0';) {
			char *sp = strchr(w, ' ');
			if (sp != NULL)
				*sp = '\0';
			int l = *w != '\0' ? kw_letter(kw, w) : 0;
			if (l != 0 && nl < EXPORT_MAILDIR_KEYWORDS && memchr(letters, l, nl) == NULL)
				letters[nl++] = (char)l;
			if (sp == NULL)
				break;
			w = sp + 1;
		}
		free(k);
		/* letters in order, after the system flags */
		for (char c = 'a'; c <= 'z'; c++)
			if (memchr(letters, c, nl) != NULL)
				flags[n++] = c;
	}
	flags[n] = '\0';
	char *path = xasprintf("%s/cur/%" PRId64 ".R%" PRIu32 ".roost,S=%zu:2,%s", dir,
			       msg->internaldate, msg->uid, len, flags);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -1 : write_all(fd, data, len);
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	struct utimbuf t = {.actime = (time_t)msg->internaldate, .modtime = (time_t)msg->internaldate};
	if (rc == 0)
		utime(path, &t);
	free(path);
	return rc;
}

/* mboxrd: ">From " gets one more '>' too, so reading undoes it exactly. */
static bool from_line(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] == '>')
		i++;
	return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

static int export_mbox_msg(FILE *f, const struct store_msg *msg, const char *data, size_t len)
{
	time_t t = (time_t)msg->internaldate;
	struct tm tm;
	char date[64];
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(f, "From MAILER-DAEMON %s\n", date);
	bool in_header = true;
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
		const char *line = data + off;
		bool blank = (n == 1 && line[0] == '\n') || (n == 2 && line[0] == '\r');
		if (in_header && blank) {
			fprintf(f, "Status: %sO\n", msg->flags & STORE_FLAG_SEEN ? "R" : "");
			fprintf(f, "X-Status: %s%s%s%s\n", msg->flags & STORE_FLAG_ANSWERED ? "A" : "",
				msg->flags & STORE_FLAG_FLAGGED ? "F" : "",
				msg->flags & STORE_FLAG_DRAFT ? "T" : "",
				msg->flags & STORE_FLAG_DELETED ? "D" : "");
			if (msg->keywords != NULL && *msg->keywords)
				fprintf(f, "X-Keywords: %s\n", msg->keywords);
			in_header = false;
		} else if (!in_header && from_line(line, n)) {
			fputc('>', f);
		}
		fwrite(line, 1, n, f);
		off += n;
	}
	if (len > 0 && data[len - 1] != '\n')
		fputc('\n', f);
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	char *addr = cli_address(cli, argv[0]);
	if (addr == NULL)
		return CLI_EX_ERROR;
	bool maildir = strcmp(argv[1], "maildir") == 0;
	if (!maildir && strcmp(argv[1], "mbox") != 0) {
		free(addr);
		return cli_fail(cli, CLI_EX_USAGE, "usage: roost export <address> maildir|mbox <dest>");
	}
	const char *dest = argv[2];
	struct store_account acct = {0};
	enum store_err err = store_account_get(cli->store, addr, &acct);
	if (err != STORE_OK) {
		int code = cli_store_result(cli, err, NULL, addr);
		free(addr);
		return code;
	}
	struct store_mailbox *boxes = NULL;
	size_t nboxes = 0, total = 0;
	err = store_mailbox_list(cli->store, acct.id, &boxes, &nboxes);
	int code = err == STORE_OK ? CLI_EX_OK : cli_store_result(cli, err, NULL, "mailboxes");
	if (code == CLI_EX_OK && mkdirs(dest) < 0)
		code = cli_fail(cli, CLI_EX_ERROR, "%s: %s", dest, strerror(errno));
	for (size_t b = 0; code == CLI_EX_OK && b < nboxes; b++) {
		struct store_msg *msgs = NULL;
		size_t n = 0;
		err = store_mailbox_messages(cli->store, acct.id, boxes[b].id, &msgs, &n);
		if (err != STORE_OK) {
			code = cli_store_result(cli, err, NULL, boxes[b].name);
			break;
		}
		char *dir = NULL;
		FILE *mbox = NULL;
		struct kwtab kw = {.n = 0};
		if (maildir) {
			dir = maildir_folder(dest, boxes[b].name);
			char *cur = xasprintf("%s/cur", dir), *nw = xasprintf("%s/new", dir),
			     *tmp = xasprintf("%s/tmp", dir);
			if (mkdirs(cur) < 0 || mkdirs(nw) < 0 || mkdirs(tmp) < 0)
				code = cli_fail(cli, CLI_EX_ERROR, "%s: %s", dir, strerror(errno));
			free(cur);
			free(nw);
			free(tmp);
		} else {
			char *path = xasprintf("%s/%s.mbox", dest, boxes[b].name);
			char *slash = strrchr(path, '/');
			*slash = '\0';
			mkdirs(path);
			*slash = '/';
			mbox = fopen(path, "we");
			if (mbox == NULL)
				code = cli_fail(cli, CLI_EX_ERROR, "%s: %s", path, strerror(errno));
			free(path);
		}
		for (size_t i = 0; code == CLI_EX_OK && i < n; i++) {
			char *data = NULL;
			size_t len = 0;
			err = store_message_content(cli->store, acct.id, boxes[b].id, msgs[i].uid, &data,
						    &len, NULL);
			if (err == STORE_ENOTFOUND)
				continue; /* expunged meanwhile */
			if (err != STORE_OK) {
				code = cli_store_result(cli, err, NULL, boxes[b].name);
				break;
			}
			int rc = maildir ? export_maildir_msg(dir, &kw, &msgs[i], data, len)
					 : export_mbox_msg(mbox, &msgs[i], data, len);
			free(data);
			if (rc < 0)
				code = cli_fail(cli, CLI_EX_ERROR, "%s: writing: %s", boxes[b].name,
						strerror(errno));
			total++;
		}
		if (maildir && code == CLI_EX_OK && kw.n > 0) {
			char *p = xasprintf("%s/dovecot-keywords", dir);
			FILE *f = fopen(p, "we");
			for (size_t i = 0; f != NULL && i < kw.n; i++)
				fprintf(f, "%zu %s\n", i, kw.names[i]);
			if (f == NULL || fclose(f) != 0)
				code = cli_fail(cli, CLI_EX_ERROR, "%s: %s", p, strerror(errno));
			free(p);
		}
		for (size_t i = 0; i < kw.n; i++)
			free(kw.names[i]);
		if (mbox != NULL && fclose(mbox) != 0 && code == CLI_EX_OK)
			code = cli_fail(cli, CLI_EX_ERROR, "%s: %s", boxes[b].name, strerror(errno));
		free(dir);
		store_msg_list_free(msgs, n);
	}
	if (code == CLI_EX_OK)
		fprintf(cli->out, "exported %s: %zu mailboxes, %zu messages to %s (%s)\n", addr,
			nboxes, total, dest, argv[1]);
	store_mailbox_list_free(boxes, nboxes);
	store_account_clear(&acct);
	free(addr);
	return code;
}
