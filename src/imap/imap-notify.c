/*
 * imap-notify: NOTIFY event groups, the account-wide change-feed watch and
 * the owed STATUS responses (see imap-notify.h). RFC 5465.
 */
#include "imap/imap-notify.h"
#include "imap/imap-commands.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum notify_filter {
	NF_SELECTED,
	NF_SELECTED_DELAYED,
	NF_PERSONAL,
	NF_INBOXES,
	NF_SUBSCRIBED,
	NF_SUBTREE,
	NF_MAILBOXES,
};

struct notify_group {
	enum notify_filter filter;
	unsigned events; /* enum imap_notify_event bits; 0 = NONE */
	char **names;	 /* store form, SUBTREE/MAILBOXES */
	size_t nnames;
};

struct imap_notify {
	struct imap_session *s;
	struct notify_group *groups;
	size_t ngroups;
	struct store_watch *watch;
	int64_t *pending; /* mailbox ids owed a STATUS, in arrival order */
	size_t npending, pending_cap;
	bool overflow;	  /* NOTIFICATIONOVERFLOW sent: no more events */
};

/* The events we deliver, for NO [BADEVENT (...)] (RFC 5465 5.9). */
#define NOTIFY_SUPPORTED "(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)"

static const struct {
	const char *name;
	unsigned bit;
} event_names[] = {
	{"MessageNew", IMAP_NOTIFY_MESSAGE_NEW},
	{"MessageExpunge", IMAP_NOTIFY_MESSAGE_EXPUNGE},
	{"FlagChange", IMAP_NOTIFY_FLAG_CHANGE},
	{"MailboxName", IMAP_NOTIFY_MAILBOX_NAME},
	{"SubscriptionChange", IMAP_NOTIFY_SUBSCRIPTION_CHANGE},
};

void imap_notify_free(struct imap_notify **np)
{
	struct imap_notify *n = *np;
	if (n == NULL)
		return;
	store_watch_remove(&n->watch);
	for (size_t i = 0; i < n->ngroups; i++) {
		for (size_t j = 0; j < n->groups[i].nnames; j++)
			free(n->groups[i].names[j]);
		free(n->groups[i].names);
	}
	free(n->groups);
	free(n->pending);
	free(n);
	*np = NULL;
}

static int fail(const char **status_r, char **error_r, const char *status, char *text)
{
	*status_r = status;
	*error_r = text;
	return -1;
}

static bool is_atom(const struct imap_arg *a, const char *word)
{
	return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, word) == 0;
}

/* events = "(" event *(SP event) ")" / "NONE"; MessageNew may carry a
 * fetch-att list, which we accept and do not act on. */
static int parse_events(const struct imap_arg *a, bool selected, unsigned *events_r,
			const char **status_r, char **error_r)
{
	*events_r = 0;
	if (is_atom(a, "NONE"))
		return 0;
	if (a->type != IMAP_ARG_LIST || a->count == 0)
		return fail(status_r, error_r, "BAD", xstrdup("Expected an event list or NONE"));
	bool bad_event = false;
	for (size_t i = 0; i < a->count; i++) {
		const struct imap_arg *e = &a->list[i];
		if (e->type == IMAP_ARG_LIST) {
			if (i == 0 || !is_atom(&a->list[i - 1], "MessageNew"))
				return fail(status_r, error_r, "BAD",
					    xstrdup("Fetch attributes only follow MessageNew"));
			if (!selected)
				return fail(status_r, error_r, "BAD",
					    xstrdup("Fetch attributes only for SELECTED"));
			continue;
		}
		if (e->type != IMAP_ARG_ATOM)
			return fail(status_r, error_r, "BAD", xstrdup("Expected an event name"));
		size_t k;
		for (k = 0; k < sizeof(event_names) / sizeof(event_names[0]); k++)
			if (strcasecmp(e->str, event_names[k].name) == 0)
				break;
		if (k == sizeof(event_names) / sizeof(event_names[0]))
			bad_event = true; /* AnnotationChange, *MetadataChange, unknown */
		else
			*events_r |= event_names[k].bit;
	}
	if (bad_event)
		return fail(status_r, error_r, "NO",
			    xstrdup("[BADEVENT " NOTIFY_SUPPORTED "] Event not supported"));
	/* RFC 5465 5.1/5.2/5.3: MessageNew and MessageExpunge come together,
	 * and FlagChange needs both. */
	unsigned msg = IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE;
	if ((*events_r & msg) != 0 && (*events_r & msg) != msg)
		return fail(status_r, error_r, "BAD",
			    xstrdup("MessageNew and MessageExpunge go together"));
	if ((*events_r & IMAP_NOTIFY_FLAG_CHANGE) && (*events_r & msg) != msg)
		return fail(status_r, error_r, "BAD",
			    xstrdup("FlagChange needs MessageNew and MessageExpunge"));
	return 0;
}

