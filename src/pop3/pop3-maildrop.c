/*
 * pop3-maildrop: the session's snapshot of INBOX (RFC 1939 section 8: the
 * maildrop is fixed for the session; numbers never change) and the commands
 * that only read or mark it: STAT, LIST, UIDL, DELE, RSET, NOOP.
 *
 * Sizes: POP3 sends CRLF lines, so a message stored with bare LF is larger
 * on the wire than stored. The store computes that CRLF size once at
 * delivery (store_msg.crlf_size, mail/crlf.c); STAT and LIST never read a
 * message. Only when it is unknown is it computed here from the content.
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>

enum store_err pop3_maildrop_open(struct pop3_session *s, char **error_r)
{
	struct store *store = s->server->store;
	struct store_mailbox inbox;
	struct store_msg *list;
	size_t n, kept = 0;
	enum store_err err;

	err = store_mailbox_get(store, s->account_id, "INBOX", &inbox);
	if (err != STORE_OK) {
		*error_r = xasprintf("INBOX: %s", store_strerror(err));
		return err;
	}
	s->mailbox_id = inbox.id;
	s->uidvalidity = inbox.uidvalidity;
	store_mailbox_clear(&inbox);

	err = store_mailbox_messages(store, s->account_id, s->mailbox_id, &list, &n);
	if (err != STORE_OK) {
		*error_r = xasprintf("messages: %s", store_strerror(err));
		return err;
	}
	s->msgs = n > 0 ? xcalloc(n, sizeof(*s->msgs)) : NULL;
	for (size_t i = 0; i < n; i++) {
		struct pop3_msg *m;
		/* pop3.delete = hide: a message DELE'd earlier stays for IMAP. */
		if (list[i].pop3_hidden)
			continue;
		m = &s->msgs[kept++];
		m->uid = list[i].uid;
		m->stored_size = list[i].size;
		/* the store counted the CRLF form at delivery (mail/crlf.h) */
		m->size = list[i].crlf_size > 0 ? list[i].crlf_size : -1;
		/* RFC 1939 section 7: unique-id is 1-70 characters 0x21-0x7E; an
		 * imported value (migration) is kept as it was. */
		m->uidl = list[i].pop3_uidl != NULL
				  ? xstrdup(list[i].pop3_uidl)
				  : xasprintf("%u.%u", s->uidvalidity, list[i].uid);
	}
	s->nmsgs = kept;
	store_msg_list_free(list, n);
	return STORE_OK;
}

int64_t pop3_maildrop_size(struct pop3_session *s, struct pop3_msg *m)
{
	char *data;
	size_t len;
	enum store_err err;

	if (m->size >= 0)
		return m->size;
	err = store_message_content(s->server->store, s->account_id, s->mailbox_id, m->uid, &data, &len, NULL);
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

void pop3_cmd_list(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_msg *m;

	if (nargs == 1) {
		if ((m = pop3_msg_arg(s, args[0])) != NULL)
			pop3_ok(s, "%zu %lld", (size_t)(m - s->msgs) + 1,
				(long long)pop3_maildrop_size(s, m));
		return;
	}
	conn_puts(s->conn, "+OK scan listing follows\r\n");
	for (size_t i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted)
			conn_printf(s->conn, "%zu %lld\r\n", i + 1,
				    (long long)pop3_maildrop_size(s, &s->msgs[i]));
	conn_puts(s->conn, ".\r\n");
}

void pop3_cmd_uidl(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_msg *m;

	if (nargs == 1) {
		if ((m = pop3_msg_arg(s, args[0])) != NULL)
			pop3_ok(s, "%zu %s", (size_t)(m - s->msgs) + 1, m->uidl);
		return;
	}
	conn_puts(s->conn, "+OK unique-id listing follows\r\n");
	for (size_t i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted)
			conn_printf(s->conn, "%zu %s\r\n", i + 1, s->msgs[i].uidl);
	conn_puts(s->conn, ".\r\n");
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
