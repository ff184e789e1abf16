/*
 * pop3-maildrop: the session's snapshot (RFC 1939 section 8: the maildrop
 * is fixed for the session; numbers never change) and the commands that
 * only read or mark it: STAT, LIST, UIDL, DELE, RSET, NOOP.
 *
 * What the maildrop is: pop3.mailboxes (or the account's override) =
 * inbox, INBOX in UID order; = all, every mailbox but Trash, Junk and Sent
 * (store_pop3_maildrop()), by internal date, so a POP3 client also gets
 * what Sieve rules or a phone filed into folders.
 *
 * UIDLs (RFC 1939 section 7) belong to the message, not to where it is: a
 * row without a stored UIDL gets "<uidvalidity>.<uid>" of the mailbox where
 * POP3 first saw it (what INBOX-only POP3 always showed; UIDVALIDITY values
 * are unique in the store, so these never collide), written back at once.
 * COPY and MOVE carry the UIDL, so a message moved between folders (MOVE,
 * or COPY then EXPUNGE) keeps its UIDL and a client that keeps mail on the
 * server does not download it again. Rows that are the same message
 * (the same stored UIDL, or without one the same EMAILID, RFC 8474: only
 * copies share it) are ONE maildrop entry, the first in order: DELE
 * removes every copy, RETR marks every copy retrieved.
 *
 * Sizes: POP3 sends CRLF lines, so a message stored with bare LF is larger
 * on the wire than stored. The store computes that CRLF size once at
 * delivery (store_msg.crlf_size, mail/crlf.c); STAT and LIST never read a
 * message. Only when it is unknown is it computed here from the content.
 *
 * LIST and UIDL without an argument are written as the connection drains
 * (like RETR), so a maildrop of many thousands of messages never queues
 * its whole listing in memory.
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "store/store.h"
#include "store/store-pop3.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A row's identity for finding copies of one message. */
enum dup_kind { DUP_UIDL, DUP_EMAILID, DUP_NONE };
struct dup_key {
	enum dup_kind kind;
	const char *uidl;
	int64_t emailid;
	size_t idx;		/* the row's place in the maildrop order */
};

static int dup_key_cmp(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	int c = 0;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->kind == DUP_UIDL)
		c = strcmp(x->uidl, y->uidl);
	else if (x->kind == DUP_EMAILID && x->emailid != y->emailid)
		c = x->emailid < y->emailid ? -1 : 1;
	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool dup_key_same(const struct dup_key *x, const struct dup_key *y)
{
	if (x->kind != y->kind || x->kind == DUP_NONE)
		return false;
	return x->kind == DUP_UIDL ? strcmp(x->uidl, y->uidl) == 0 : x->emailid == y->emailid;
}

/* The first-sight UIDLs on their way to the store. */
struct uidl_write {
	struct store_op op;
	struct store_pop3_apply apply;
	struct store_pop3_item *items;
	char **uidls;
	size_t n;
};

static void uidl_write_done(struct store_op *op, void *ctx)
{
	struct uidl_write *w = ctx;

	/* Not fatal for the session: the next one computes the same values
	 * for rows that have not moved. */
	if (op->err != STORE_OK)
		log_warn("pop3: storing UIDLs: %s", op->error != NULL ? op->error : store_strerror(op->err));
	store_op_clear(&w->op);
	for (size_t i = 0; i < w->n; i++)
		free(w->uidls[i]);
	free(w->uidls);
	free(w->items);
	free(w);
}

/* The effective pop3.mailboxes of the session's account. */
static enum store_err effective_mode(struct pop3_session *s, char **error_r)
{
	char *mode = NULL;
	enum store_err err = store_account_pop3_mailboxes_get(s->server->store, s->account_id, &mode);
	if (err != STORE_OK) {
		*error_r = xasprintf("pop3 mailboxes: %s", store_strerror(err));
		return err;
	}
	s->maildrop_all = mode != NULL ? strcasecmp(mode, "all") == 0 : s->server->set.mailboxes_all;
	free(mode);
	return STORE_OK;
}

enum store_err pop3_maildrop_open(struct pop3_session *s, char **error_r)
{
	struct store *store = s->server->store;
	struct store_pop3_row *rows;
	size_t n, kept = 0, ndups = 0, nassign = 0;
	enum store_err err;