static int add_name(struct imap_session *s, struct notify_group *g, const struct imap_arg *a,
		    size_t *total, const char **status_r, char **error_r)
{
	if (++*total > IMAP_NOTIFY_MAX_MAILBOXES)
		return fail(status_r, error_r, "NO",
			    xasprintf("[LIMIT] At most %d mailboxes in NOTIFY",
				      IMAP_NOTIFY_MAX_MAILBOXES));
	char *name = NULL;
	const char *err = NULL;
	if (a->type == IMAP_ARG_LIST || imap_mailbox_from_wire(s, a, &name, &err) < 0)
		return fail(status_r, error_r, "BAD",
			    xasprintf("Bad mailbox name: %s", err ? err : "list"));
	g->names = xrealloc(g->names, (g->nnames + 1) * sizeof(*g->names));
	g->names[g->nnames++] = name;
	return 0;
}

int imap_notify_parse(struct imap_session *s, const struct imap_arg *args, size_t count,
		      struct imap_notify **n_r, bool *send_status_r, const char **status_r,
		      char **error_r)
{
	size_t i = 0, total = 0;
	*send_status_r = false;
	if (count > 0 && is_atom(&args[0], "STATUS")) {
		*send_status_r = true;
		i++;
	}
	if (i >= count)
		return fail(status_r, error_r, "BAD", xstrdup("NOTIFY SET needs event groups"));
	if (count - i > IMAP_NOTIFY_MAX_GROUPS)
		return fail(status_r, error_r, "NO",
			    xasprintf("[LIMIT] At most %d event groups", IMAP_NOTIFY_MAX_GROUPS));
	struct imap_notify *n = xcalloc(1, sizeof(*n));
	n->s = s;
	n->groups = xcalloc(count - i, sizeof(*n->groups));
	for (; i < count; i++) {
		const struct imap_arg *ga = &args[i];
		struct notify_group *g = &n->groups[n->ngroups++];
		if (ga->type != IMAP_ARG_LIST || ga->count < 2 || ga->list[0].type != IMAP_ARG_ATOM) {
			fail(status_r, error_r, "BAD", xstrdup("Expected (filter events)"));
			goto err;
		}
		const char *f = ga->list[0].str;
		size_t ev_at = 1;
		if (strcasecmp(f, "SELECTED") == 0)
			g->filter = NF_SELECTED;
		else if (strcasecmp(f, "SELECTED-DELAYED") == 0)
			g->filter = NF_SELECTED_DELAYED;
		else if (strcasecmp(f, "PERSONAL") == 0)
			g->filter = NF_PERSONAL;
		else if (strcasecmp(f, "INBOXES") == 0)
			g->filter = NF_INBOXES;
		else if (strcasecmp(f, "SUBSCRIBED") == 0)
			g->filter = NF_SUBSCRIBED;
		else if (strcasecmp(f, "SUBTREE") == 0 || strcasecmp(f, "MAILBOXES") == 0) {
			g->filter = strcasecmp(f, "SUBTREE") == 0 ? NF_SUBTREE : NF_MAILBOXES;
			if (ga->count != 3) {
				fail(status_r, error_r, "BAD", xstrdup("Expected mailboxes and events"));
				goto err;
			}
			const struct imap_arg *m = &ga->list[1];
			if (m->type == IMAP_ARG_LIST) {
				if (m->count == 0) {
					fail(status_r, error_r, "BAD", xstrdup("Empty mailbox list"));
					goto err;
				}
				for (size_t k = 0; k < m->count; k++)
					if (add_name(s, g, &m->list[k], &total, status_r, error_r) < 0)
						goto err;
			} else if (add_name(s, g, m, &total, status_r, error_r) < 0) {
				goto err;
			}
			ev_at = 2;
		} else {
			fail(status_r, error_r, "BAD", xasprintf("Unknown filter %.40s", f));
			goto err;
		}
		if (ga->count != ev_at + 1) {
			fail(status_r, error_r, "BAD", xstrdup("Expected (filter events)"));
			goto err;
		}
		bool selected = g->filter == NF_SELECTED || g->filter == NF_SELECTED_DELAYED;
		if (parse_events(&ga->list[ev_at], selected, &g->events, status_r, error_r) < 0)
			goto err;
	}
	*n_r = n;
	return 0;
err:
	imap_notify_free(&n);
	return -1;
}

/* Events the client wants for a mailbox other than the selected one:
 * the first group whose filter matches decides (RFC 5465 6). */
