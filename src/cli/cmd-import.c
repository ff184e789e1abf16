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
 *
 * `roost import dovecot ADDRESS MAILDIR` reads the same tree (Maildir++, or
 * LAYOUT=fs: "A/B" directories) and each folder's dovecot-uidlist
 * (version 3: a header "3 V<uidvalidity> N<nextuid> ...", then one line per
 * message "<uid> [<ext>...] :<file name>", extension P<uidl> being the
 * stored POP3 UIDL). A mailbox that is new or empty takes the folder's
 * UIDVALIDITY and next UID, each message its UID, and its POP3 UIDL is the
 * stored one or what Dovecot's default pop3_uidl_format "%08Xu%08Xv"
 * gives (UID then UIDVALIDITY, 8 hex digits each, lowercase as Dovecot
 * 2.3 prints them). Dovecot keeps files with LF line ends and serves
 * them with CRLF; they are stored with CRLF, so sizes and bytes match
 * what its IMAP and POP3 clients saw. IMAP caches
 * and POP3 clients' seen-lists stay valid. A mailbox already holding other
 * mail keeps its UIDVALIDITY; the messages then get new UIDs (said once).
 * Messages go in ascending UID order, so a killed run resumes: the UIDL
 * (stored in the message's commit) says what is there.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "mail/mailbox-name.h"
#include "mail/maildir.h"
#include "mail/mbox.h"
#include "store/store.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lines of one dovecot-keywords file read (26 letters are usable). */
#define IMPORT_MAX_KEYWORD_LINES 1000
/* dovecot-uidlist: lines per file, and bytes per line. */
#define IMPORT_MAX_UIDLIST_LINES 10000000
#define IMPORT_MAX_UIDLIST_LINE 4096
/* A POP3 UIDL is at most 70 characters (RFC 1939 7). */
#define IMPORT_MAX_UIDL 70

struct import_run {
	struct cli *cli;
	int64_t account_id;
	int64_t max_size;
	size_t imported, skipped, failed, folders, renumbered;
	bool dovecot;	/* keep dovecot-uidlist's UIDs and UIDLs */
};

/* One dovecot-uidlist entry. */
struct uidlist_ent {
	uint32_t uid;
	char *base;	/* file name up to ':' */
	char *uidl;	/* P extension, or NULL */
};

struct uidlist {
	uint32_t uidvalidity, nextuid;
	struct uidlist_ent *ents;	/* sorted by base */
	size_t n;
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
	bool created;
	return cli_mailbox_ensure(r->cli, r->account_id, name, NULL, id_r, &created);
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

/* One message into the mailbox with its UIDL. CLI_EX_OK, or the exit
 * code of an error that stops the import (quota, disk, store). */
static int deliver_one(struct import_run *r, int64_t mbid, const char *what, const char *data,
		       size_t len, uint32_t flags, const char *keywords, int64_t date,
		       const char *uidl, uint32_t uid)
{
	struct store_target t = {.account_id = r->account_id, .mailbox_id = mbid,
				 .flags = flags, .keywords = keywords, .import_uid = uid};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = data;
	op.u.deliver.len = len;
	op.u.deliver.internaldate = date;
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	op.u.deliver.pop3_uidl = uidl;
	enum store_err err = store_run(r->cli->store, &op);
	if (err == STORE_OK && t.err != STORE_OK)
		err = t.err;
	if (err == STORE_EEXISTS && uid != 0) {
		/* the UID is taken (below UIDNEXT): a new one, as without ids */
		store_op_clear(&op);
		r->renumbered++;
		return deliver_one(r, mbid, what, data, len, flags, keywords, date, uidl, 0);
	}
	int code = CLI_EX_OK;
	if (err == STORE_OK) {
		r->imported++;
	} else if (err == STORE_ENOQUOTA || err == STORE_ETEMP || err == STORE_ENOSPACE ||
		   err == STORE_EINUSE) {
		code = cli_store_result(r->cli, err, op.error ? xstrdup(op.error) : NULL, what);
	} else {
		fprintf(r->cli->err, "roost: %s: %s\n", what, store_strerror(err));
		r->failed++;
	}
	store_op_clear(&op);
	if (r->imported % 1000 == 0 && r->imported > 0 && isatty(fileno(r->cli->err)))
		fprintf(r->cli->err, "\r%zu messages", r->imported);
	return code;
}

/* The UIDLs already in a mailbox, sorted: what a rerun skips. */
static const char **have_uidls(const struct store_msg *msgs, size_t nmsgs, size_t *n_r)
{
	const char **have = xcalloc(nmsgs + 1, sizeof(*have));
	size_t n = 0;
	for (size_t i = 0; i < nmsgs; i++)
		if (msgs[i].pop3_uidl != NULL)
			have[n++] = msgs[i].pop3_uidl;
	if (n > 1)
		qsort(have, n, sizeof(*have), cmp_str);
	*n_r = n;
	return have;
}

/* A copy with every bare LF made CRLF (malloc'd), or NULL when there is
 * none. */
static char *crlf_copy(const char *data, size_t len, size_t *len_r)
{
	size_t bare = 0;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			bare++;
	if (bare == 0)
		return NULL;
	char *out = xmalloc(len + bare + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = data[i];
	}
	*len_r = o;
	return out;
}

static int cmp_ent_base(const void *a, const void *b)
{
	return strcmp(((const struct uidlist_ent *)a)->base, ((const struct uidlist_ent *)b)->base);
}

static void uidlist_clear(struct uidlist *ul)
{
	for (size_t i = 0; i < ul->n; i++) {
		free(ul->ents[i].base);
		free(ul->ents[i].uidl);
	}
	free(ul->ents);
	memset(ul, 0, sizeof(*ul));
}

/* Read DIR/dovecot-uidlist. 0 with ul filled (uidvalidity 0 when absent
 * or not version 3: then there is nothing to keep). Bad lines are skipped. */
static void uidlist_read(const char *dir, struct uidlist *ul)
{
	memset(ul, 0, sizeof(*ul));
	char *p = xasprintf("%s/dovecot-uidlist", dir);
	FILE *f = fopen(p, "re");
	free(p);
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0, lines = 0, alloc = 0;
	ssize_t n;
	bool header = true;
	while ((n = getline(&line, &cap, f)) > 0 && lines++ < IMPORT_MAX_UIDLIST_LINES) {
		if (n > IMPORT_MAX_UIDLIST_LINE)
			continue;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (header) {
			header = false;
			if (strncmp(line, "3 ", 2) != 0)
				break;
			for (char *t = line + 2; t != NULL && *t; t = strchr(t, ' ') ? strchr(t, ' ') + 1 : NULL) {
				if (*t == 'V')
					ul->uidvalidity = (uint32_t)strtoul(t + 1, NULL, 10);
				else if (*t == 'N')
					ul->nextuid = (uint32_t)strtoul(t + 1, NULL, 10);
			}
			continue;
		}
		char *end = NULL;
		unsigned long uid = strtoul(line, &end, 10);
		char *colon = strstr(line, " :");
		if (end == line || uid == 0 || uid >= 0xffffffffUL || colon == NULL)
			continue;
		char *uidl = NULL;
		/* extensions between the UID and " :": each " <letter><value>" */
		*colon = '\0';
		for (char *t = strchr(end, ' '); t != NULL; t = strchr(t + 1, ' ')) {
			if (t[1] == 'P' && uidl == NULL) {
				size_t l = strcspn(t + 2, " ");
				if (l > 0 && l <= IMPORT_MAX_UIDL)
					uidl = xstrndup(t + 2, l);
			}
		}
		char *base = colon + 2;
		base[strcspn(base, ":")] = '\0';
		if (*base == '\0') {
			free(uidl);
			continue;
		}
		if (ul->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			ul->ents = xrealloc(ul->ents, alloc * sizeof(*ul->ents));
		}
		ul->ents[ul->n++] = (struct uidlist_ent){.uid = (uint32_t)uid,
							 .base = xstrdup(base), .uidl = uidl};
	}
	free(line);
	fclose(f);
	if (ul->n > 0)
		if (ul->n > 1)
			qsort(ul->ents, ul->n, sizeof(*ul->ents), cmp_ent_base);
}

/* A file of a folder, to be imported in UID order. */
struct import_file {
	uint32_t uid;	/* from dovecot-uidlist; 0 = not listed */
	char *path, *base;
	const char *uidl;	/* borrowed from the uidlist, or NULL */
	struct maildir_info info;
};

static int cmp_file_uid(const void *a, const void *b)
{
	const struct import_file *x = a, *y = b;
	/* unlisted files (uid 0) last, in name order */
	if (x->uid != y->uid)
		return x->uid == 0 ? 1 : y->uid == 0 ? -1 : x->uid < y->uid ? -1 : 1;
	return strcmp(x->base, y->base);
}

/* May this mailbox keep the source's UIDs? Yes when its UIDVALIDITY is
 * already the source's (an earlier run), or when it is empty (it takes
 * the source's then). */
static int keep_ids(struct import_run *r, int64_t mbid, const char *name, size_t nmsgs,
		    uint32_t uidvalidity, bool *keep_r)
{
	*keep_r = false;
	if (uidvalidity == 0)
		return CLI_EX_OK; /* no dovecot-uidlist: nothing to keep */
	struct store_mailbox mb = {0};
	enum store_err err = store_mailbox_get_by_id(r->cli->store, r->account_id, mbid, &mb);
	if (err != STORE_OK)
		return cli_store_result(r->cli, err, NULL, name);
	uint32_t have = mb.uidvalidity;
	store_mailbox_clear(&mb);
	if (have == uidvalidity) {
		*keep_r = true;
		return CLI_EX_OK;
	}
	char *error = NULL;
	err = nmsgs > 0 ? STORE_EPERM :
	      store_mailbox_import_ids(r->cli->store, r->account_id, mbid, uidvalidity, &error);
	if (err == STORE_OK) {
		*keep_r = true;
		return CLI_EX_OK;
	}
	if (err != STORE_EPERM)
		return cli_store_result(r->cli, err, error, name);
	fprintf(r->cli->out, "%s: holds other messages: its UIDVALIDITY stays, imported "
			     "messages get new UIDs\n", name);
	free(error);
	return CLI_EX_OK;
}

static int import_folder_dovecot(struct import_run *r, const char *dir, const char *name,
				 int64_t mbid, const char **have, size_t nhave,
				 const struct store_msg *msgs, size_t nmsgs, char *kw[26])
{
	/* The highest UID an earlier run imported: with kept UIDs, files at
	 * or below it are in already or were deleted here since (and must not
	 * come back). */
	uint32_t done_uid = 0;
	for (size_t i = 0; i < nmsgs; i++)
		if (msgs[i].pop3_uidl != NULL && msgs[i].uid > done_uid)
			done_uid = msgs[i].uid;
	struct uidlist ul;
	uidlist_read(dir, &ul);
	bool keep;
	int kcode = keep_ids(r, mbid, name, nmsgs, ul.uidvalidity, &keep);
	if (kcode != CLI_EX_OK) {
		uidlist_clear(&ul);
		return kcode;
	}
	struct import_file *files = NULL;
	size_t nfiles = 0, alloc = 0;
	static const char *const subs[] = {"cur", "new"};
	for (size_t s = 0; s < 2; s++) {
		char *sub = xasprintf("%s/%s", dir, subs[s]);
		DIR *d = opendir(sub);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			struct maildir_info info;
			if (!maildir_parse_name(e->d_name, &info))
				continue;
			if (nfiles == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				files = xrealloc(files, alloc * sizeof(*files));
			}
			struct import_file *f = &files[nfiles++];
			*f = (struct import_file){.path = xasprintf("%s/%s", sub, e->d_name),
						  .base = xstrndup(e->d_name, info.base_len),
						  .info = info};
			struct uidlist_ent key = {.base = f->base};
			struct uidlist_ent *ent = ul.n == 0 ? NULL :
				bsearch(&key, ul.ents, ul.n, sizeof(*ul.ents), cmp_ent_base);
			if (ent != NULL) {
				f->uid = ent->uid;
				f->uidl = ent->uidl;
			}
		}
		if (d != NULL)
			closedir(d);
		free(sub);
	}
	if (nfiles > 1)
		qsort(files, nfiles, sizeof(*files), cmp_file_uid);
	int code = CLI_EX_OK;
	for (size_t i = 0; i < nfiles && code == CLI_EX_OK; i++) {
		struct import_file *f = &files[i];
		char uidl[IMPORT_MAX_UIDL + 1];
		if (f->uidl != NULL)
			snprintf(uidl, sizeof(uidl), "%s", f->uidl);
		else if (f->uid != 0)
			/* pop3_uidl_format = %08Xu%08Xv, Dovecot's default
			 * (which its var_expand writes in lowercase hex) */
			snprintf(uidl, sizeof(uidl), "%08x%08x", f->uid, ul.uidvalidity);
		else
			uidl_of(f->base, strlen(f->base), uidl);
		const char *key = uidl;
		if ((keep && f->uid != 0 && f->uid <= done_uid) ||
		    (nhave > 0 && bsearch(&key, have, nhave, sizeof(*have), cmp_str) != NULL)) {
			r->skipped++;
			continue;
		}
		struct stat st;
		char *data = NULL;
		size_t len = 0;
		if (stat(f->path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    read_file(f->path, r->max_size, &data, &len) < 0) {
			fprintf(r->cli->err, "roost: %s: %s\n", f->path, strerror(errno));
			r->failed++;
			continue;
		}
		char *kws = xstrdup("");
		for (int k = 0; k < 26; k++) {
			if (!(f->info.keyword_letters & (1u << k)) || kw[k] == NULL)
				continue;
			char *next = xasprintf("%s%s%s", kws, *kws ? " " : "", kw[k]);
			free(kws);
			kws = next;
		}
		size_t clen = 0;
		char *crlf = crlf_copy(data, len, &clen);
		if (crlf != NULL && (int64_t)clen > r->max_size) {
			fprintf(r->cli->err, "roost: %s: larger than message.max_size\n", f->path);
			r->failed++;
			free(crlf);
			free(kws);
			free(data);
			continue;
		}
		if (crlf != NULL) {
			free(data);
			data = crlf;
			len = clen;
		}
		code = deliver_one(r, mbid, f->path, data, len, f->info.flags, *kws ? kws : NULL,
				   (int64_t)st.st_mtime, uidl, keep ? f->uid : 0);
		free(kws);
		free(data);
	}
	/* the source's next UID, once every message is in */
	if (keep && code == CLI_EX_OK && ul.nextuid > 1) {
		enum store_err err = store_mailbox_raise_uidnext(r->cli->store, r->account_id, mbid,
								 ul.nextuid, NULL);
		if (err != STORE_OK)
			code = cli_store_result(r->cli, err, NULL, name);
	}
	for (size_t i = 0; i < nfiles; i++) {
		free(files[i].path);
		free(files[i].base);
	}
	free(files);
	uidlist_clear(&ul);
	return code;
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
	size_t nhave = 0;
	const char **have = have_uidls(msgs, nmsgs, &nhave);
	char *kw[26] = {0};
	read_keywords(dir, kw);
	static const char *const subs[] = {"cur", "new"};
	int code = CLI_EX_OK;
	if (r->dovecot)
		code = import_folder_dovecot(r, dir, name, mbid, have, nhave, msgs, nmsgs, kw);
	for (size_t s = 0; !r->dovecot && code == CLI_EX_OK && s < 2; s++) {
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
			code = deliver_one(r, mbid, path, data, len, info.flags, *kws ? kws : NULL,
					   (int64_t)st.st_mtime, uidl, 0);
			free(kws);
			free(data);
			free(path);
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

/* One mbox file into mailbox `name`. A message's UIDL: SHA-256 of its
 * bytes and its ordinal in the file (identical copies stay distinct). */
static int import_mbox_file(struct import_run *r, const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return cli_fail(r->cli, CLI_EX_ERROR, "%s: %s", path, strerror(errno));
	}
	const char *data = NULL;
	if (st.st_size > 0) {
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		data = map == MAP_FAILED ? NULL : map;
	}
	close(fd);
	if (st.st_size > 0 && data == NULL)
		return cli_fail(r->cli, CLI_EX_ERROR, "%s: %s", path, strerror(errno));
	int64_t mbid;
	enum store_err err = mailbox_for(r, name, &mbid);
	struct store_msg *msgs = NULL;
	size_t nmsgs = 0, nhave = 0;
	if (err == STORE_OK)
		err = store_mailbox_messages(r->cli->store, r->account_id, mbid, &msgs, &nmsgs);
	if (err != STORE_OK) {
		if (data != NULL)
			munmap((void *)data, (size_t)st.st_size);
		return cli_store_result(r->cli, err, NULL, name);
	}
	r->folders++;
	const char **have = have_uidls(msgs, nmsgs, &nhave);
	size_t off = 0, len = (size_t)st.st_size;
	uint64_t ordinal = 0;
	int code = CLI_EX_OK, rc;
	struct mbox_msg m;
	while (code == CLI_EX_OK &&
	       (rc = mbox_next(data, len, &off, (size_t)r->max_size, &m)) != 0) {
		if (rc < 0) {
			code = cli_fail(r->cli, CLI_EX_ERROR, "%s: not an mbox file (no \"From \" line "
					"at byte %zu)", path, off);
			break;
		}
		ordinal++;
		if (rc == 2) {
			fprintf(r->cli->err, "roost: %s: message %" PRIu64 " larger than "
					     "message.max_size: skipped\n", path, ordinal);
			r->failed++;
			continue;
		}
		unsigned char md[SHA256_DIGEST_LENGTH + sizeof(ordinal)];
		SHA256((const unsigned char *)m.data, m.len, md);
		memcpy(md + SHA256_DIGEST_LENGTH, &ordinal, sizeof(ordinal));
		SHA256(md, sizeof(md), md);
		char uidl[33];
		for (int i = 0; i < 16; i++)
			snprintf(uidl + 2 * i, 3, "%02x", md[i]);
		const char *key = uidl;
		if (nhave > 0 && bsearch(&key, have, nhave, sizeof(*have), cmp_str) != NULL)
			r->skipped++;
		else
			code = deliver_one(r, mbid, path, m.data, m.len, m.flags, m.keywords,
					   m.date, uidl, 0);
		mbox_msg_clear(&m);
	}
	free(have);
	store_msg_list_free(msgs, nmsgs);
	if (data != NULL)
		munmap((void *)data, len);
	return code;
}

/* A directory of *.mbox files (as `roost export` writes): "A/B.mbox" is
 * mailbox "A/B"; at most STORE_MAX_MAILBOX_DEPTH levels. */
static int import_mbox_dir(struct import_run *r, const char *dir, const char *prefix, int depth)
{
	if (depth >= STORE_MAX_MAILBOX_DEPTH)
		return cli_fail(r->cli, CLI_EX_ERROR, "%s: deeper than %d levels", dir,
				STORE_MAX_MAILBOX_DEPTH);
	DIR *d = opendir(dir);
	if (d == NULL)
		return cli_fail(r->cli, CLI_EX_ERROR, "%s: %s", dir, strerror(errno));
	int code = CLI_EX_OK;
	struct dirent *e;
	while (code == CLI_EX_OK && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		size_t nl = strlen(e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *sub = xasprintf("%s%s/", prefix, e->d_name);
			code = import_mbox_dir(r, p, sub, depth + 1);
			free(sub);
		} else if (nl > 5 && strcmp(e->d_name + nl - 5, ".mbox") == 0) {
			char *name = xasprintf("%s%.*s", prefix, (int)(nl - 5), e->d_name);
			if (!store_mailbox_name_valid(name)) {
				fprintf(r->cli->err, "roost: %s: not a valid mailbox name: skipped\n", p);
				r->failed++;
			} else {
				code = import_mbox_file(r, p, name);
			}
			free(name);
		}
		free(p);
	}
	closedir(d);
	return code;
}

/* .eml files: PATH itself or every regular file of the directory PATH,
 * into INBOX; the UIDL comes from the file's name, the internal date from
 * its mtime, no flags. */
static int import_eml(struct import_run *r, const char *path)
{
	int64_t mbid;
	enum store_err err = mailbox_for(r, "INBOX", &mbid);
	struct store_msg *msgs = NULL;
	size_t nmsgs = 0, nhave = 0;
	if (err == STORE_OK)
		err = store_mailbox_messages(r->cli->store, r->account_id, mbid, &msgs, &nmsgs);
	if (err != STORE_OK)
		return cli_store_result(r->cli, err, NULL, "INBOX");
	r->folders++;
	const char **have = have_uidls(msgs, nmsgs, &nhave);
	struct stat st;
	DIR *d = NULL;
	int code = CLI_EX_OK;
	if (stat(path, &st) < 0) {
		code = cli_fail(r->cli, CLI_EX_ERROR, "%s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode) && (d = opendir(path)) == NULL) {
		code = cli_fail(r->cli, CLI_EX_ERROR, "%s: %s", path, strerror(errno));
	}
	struct dirent *e = NULL;
	bool single = code == CLI_EX_OK && d == NULL;
	while (code == CLI_EX_OK && (single || (e = readdir(d)) != NULL)) {
		char *file = single ? xstrdup(path) : xasprintf("%s/%s", path, e->d_name);
		const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
		struct stat fst;
		if (*base != '.' && stat(file, &fst) == 0 && S_ISREG(fst.st_mode)) {
			char uidl[33];
			uidl_of(base, strlen(base), uidl);
			const char *key = uidl;
			char *data = NULL;
			size_t len = 0;
			if (nhave > 0 && bsearch(&key, have, nhave, sizeof(*have), cmp_str) != NULL) {
				r->skipped++;
			} else if (read_file(file, r->max_size, &data, &len) < 0) {
				fprintf(r->cli->err, "roost: %s: %s\n", file, strerror(errno));
				r->failed++;
			} else {
				code = deliver_one(r, mbid, file, data, len, 0, NULL,
						   (int64_t)fst.st_mtime, uidl, 0);
			}
			free(data);
		}
		free(file);
		if (single)
			break;
	}
	if (d != NULL)
		closedir(d);
	free(have);
	store_msg_list_free(msgs, nmsgs);
	return code;
}

/* LAYOUT=fs: "A/B" directories holding cur/ are mailbox "A/B" (names in
 * modified UTF-7); cur, new, tmp and dot names are not folders. */
static int import_fs_layout(struct import_run *r, const char *dir, const char *prefix, int depth)
{
	if (depth >= STORE_MAX_MAILBOX_DEPTH)
		return CLI_EX_OK;
	DIR *d = opendir(dir);
	if (d == NULL)
		return CLI_EX_OK;
	int code = CLI_EX_OK;
	struct dirent *e;
	while (code == CLI_EX_OK && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "cur") == 0 ||
		    strcmp(e->d_name, "new") == 0 || strcmp(e->d_name, "tmp") == 0)
			continue;
		char *sub = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(sub, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(sub);
			continue;
		}
		char *m = xasprintf("%s%s", prefix, e->d_name);
		char *name = NULL;
		if (mailbox_name_mutf7_decode(m, &name) < 0)
			name = xstrdup(m);
		char *cur = xasprintf("%s/cur", sub);
		bool is_folder = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
		free(cur);
		if (is_folder && store_mailbox_name_valid(name))
			code = import_folder(r, sub, name);
		if (code == CLI_EX_OK) {
			char *np = xasprintf("%s/", m);
			code = import_fs_layout(r, sub, np, depth + 1);
			free(np);
		}
		free(name);
		free(m);
		free(sub);
	}
	closedir(d);
	return code;
}

/* Dovecot's "subscriptions" file at the root: "V\t2" then an empty line,
 * then one name per line, hierarchy levels separated by tabs (older
 * files: names with the '.' separator of Maildir++). */
static void import_subscriptions(struct import_run *r, const char *root)
{
	char *p = xasprintf("%s/subscriptions", root);
	FILE *f = fopen(p, "re");
	free(p);
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0, lines = 0;
	ssize_t n;
	bool v2 = false;
	while ((n = getline(&line, &cap, f)) > 0 && lines++ < STORE_MAX_SUBSCRIPTIONS) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (lines == 1 && strcmp(line, "V\t2") == 0) {
			v2 = true;
			continue;
		}
		if (*line == '\0' || n > STORE_MAX_MAILBOX_NAME)
			continue;
		for (char *c = line; *c; c++)
			if (*c == (v2 ? '\t' : '.'))
				*c = '/';
		char *name = NULL;
		if (mailbox_name_mutf7_decode(line, &name) < 0)
			name = xstrdup(line);
		if (store_mailbox_name_valid(name)) {
			struct store_op op;
			store_op_init(&op, STORE_OP_MAILBOX_SUBSCRIBE);
			op.u.mailbox.account_id = r->account_id;
			op.u.mailbox.name = name;
			op.u.mailbox.subscribe = true;
			enum store_err err = store_run(r->cli->store, &op);
			if (err != STORE_OK)
				fprintf(r->cli->err, "roost: subscribe %s: %s\n", name,
					store_strerror(err));
			store_op_clear(&op);
		}
		free(name);
	}
	free(line);
	fclose(f);
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	bool mbox = strcmp(argv[0], "mbox") == 0, eml = strcmp(argv[0], "eml") == 0;
	bool dovecot = strcmp(argv[0], "dovecot") == 0;
	if (!mbox && !eml && !dovecot && strcmp(argv[0], "maildir") != 0)
		return cli_fail(cli, CLI_EX_USAGE,
				"import %s: not supported (maildir, mbox, eml, dovecot)", argv[0]);
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
			       .max_size = config_size(cli->cfg, "message.max_size"),
			       .dovecot = dovecot};
	store_account_clear(&acct);
	int code;
	DIR *d = NULL;
	struct stat pst;
	if (eml) {
		code = import_eml(&r, path);
	} else if (mbox) {
		if (stat(path, &pst) == 0 && S_ISDIR(pst.st_mode))
			code = import_mbox_dir(&r, path, "", 0);
		else
			code = import_mbox_file(&r, path, "INBOX");
	} else {
		code = import_folder(&r, path, "INBOX");
		d = code == CLI_EX_OK ? opendir(path) : NULL;
	}
	if (!mbox && !eml && code == CLI_EX_OK && d == NULL)
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
	if (!mbox && !eml && code == CLI_EX_OK)
		code = import_fs_layout(&r, path, "", 0);
	if (!mbox && !eml && code == CLI_EX_OK)
		import_subscriptions(&r, path);
	if (r.renumbered > 0)
		fprintf(cli->out, "%zu messages got new UIDs (their UID was taken)\n", r.renumbered);
	if (isatty(fileno(cli->err)) && r.imported >= 1000)
		fputc('\n', cli->err);
	fprintf(cli->out, "imported %zu messages into %zu mailboxes of %s; %zu already there, "
			  "%zu failed\n", r.imported, r.folders, addr, r.skipped, r.failed);
	free(addr);
	if (code == CLI_EX_OK && r.failed > 0)
		code = CLI_EX_ERROR;
	return code;
}