	if ((err = effective_mode(s, error_r)) != STORE_OK)
		return err;
	err = store_pop3_maildrop(store, s->account_id, s->maildrop_all, &s->mailbox_id, &rows, &n);
	if (err != STORE_OK) {
		*error_r = xasprintf("maildrop: %s", store_strerror(err));
		return err;
	}

	/* leader[i]: the first row (in maildrop order) that is the same
	 * message as row i; i itself for most */
	size_t *leader = xcalloc(n + 1, sizeof(*leader));
	struct dup_key *keys = xcalloc(n + 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		keys[i].idx = i;
		keys[i].uidl = rows[i].uidl;
		keys[i].emailid = rows[i].emailid;
		keys[i].kind = rows[i].uidl != NULL ? DUP_UIDL
			       : rows[i].emailid != 0 ? DUP_EMAILID : DUP_NONE;
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), dup_key_cmp);
	for (size_t i = 0; i < n; i++) {
		bool same = i > 0 && dup_key_same(&keys[i - 1], &keys[i]);
		leader[keys[i].idx] = same ? leader[keys[i - 1].idx] : keys[i].idx;
		ndups += same;
	}
	xfree(&keys);

	/* msg_of[i]: the entry of row i */
	size_t *msg_of = xcalloc(n + 1, sizeof(*msg_of));
	s->msgs = n - ndups > 0 ? xcalloc(n - ndups, sizeof(*s->msgs)) : NULL;
	s->dups = ndups > 0 ? xcalloc(ndups, sizeof(*s->dups)) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (leader[i] != i) {
			struct pop3_dup *d = &s->dups[s->ndups++];
			d->msg = msg_of[leader[i]];
			d->mailbox_id = rows[i].mailbox_id;
			d->uid = rows[i].uid;
			msg_of[i] = d->msg;
			nassign += rows[i].uidl == NULL;
			continue;
		}
		struct pop3_msg *m = &s->msgs[kept];
		msg_of[i] = kept++;
		m->mailbox_id = rows[i].mailbox_id;
		m->uid = rows[i].uid;
		m->stored_size = rows[i].size;
		/* the store counted the CRLF form at delivery (mail/crlf.h) */
		m->size = rows[i].crlf_size > 0 ? rows[i].crlf_size : -1;
		/* RFC 1939 section 7: unique-id is 1-70 characters 0x21-0x7E; an
		 * imported value (migration) is kept as it was. */
		if (rows[i].uidl != NULL) {
			m->uidl = xstrdup(rows[i].uidl);
		} else {
			m->uidl = xasprintf("%u.%u", rows[i].uidvalidity, rows[i].uid);
			nassign++;
		}
	}
	s->nmsgs = kept;

	if (nassign > 0) {
		struct uidl_write *w = xcalloc(1, sizeof(*w));
		w->items = xcalloc(nassign, sizeof(*w->items));
		w->uidls = xcalloc(nassign, sizeof(*w->uidls));
		for (size_t i = 0; i < n; i++) {
			if (rows[i].uidl != NULL)
				continue;
			struct store_pop3_item *it = &w->items[w->n];
			w->uidls[w->n] = xstrdup(s->msgs[msg_of[i]].uidl);
			it->mailbox_id = rows[i].mailbox_id;
			it->uid = rows[i].uid;
			it->assign_uidl = w->uidls[w->n];
			w->n++;
		}
		w->apply.account_id = s->account_id;
		w->apply.items = w->items;
		w->apply.nitems = w->n;
		store_pop3_apply_op(&w->op, &w->apply);
		store_submit(store, &w->op, uidl_write_done, w);
	}
	xfree(&msg_of);
	xfree(&leader);
	store_pop3_rows_free(rows, n);
	return STORE_OK;
}

