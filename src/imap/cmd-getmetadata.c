/*
 * GETMETADATA (RFC 5464 4.2): entries of the server ("") or of one of the
 * account's mailboxes. Options MAXSIZE (4.2.1: larger values are left
 * out, OK [METADATA LONGENTRIES n] names the largest left out) and DEPTH
 * 0, 1 or infinity (4.2.2). The options may come before the mailbox (the
 * RFC's grammar) or after it (its examples); both are accepted, as
 * deployed servers do. A requested entry that does not exist is NIL.
 */
#include "imap/imap-commands.h"
#include "imap/imap-metadata.h"
#include "imap/imap-op.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/imap-quote.h"
#include "store/store-metadata.h"
#include <stdlib.h>
#include <string.h>

/* Entry names in one GETMETADATA. */
#define IMAP_METADATA_MAX_GET 100

/* Names already in the response, sorted: requests may overlap ("/private"
 * with DEPTH infinity and "/private/x"), and an entry is sent once, so
 * the response stays within the account's metadata octets
 * (STORE_METADATA_MAX_ACCOUNT_BYTES) whatever the client asks. */
struct seen {
	char **names;
	size_t n, cap;
};

/* false when `name` was sent already; else remembers it */
static bool seen_add(struct seen *z, const char *name)
{
	size_t lo = 0, hi = z->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(z->names[mid], name);
		if (c == 0)
			return false;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	z->names = xgrow(z->names, &z->cap, z->n + 1, sizeof(*z->names));
	memmove(&z->names[lo + 1], &z->names[lo], (z->n - lo) * sizeof(*z->names));
	z->names[lo] = xstrdup(name);
	z->n++;
	return true;
}

static void seen_free(struct seen *z)
{
	for (size_t i = 0; i < z->n; i++)
		free(z->names[i]);
	free(z->names);
}

struct get_opts {
	uint64_t maxsize;	/* UINT64_MAX = no MAXSIZE */
	int depth;		/* 0, 1, -1 = infinity */
};

static bool parse_opts(const struct imap_arg *list, struct get_opts *o)
{
	if (list->type != IMAP_ARG_LIST || list->count == 0 || list->count % 2 != 0)
		return false;
	for (size_t i = 0; i < list->count; i += 2) {
		const struct imap_arg *v = &list->list[i + 1];
		if (v->type != IMAP_ARG_ATOM)
			return false;
		if (imap_arg_is_atom(&list->list[i], "MAXSIZE")) {
			if (imap_parse_number(v->str, UINT32_MAX, &o->maxsize) < 0)
				return false;
		} else if (imap_arg_is_atom(&list->list[i], "DEPTH")) {
			if (strcmp(v->str, "0") == 0)
				o->depth = 0;
			else if (strcmp(v->str, "1") == 0)
				o->depth = 1;
			else if (imap_arg_is_atom(v, "infinity"))
				o->depth = -1;
			else
				return false;
		} else {
			return false;
		}
	}
	return true;
}

void cmd_getmetadata(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct get_opts o = {UINT64_MAX, 0};
	const struct imap_arg *mbox, *entries;
	const struct imap_arg *a = cmd->a.args;
	if (cmd->a.count == 2) {
		mbox = &a[0];
		entries = &a[1];
	} else if (cmd->a.count == 3 && a[0].type == IMAP_ARG_LIST && parse_opts(&a[0], &o)) {
		mbox = &a[1];
		entries = &a[2];
	} else if (cmd->a.count == 3 && a[1].type == IMAP_ARG_LIST && parse_opts(&a[1], &o)) {
		mbox = &a[0];
		entries = &a[2];
	} else {
		imap_cmd_bad(cmd, "GETMETADATA [options] mailbox entries");
		return;
	}
	const struct imap_arg *list = entries;
	size_t n = 1;
	if (entries->type == IMAP_ARG_LIST) {
		list = entries->list;
		n = entries->count;
	}
	if (n == 0 || n > IMAP_METADATA_MAX_GET) {
		imap_cmd_bad(cmd, "GETMETADATA takes 1 to %d entry names", IMAP_METADATA_MAX_GET);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!imap_arg_is_astring(&list[i])) {
			imap_cmd_bad(cmd, "Expected an entry name");
			return;
		}

	int64_t mailbox_id;
	char *name;
	bool subscribed;
	enum store_err err;
	const char *error;
	if (imap_metadata_mailbox(s, mbox, &mailbox_id, &name, &subscribed, &err, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (err != STORE_OK) {
		imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such mailbox"
							: "Cannot read the mailbox");
		return;
	}

	/* every read first: a failure answers NO with nothing half-sent */
	struct buf b;
	buf_init(&b, SIZE_MAX);
	imap_metadata_response_start(s, &b, name);
	size_t start = b.len;
	uint64_t longest = 0;
	struct seen seen = {0};
	for (size_t i = 0; i < n && err == STORE_OK; i++) {
		char *entry;
		if (imap_metadata_entry_parse(list[i].str, list[i].len, true, &entry, &error) < 0) {
			seen_free(&seen);
			buf_free(&b);
			free(name);
			imap_cmd_bad(cmd, "%s", error);
			return;
		}
		struct store_metadata_entry *found;
		size_t nfound;
		err = store_metadata_get(s->srv->store, s->account_id, mailbox_id, entry, o.depth,
					 &found, &nfound);
		if (err == STORE_OK) {
			bool self = false;
			for (size_t j = 0; j < nfound; j++) {
				if (strcmp(found[j].name, entry) == 0)
					self = true;
				if (!seen_add(&seen, found[j].name))
					continue;
				if (found[j].len > o.maxsize) {
					if (found[j].len > longest)
						longest = found[j].len;
					continue;
				}
				if (b.len > start)
					buf_putc(&b, ' ');
				imap_metadata_entry_name(&b, found[j].name);
				buf_putc(&b, ' ');
				imap_metadata_value(&b, found[j].value, found[j].len);
			}
			if (!self && o.depth == 0 && seen_add(&seen, entry)) {
				if (b.len > start)
					buf_putc(&b, ' ');
				imap_metadata_entry_name(&b, entry);
				buf_puts(&b, " NIL");
			}
			store_metadata_entries_free(found, nfound);
		}
		free(entry);
	}
	free(name);
	seen_free(&seen);
	if (err != STORE_OK) {
		buf_free(&b);
		imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such mailbox"
							: "Cannot read metadata");
		return;
	}
	/* the response's list may not be empty (RFC 5464 section 5) */
	if (b.len > start) {
		buf_puts(&b, ")\r\n");
		imap_write(s, b.data, b.len);
	}
	buf_free(&b);
	if (longest > 0)
		imap_cmd_ok(cmd, "[METADATA LONGENTRIES %llu] GETMETADATA completed",
			    (unsigned long long)longest);
	else
		imap_cmd_ok(cmd, "GETMETADATA completed");
}