static unsigned events_for(const struct imap_notify *n, const struct store_mailbox *mb)
{
	for (size_t i = 0; i < n->ngroups; i++) {
		const struct notify_group *g = &n->groups[i];
		bool match = false;
		switch (g->filter) {
		case NF_SELECTED:
		case NF_SELECTED_DELAYED:
			break;
		case NF_PERSONAL:
			match = true;
			break;
		case NF_INBOXES:
			match = strcmp(mb->name, "INBOX") == 0;
			break;
		case NF_SUBSCRIBED:
			match = mb->subscribed;
			break;
		case NF_SUBTREE:
		case NF_MAILBOXES:
			for (size_t k = 0; k < g->nnames && !match; k++) {
				size_t l = strlen(g->names[k]);
				match = strcmp(mb->name, g->names[k]) == 0 ||
					(g->filter == NF_SUBTREE &&
					 strncmp(mb->name, g->names[k], l) == 0 && mb->name[l] == '/');
			}
			break;
		}
		if (match)
			return g->events;
	}
	return 0;
}

static void write_status(struct imap_session *s, const struct store_mailbox *mb)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	char *wire = imap_mailbox_to_wire(s, mb->name);
	buf_puts(&b, "* STATUS ");
	imap_buf_astring(&b, wire, strlen(wire));
	free(wire);
	buf_printf(&b, " (MESSAGES %u UIDNEXT %u UNSEEN %u)\r\n", mb->messages, mb->uidnext,
		   mb->unseen);
	imap_write(s, b.data, b.len);
	buf_free(&b);
}

void imap_notify_flush(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n == NULL || s->conn == NULL)
		return;
	if (n->overflow && n->watch != NULL) {
		store_watch_remove(&n->watch);
		n->npending = 0;
		imap_printf(s, "* OK [NOTIFICATIONOVERFLOW] Too many changes; NOTIFY is off\r\n");
		return;
	}
	for (size_t i = 0; i < n->npending; i++) {
		struct store_mailbox mb;
		if (s->view != NULL && s->view->mailbox_id == n->pending[i])
			continue; /* selected meanwhile: imap-sync reports it */
		if (store_mailbox_get_by_id(s->srv->store, n->pending[i], &mb) != STORE_OK)
			continue; /* deleted meanwhile */
		if (mb.account_id == s->account_id &&
		    (events_for(n, &mb) & IMAP_NOTIFY_MESSAGE_NEW) != 0)
			write_status(s, &mb);
		store_mailbox_clear(&mb);
	}
	n->npending = 0;
}

/* Between responses: no command runs, or IDLE waits for DONE. */
static bool can_send_now(const struct imap_session *s)
{
	return s->cmd == NULL ||
	       (s->cmd->def != NULL && strcmp(s->cmd->def->name, "IDLE") == 0);
}

static void on_change(void *ctx, int64_t mailbox_id, uint64_t highestmodseq)
{
	struct imap_notify *n = ctx;
	struct imap_session *s = n->s;
	if (n->overflow || (s->view != NULL && s->view->mailbox_id == mailbox_id))
		return;
	for (size_t i = 0; i < n->npending; i++)
		if (n->pending[i] == mailbox_id)
			goto queued;
	if (n->npending >= IMAP_NOTIFY_MAX_PENDING) {
		n->overflow = true;
	} else {
		if (n->npending == n->pending_cap) {
			n->pending_cap = n->pending_cap ? 2 * n->pending_cap : 8;
			n->pending = xrealloc(n->pending, n->pending_cap * sizeof(*n->pending));
		}
		n->pending[n->npending++] = mailbox_id;
	}
queued:
	if (can_send_now(s))
		imap_notify_flush(s);
}

void imap_notify_set(struct imap_session *s, struct imap_notify *n, bool send_status)
{
	imap_notify_free(&s->notify);
	s->notify = n;
	bool any = false;
	for (size_t i = 0; i < n->ngroups; i++)
		if (n->groups[i].events & (IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_FLAG_CHANGE))
			any = true;
	if (any)
		n->watch = store_watch_add(s->srv->store, s->account_id, 0, on_change, n);
	if (!send_status)
		return;
	/* RFC 5465 3.1: STATUS for each mailbox in the non-selected groups. */
	struct store_mailbox *list = NULL;
	size_t count = 0;
	if (store_mailbox_list(s->srv->store, s->account_id, &list, &count) != STORE_OK)
		return;
	for (size_t i = 0; i < count; i++)
		if ((s->view == NULL || s->view->mailbox_id != list[i].id) &&
		    (events_for(n, &list[i]) & IMAP_NOTIFY_MESSAGE_NEW) != 0)
			write_status(s, &list[i]);
	store_mailbox_list_free(list, count);
}