int64_t pop3_maildrop_size(struct pop3_session *s, struct pop3_msg *m)
{
	char *data;
	size_t len;
	enum store_err err;

	if (m->size >= 0)
		return m->size;
	err = store_message_content(s->server->store, s->account_id, m->mailbox_id, m->uid, &data, &len,
				    NULL);
	if (err != STORE_OK) {
		/* Expunged by another client meanwhile, or a transient error:
		 * the stored size is the best answer; RETR will tell. */
		if (err != STORE_ENOTFOUND)
			conn_log(s->conn, LOG_WARN, "size of uid %u: %s", m->uid, store_strerror(err));
		return m->stored_size;
	}
	m->size = pop3_format_size(data, len);
	xfree(&data);
	return m->size;
}

void pop3_cmd_stat(struct pop3_session *s, char **args, int nargs)
{
	size_t count = 0;
	int64_t total = 0;

	for (size_t i = 0; i < s->nmsgs; i++) {
		if (s->msgs[i].deleted)
			continue;
		count++;
		total += pop3_maildrop_size(s, &s->msgs[i]);
	}
	pop3_ok(s, "%zu %lld", count, (long long)total);
}

void pop3_listing_continue(struct pop3_session *s)
{
	while (s->listing_pos < s->nmsgs && !conn_output_full(s->conn)) {
		size_t i = s->listing_pos++;
		struct pop3_msg *m = &s->msgs[i];
		if (m->deleted)
			continue;
		if (s->listing == POP3_LISTING_LIST)
			conn_printf(s->conn, "%zu %lld\r\n", i + 1, (long long)pop3_maildrop_size(s, m));
		else
			conn_printf(s->conn, "%zu %s\r\n", i + 1, m->uidl);
	}
	if (s->listing_pos < s->nmsgs)
		return; /* on_drain calls again */
	conn_puts(s->conn, ".\r\n");
	s->listing = POP3_LISTING_NONE;
	conn_resume(s->conn);
}

static void listing_start(struct pop3_session *s, enum pop3_listing what)
{
	conn_puts(s->conn, what == POP3_LISTING_LIST ? "+OK scan listing follows\r\n"
						       : "+OK unique-id listing follows\r\n");
	s->listing = what;
	s->listing_pos = 0;
	/* pipelined commands wait for the end of the listing */
	conn_pause(s->conn);
	pop3_listing_continue(s);
}

void pop3_cmd_list(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_msg *m;

	if (nargs == 1) {
		if ((m = pop3_msg_arg(s, args[0])) != NULL)
			pop3_ok(s, "%zu %lld", (size_t)(m - s->msgs) + 1,
				(long long)pop3_maildrop_size(s, m));
		return;
	}
	listing_start(s, POP3_LISTING_LIST);
}

void pop3_cmd_uidl(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_msg *m;

	if (nargs == 1) {
		if ((m = pop3_msg_arg(s, args[0])) != NULL)
			pop3_ok(s, "%zu %s", (size_t)(m - s->msgs) + 1, m->uidl);
		return;
	}
	listing_start(s, POP3_LISTING_UIDL);
}

void pop3_cmd_dele(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_msg *m = pop3_msg_arg(s, args[0]);

	if (m == NULL)
		return;
	/* Only marked: the store changes at QUIT (RFC 1939 section 6). */
	m->deleted = true;
	pop3_ok(s, "Message %zu deleted", (size_t)(m - s->msgs) + 1);
}

void pop3_cmd_rset(struct pop3_session *s, char **args, int nargs)
{
	size_t count = 0;

	for (size_t i = 0; i < s->nmsgs; i++) {
		s->msgs[i].deleted = false;
		count++;
	}
	pop3_ok(s, "Maildrop has %zu messages", count);
}

bool pop3_maildrop_gone(struct pop3_session *s)
{
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get_by_id(s->server->store, s->account_id, s->mailbox_id, &mb);
	if (err != STORE_OK && err != STORE_ENOTFOUND)
		return false; /* a temporary error: nothing known */
	bool gone = err == STORE_ENOTFOUND || mb.account_id != s->account_id;
	if (err == STORE_OK)
		store_mailbox_clear(&mb);
	if (gone)
		pop3_session_end(s, "The mailbox no longer exists");
	return gone;
}

void pop3_cmd_noop(struct pop3_session *s, char **args, int nargs)
{
	/* RFC 1939 section 5: NOOP only answers; it is also where a client
	 * that polls learns that its maildrop went away */
	if (pop3_maildrop_gone(s))
		return;
	pop3_ok(s, "Still here");
}
