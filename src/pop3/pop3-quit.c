/*
 * pop3-quit: QUIT and the UPDATE state (RFC 1939 section 6). Every DELE of
 * the session and every first retrieval go to the store as ONE
 * write (store_pop3_apply_op(): per mailbox a STORE_OP_POP3_COMMIT, for
 * pop3.mailboxes = all), so they are all durable or none is. Copies of a
 * DELE'd or RETR'd message (pop3-maildrop.c) go with it. The reply waits
 * for the commit (input paused meanwhile). A session that ends without QUIT
 * never gets here: nothing is deleted.
 *
 * The commit outlives the session if the client vanishes after QUIT; it
 * then also owns the account lock, so a new session of the same account
 * cannot take a snapshot that still holds the messages being removed.
 */
#include "pop3/pop3-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "store/store.h"
#include "store/store-pop3.h"

struct pop3_commit {
	struct store_op op;
	struct store_pop3_apply apply;
	struct pop3_session *session;	/* NULL once the connection is gone */
	struct store *store;
	int64_t account_id;
	struct store_pop3_item *items;
	size_t ndeleted, nretrieved;
};

static void commit_free(struct pop3_commit *commit)
{
	store_op_clear(&commit->op);
	xfree(&commit->items);
	xfree(&commit);
}

static void commit_done(struct store_op *op, void *ctx)
{
	struct pop3_commit *commit = ctx;
	struct pop3_session *s = commit->session;

	/* Unlock before answering, so that a client reconnecting at once
	 * after "+OK" is not told the mailbox is in use. */
	pop3_lock_release(commit->store, commit->account_id);
	if (s == NULL) {
		if (op->err != STORE_OK)
			log_warn("pop3 commit for a closed session failed: %s",
				 op->error != NULL ? op->error : store_strerror(op->err));
		commit_free(commit);
		return;
	}
	s->locked = false;
	s->commit = NULL;
	if (op->err != STORE_OK) {
		conn_log(s->conn, LOG_ERROR, "commit failed: %s",
			 op->error != NULL ? op->error : store_strerror(op->err));
		pop3_store_err(s, op->err, "Some deleted messages were not removed");
	} else {
		conn_log(s->conn, LOG_INFO, "quit deleted=%zu retrieved=%zu", commit->ndeleted,
			 commit->nretrieved);
		pop3_ok(s, "Roost POP3 server signing off (%zu messages deleted)", commit->ndeleted);
	}
	commit_free(commit);
	conn_close(s->conn);
}

void pop3_cmd_quit(struct pop3_session *s, char **args, int nargs)
{
	struct pop3_commit *commit;
	struct store_pop3_apply *p;
	size_t ndel = 0, nretr = 0;

	conn_set_close_reason(s->conn, "logout");
	if (s->state == POP3_STATE_AUTH) {
		pop3_ok(s, "Roost POP3 server signing off");
		conn_close(s->conn);
		return;
	}
	for (size_t i = 0; i < s->nmsgs; i++) {
		ndel += s->msgs[i].deleted;
		nretr += s->msgs[i].retrieved;
	}
	if (ndel == 0 && nretr == 0) {
		pop3_lock_release(s->server->store, s->account_id);
		s->locked = false;
		pop3_ok(s, "Roost POP3 server signing off (maildrop empty or unchanged)");
		conn_close(s->conn);
		return;
	}

	commit = xcalloc(1, sizeof(*commit));
	commit->session = s;
	commit->account_id = s->account_id;
	commit->store = s->server->store;
	commit->ndeleted = ndel;
	commit->nretrieved = nretr;
	commit->items = xcalloc(s->nmsgs + s->ndups + 1, sizeof(*commit->items));
	p = &commit->apply;
	p->account_id = s->account_id;
	p->items = commit->items;
	for (size_t i = 0; i < s->nmsgs; i++) {
		const struct pop3_msg *m = &s->msgs[i];
		if (!m->deleted && !m->retrieved)
			continue;
		p->items[p->nitems++] = (struct store_pop3_item){
			.mailbox_id = m->mailbox_id, .uid = m->uid,
			.deleted = m->deleted, .retrieved = m->retrieved};
	}
	for (size_t i = 0; i < s->ndups; i++) {
		const struct pop3_dup *d = &s->dups[i];
		const struct pop3_msg *m = &s->msgs[d->msg];
		if (!m->deleted && !m->retrieved)
			continue;
		p->items[p->nitems++] = (struct store_pop3_item){
			.mailbox_id = d->mailbox_id, .uid = d->uid,
			.deleted = m->deleted, .retrieved = m->retrieved};
	}
	p->hide = s->delete_hide;
	p->mark_seen = s->server->set.retr_marks_seen;
	store_pop3_apply_op(&commit->op, p);

	s->state = POP3_STATE_UPDATE;
	s->commit = commit;
	conn_pause(s->conn);
	store_submit(s->server->store, &commit->op, commit_done, commit);
}

void pop3_quit_session_gone(struct pop3_session *s)
{
	if (s->commit != NULL) {
		/* The commit finishes on its own and then drops the lock. */
		s->commit->session = NULL;
		s->commit = NULL;
		s->locked = false;
		return;
	}
	if (s->locked) {
		pop3_lock_release(s->server->store, s->account_id);
		s->locked = false;
	}
}
