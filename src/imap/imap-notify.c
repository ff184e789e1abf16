/*
 * imap-notify: NOTIFY event groups, the account-wide change-feed watches
 * and the owed STATUS and LIST responses (see imap-notify.h). RFC 5465.
 */
#include "imap/imap-uidonly.h" /* UIDONLY */
#include "imap/imap-notify.h"
#include "imap/imap-commands.h"
#include "imap/imap-date.h"
#include "imap/imap-objectid.h"
#include "imap/imap-sync.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "store/store-imap.h"
#include "store/store-msg-extra.h"
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

/* MessageNew's fetch-att for the selected mailbox (RFC 5465 5.1): the
 * attributes a new message's FETCH carries. A subset of FETCH's: the ones
 * the view and the message row answer without reading the message. */
enum notify_fetch {
	NFETCH_UID = 1 << 0,
	NFETCH_FLAGS = 1 << 1,
	NFETCH_INTERNALDATE = 1 << 2,
	NFETCH_SIZE = 1 << 3,
	NFETCH_MODSEQ = 1 << 4,
	NFETCH_EMAILID = 1 << 5,
	NFETCH_THREADID = 1 << 6,
};

static const struct {
	const char *name;
	unsigned bit;
} fetch_names[] = {
	{"UID", NFETCH_UID},	     {"FLAGS", NFETCH_FLAGS},	  {"INTERNALDATE", NFETCH_INTERNALDATE},
	{"RFC822.SIZE", NFETCH_SIZE}, {"MODSEQ", NFETCH_MODSEQ}, {"EMAILID", NFETCH_EMAILID},
	{"THREADID", NFETCH_THREADID},
};

struct notify_group {
	enum notify_filter filter;
	unsigned events; /* enum imap_notify_event bits; 0 = NONE */
	unsigned fetch;	 /* enum notify_fetch bits (SELECTED groups) */
	char **names;	 /* store form, SUBTREE/MAILBOXES */
	size_t nnames;
};

/* The account's mailboxes as last told to the client, to tell what a
 * mailbox-list event changed (the event names one mailbox; a RENAME moves
 * its children too, and a deleted mailbox's row is gone). */
struct known_mailbox {
	int64_t id;
	char *name;
	bool subscribed;
};

struct imap_notify {
	struct imap_session *s;
	struct notify_group *groups;
	size_t ngroups;
	struct store_watch *watch;
	int64_t *pending; /* mailbox ids owed a STATUS, in arrival order */
	size_t npending, pending_cap;
	bool overflow;	  /* NOTIFICATIONOVERFLOW sent: no more events */
	/* MailboxName / SubscriptionChange (RFC 5465 5.4, 5.5) */
	struct store_watch *mbwatch;
	struct known_mailbox *known;
	size_t nknown;
	struct buf lists; /* owed LIST responses, in order */
	/* every installed NOTIFY state, for metadata events (imap_notify_metadata) */
	struct imap_notify *all_next, *all_prev;
	bool linked;
	/* MessageNew fetch-att: new messages above this UID get the FETCH */
	uint32_t fetched_uid;
	uint64_t fetched_view;	/* the view fetched_uid belongs to */
};

static void known_free(struct known_mailbox *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].name);
	free(k);
}

/* The events that make a STATUS for a mailbox other than the selected
 * one (RFC 5465 5.1-5.3): any message event, each alone or together. */
#define NOTIFY_MESSAGE_EVENTS \
	(IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE | IMAP_NOTIFY_FLAG_CHANGE)

/* The events we deliver, for NO [BADEVENT (...)] (RFC 5465 5.9). */
#define NOTIFY_SUPPORTED                                                       \
	"(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"  \
	" MailboxMetadataChange ServerMetadataChange)"

static const struct {
	const char *name;
	unsigned bit;
} event_names[] = {
	{"MessageNew", IMAP_NOTIFY_MESSAGE_NEW},
	{"MessageExpunge", IMAP_NOTIFY_MESSAGE_EXPUNGE},
	{"FlagChange", IMAP_NOTIFY_FLAG_CHANGE},
	{"MailboxName", IMAP_NOTIFY_MAILBOX_NAME},
	{"SubscriptionChange", IMAP_NOTIFY_SUBSCRIPTION_CHANGE},
	{"MailboxMetadataChange", IMAP_NOTIFY_MAILBOX_METADATA},
	{"ServerMetadataChange", IMAP_NOTIFY_SERVER_METADATA},
};

/* The installed NOTIFY states (event-loop thread): SETMETADATA commits
 * have no change-feed event, the committing session tells these. */
static struct imap_notify *all_notify;

void imap_notify_free(struct imap_notify **np)
{
	struct imap_notify *n = *np;
	if (n == NULL)
		return;
	if (n->linked) {
		if (n->all_prev != NULL)
			n->all_prev->all_next = n->all_next;
		else
			all_notify = n->all_next;
		if (n->all_next != NULL)
			n->all_next->all_prev = n->all_prev;
	}
	store_watch_remove(&n->watch);
	store_watch_remove(&n->mbwatch);
	known_free(n->known, n->nknown);
	buf_free(&n->lists);
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

/* MessageNew's fetch-att: one attribute or a list of them. */
static int parse_fetch(const struct imap_arg *a, unsigned *fetch_r, const char **status_r,
		       char **error_r)
{
	const struct imap_arg *list = a->type == IMAP_ARG_LIST ? a->list : a;
	size_t count = a->type == IMAP_ARG_LIST ? a->count : 1;
	for (size_t i = 0; i < count; i++) {
		size_t k;
		if (list[i].type != IMAP_ARG_ATOM)
			return fail(status_r, error_r, "BAD", xstrdup("Bad fetch attribute"));
		for (k = 0; k < sizeof(fetch_names) / sizeof(fetch_names[0]); k++)
			if (strcasecmp(list[i].str, fetch_names[k].name) == 0)
				break;
		if (k == sizeof(fetch_names) / sizeof(fetch_names[0]))
			return fail(status_r, error_r, "NO",
				    xasprintf("Fetch attribute %.40s is not offered with NOTIFY"
					      " (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ"
					      " EMAILID THREADID are)", list[i].str));
		*fetch_r |= fetch_names[k].bit;
	}
	return 0;
}

/* events = "(" event *(SP event) ")" / "NONE"; MessageNew may carry a
 * fetch-att list (SELECTED groups only). */
static int parse_events(const struct imap_arg *a, bool selected, unsigned *events_r,
			unsigned *fetch_r, const char **status_r, char **error_r)
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
			if (parse_fetch(e, fetch_r, status_r, error_r) < 0)
				return -1;
			continue;
		}
		if (e->type != IMAP_ARG_ATOM)
			return fail(status_r, error_r, "BAD", xstrdup("Expected an event name"));
		size_t k;
		for (k = 0; k < sizeof(event_names) / sizeof(event_names[0]); k++)
			if (strcasecmp(e->str, event_names[k].name) == 0)
				break;
		if (k == sizeof(event_names) / sizeof(event_names[0]))
			bad_event = true; /* AnnotationChange, unknown */
		else
			*events_r |= event_names[k].bit;
	}
	if (bad_event)
		return fail(status_r, error_r, "NO",
			    xstrdup("[BADEVENT " NOTIFY_SUPPORTED "] Event not supported"));
	/* RFC 5465 5.1-5.3: MessageNew and MessageExpunge come together, and
	 * FlagChange needs both. The rule keeps the client's sequence numbers
	 * right, so it binds the SELECTED filters only: for other mailboxes
	 * the events become STATUS responses, and any of them alone is valid
	 * there (Dovecot checks it the same way). */
	unsigned msg = IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE;
	if (selected && (*events_r & msg) != 0 && (*events_r & msg) != msg)
		return fail(status_r, error_r, "BAD",
			    xstrdup("MessageNew and MessageExpunge go together"));
	if (selected && (*events_r & IMAP_NOTIFY_FLAG_CHANGE) && (*events_r & msg) != msg)
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
		if (parse_events(&ga->list[ev_at], selected, &g->events, &g->fetch, status_r,
				 error_r) < 0)
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
static unsigned events_for_name(const struct imap_notify *n, const char *name, bool subscribed)
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
			match = strcmp(name, "INBOX") == 0;
			break;
		case NF_SUBSCRIBED:
			match = subscribed;
			break;
		case NF_SUBTREE:
		case NF_MAILBOXES:
			for (size_t k = 0; k < g->nnames && !match; k++) {
				size_t l = strlen(g->names[k]);
				match = strcmp(name, g->names[k]) == 0 ||
					(g->filter == NF_SUBTREE &&
					 strncmp(name, g->names[k], l) == 0 && name[l] == '/');
			}
			break;
		}
		if (match)
			return g->events;
	}
	return 0;
}

static unsigned events_for(const struct imap_notify *n, const struct store_mailbox *mb)
{
	return events_for_name(n, mb->name, mb->subscribed);
}

static const struct notify_group *selected_group(const struct imap_notify *n)
{
	for (size_t i = 0; i < n->ngroups; i++)
		if (n->groups[i].filter == NF_SELECTED || n->groups[i].filter == NF_SELECTED_DELAYED)
			return &n->groups[i];
	return NULL;
}

unsigned imap_notify_selected_events(const struct imap_session *s)
{
	const struct imap_notify *n = s->notify;
	if (n == NULL)
		return IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE |
		       IMAP_NOTIFY_FLAG_CHANGE;
	const struct notify_group *g = selected_group(n);
	if (g != NULL)
		return g->events;
	/* no SELECTED group: the selected mailbox is one of the others */
	if (s->view == NULL)
		return 0;
	struct store_mailbox mb;
	unsigned ev = 0;
	if (store_mailbox_get_by_id(s->srv->store, s->account_id, s->view->mailbox_id, &mb) == STORE_OK) {
		ev = events_for(n, &mb);
		store_mailbox_clear(&mb);
	}
	return ev;
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

/* --- MailboxName and SubscriptionChange (RFC 5465 5.4, 5.5) --- */

static void put_list(struct imap_notify *n, const char *attrs, const char *name,
		     const char *oldname)
{
	struct imap_session *s = n->s;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_printf(&b, "* LIST (%s) \"/\" ", attrs);
	char *wire = imap_mailbox_to_wire(s, name);
	imap_buf_astring(&b, wire, strlen(wire));
	free(wire);
	if (oldname != NULL) {
		/* RFC 5465 5.4 with RFC 5258's extended data: the old name */
		wire = imap_mailbox_to_wire(s, oldname);
		buf_puts(&b, " (\"OLDNAME\" (");
		imap_buf_astring(&b, wire, strlen(wire));
		buf_puts(&b, "))");
		free(wire);
	}
	buf_puts(&b, "\r\n");
	if (buf_append(&n->lists, b.data, b.len) < 0)
		n->overflow = true;
	buf_free(&b);
}

static bool wants(const struct imap_notify *n, const char *name, bool subscribed, unsigned ev)
{
	return (events_for_name(n, name, subscribed) & ev) != 0;
}

static void load_known(struct imap_notify *n, struct store_mailbox *list, size_t count)
{
	known_free(n->known, n->nknown);
	n->known = xcalloc(count ? count : 1, sizeof(*n->known));
	for (size_t i = 0; i < count; i++)
		n->known[i] = (struct known_mailbox){list[i].id, xstrdup(list[i].name),
						     list[i].subscribed};
	n->nknown = count;
}

static bool can_send_now(const struct imap_session *s);

/* The mailbox list changed: compare it with what the client was told. The
 * event names one mailbox, but a RENAME renames children and CREATE may
 * create parents, so the whole list is compared, by mailbox id. */
static void on_mailboxes(void *ctx, int64_t mailbox_id, enum store_mailbox_event event)
{
	struct imap_notify *n = ctx;
	struct imap_session *s = n->s;
	struct store_mailbox *list = NULL;
	size_t count = 0;
	if (n->overflow ||
	    store_mailbox_list(s->srv->store, s->account_id, &list, &count) != STORE_OK)
		return;
	bool *seen = xcalloc(n->nknown ? n->nknown : 1, sizeof(*seen));
	for (size_t i = 0; i < count; i++) {
		const struct store_mailbox *mb = &list[i];
		size_t k;
		for (k = 0; k < n->nknown && n->known[k].id != mb->id; k++)
			;
		const char *sub = mb->subscribed ? "\\Subscribed" : "";
		if (k == n->nknown) {
			if (wants(n, mb->name, mb->subscribed, IMAP_NOTIFY_MAILBOX_NAME))
				put_list(n, sub, mb->name, NULL);
			continue;
		}
		const struct known_mailbox *old = &n->known[k];
		seen[k] = true;
		if (strcmp(old->name, mb->name) != 0 &&
		    (wants(n, mb->name, mb->subscribed, IMAP_NOTIFY_MAILBOX_NAME) ||
		     wants(n, old->name, old->subscribed, IMAP_NOTIFY_MAILBOX_NAME)))
			put_list(n, sub, mb->name, old->name);
		if (old->subscribed != mb->subscribed &&
		    (wants(n, mb->name, mb->subscribed, IMAP_NOTIFY_SUBSCRIPTION_CHANGE) ||
		     wants(n, mb->name, old->subscribed, IMAP_NOTIFY_SUBSCRIPTION_CHANGE)))
			put_list(n, sub, mb->name, NULL);
	}
	for (size_t k = 0; k < n->nknown; k++)
		if (!seen[k] && wants(n, n->known[k].name, n->known[k].subscribed,
				      IMAP_NOTIFY_MAILBOX_NAME))
			put_list(n, "\\NonExistent", n->known[k].name, NULL);
	free(seen);
	load_known(n, list, count);
	store_mailbox_list_free(list, count);
	if (can_send_now(s))
		imap_notify_flush(s);
}

/* --- MailboxMetadataChange, ServerMetadataChange (RFC 5465 5.6, 5.7) --- */

static bool wants_metadata(const struct imap_notify *n, const char *mailbox, int64_t mailbox_id,
			   bool subscribed)
{
	for (size_t i = 0; i < n->ngroups; i++) {
		const struct notify_group *g = &n->groups[i];
		if (mailbox == NULL && (g->events & IMAP_NOTIFY_SERVER_METADATA))
			return true;
		if (mailbox != NULL && (g->events & IMAP_NOTIFY_MAILBOX_METADATA) &&
		    (g->filter == NF_SELECTED || g->filter == NF_SELECTED_DELAYED) &&
		    n->s->view != NULL && n->s->view->mailbox_id == mailbox_id)
			return true;
	}
	return mailbox != NULL && wants(n, mailbox, subscribed, IMAP_NOTIFY_MAILBOX_METADATA);
}

void imap_notify_metadata(const struct imap_session *source, const char *mailbox,
			  int64_t mailbox_id, bool subscribed, const char *const *names,
			  size_t nnames)
{
	for (struct imap_notify *n = all_notify; n != NULL; n = n->all_next) {
		struct imap_session *s = n->s;
		/* RFC 5465 5: no need to tell the client of its own change */
		if (s == source || s->account_id != source->account_id || n->overflow ||
		    nnames == 0 || !wants_metadata(n, mailbox, mailbox_id, subscribed))
			continue;
		struct buf b;
		buf_init(&b, SIZE_MAX);
		buf_puts(&b, "* METADATA ");
		if (mailbox == NULL) {
			buf_puts(&b, "\"\"");
		} else {
			char *wire = imap_mailbox_to_wire(s, mailbox);
			imap_session_buf_string(s, &b, wire, strlen(wire));
			free(wire);
		}
		/* entry-list: the names only (RFC 5464 section 5) */
		for (size_t i = 0; i < nnames; i++) {
			buf_putc(&b, ' ');
			imap_buf_string(&b, names[i], strlen(names[i]));
		}
		buf_puts(&b, "\r\n");
		if (buf_append(&n->lists, b.data, b.len) < 0)
			n->overflow = true;
		buf_free(&b);
		if (can_send_now(s))
			imap_notify_flush(s);
	}
}

/* --- the selected mailbox --- */

/* MessageNew with fetch-att (RFC 5465 5.1): a FETCH with those
 * attributes for each new message of the selected mailbox, after its
 * EXISTS. */
static void send_new_fetches(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	struct imap_view *v = s->view;
	const struct notify_group *g = selected_group(n);
	if (v == NULL || g == NULL || g->fetch == 0 ||
	    (g->events & IMAP_NOTIFY_MESSAGE_NEW) == 0)
		return;
	if (n->fetched_view != v->id) {
		/* a new selection: its messages were reported by SELECT */
		n->fetched_view = v->id;
		n->fetched_uid = imap_view_max_uid(v);
		return;
	}
	if (imap_view_max_uid(v) <= n->fetched_uid)
		return;
	struct store_msg *rows = NULL;
	size_t nrows = 0;
	if ((g->fetch & (NFETCH_INTERNALDATE | NFETCH_SIZE)) &&
	    store_imap_messages_range(s->srv->store, s->account_id, v->mailbox_id, n->fetched_uid + 1,
				      imap_view_max_uid(v), &rows, &nrows) != STORE_OK)
		nrows = 0;
	size_t r = 0;
	for (size_t i = 0; i < v->count; i++) {
		const struct imap_view_msg *m = &v->msgs[i];
		if (m->uid <= n->fetched_uid)
			continue;
		while (r < nrows && rows[r].uid < m->uid)
			r++;
		const struct store_msg *row = r < nrows && rows[r].uid == m->uid ? &rows[r] : NULL;
		struct buf b;
		buf_init(&b, SIZE_MAX);
		imap_uidonly_fetch_start(s, &b, (uint32_t)(i + 1), m->uid); /* UIDONLY */
		buf_printf(&b, "UID %u", m->uid);
		if (g->fetch & NFETCH_FLAGS) {
			buf_puts(&b, " FLAGS (");
			imap_view_format_flags(s, &b, m);
			buf_putc(&b, ')');
		}
		if ((g->fetch & NFETCH_INTERNALDATE) && row != NULL) {
			char date[64];
			imap_date_time_format(row->internaldate, date, sizeof(date));
			buf_printf(&b, " INTERNALDATE \"%s\"", date);
		}
		if ((g->fetch & NFETCH_SIZE) && row != NULL)
			buf_printf(&b, " RFC822.SIZE %lld", (long long)row->size);
		if (g->fetch & NFETCH_MODSEQ)
			buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)m->modseq);
		if (g->fetch & (NFETCH_EMAILID | NFETCH_THREADID)) {
			struct store_msg_extra x;
			if (store_msg_extra_get(s->srv->store, s->account_id, v->mailbox_id, m->uid, &x) == STORE_OK) {
				if ((g->fetch & NFETCH_EMAILID) && x.emailid > 0)
					buf_printf(&b, " EMAILID (M%lld)", (long long)x.emailid);
				if ((g->fetch & NFETCH_THREADID) && x.threadid > 0)
					buf_printf(&b, " THREADID (T%lld)", (long long)x.threadid);
				store_msg_extra_clear(&x);
			}
		}
		buf_puts(&b, ")\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
	}
	store_msg_list_free(rows, nrows);
	n->fetched_uid = imap_view_max_uid(v);
}

void imap_notify_flush(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n == NULL || s->conn == NULL)
		return;
	if (n->overflow && (n->watch != NULL || n->mbwatch != NULL)) {
		store_watch_remove(&n->watch);
		store_watch_remove(&n->mbwatch);
		n->npending = 0;
		buf_reset(&n->lists);
		imap_printf(s, "* OK [NOTIFICATIONOVERFLOW] Too many changes; NOTIFY is off\r\n");
		return;
	}
	send_new_fetches(s);
	if (n->lists.len > 0) {
		imap_write(s, n->lists.data, n->lists.len);
		buf_reset(&n->lists);
	}
	for (size_t i = 0; i < n->npending; i++) {
		struct store_mailbox mb;
		if (s->view != NULL && s->view->mailbox_id == n->pending[i])
			continue; /* selected meanwhile: imap-sync reports it */
		if (store_mailbox_get_by_id(s->srv->store, s->account_id, n->pending[i], &mb) != STORE_OK)
			continue; /* deleted meanwhile */
		if (mb.account_id == s->account_id &&
		    (events_for(n, &mb) & NOTIFY_MESSAGE_EVENTS) != 0)
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

/* The selected mailbox changed. RFC 5465 makes its events unsolicited:
 * with a SELECTED group that asks for message events they go out at once,
 * even when no command runs (without NOTIFY only IDLE does that). With
 * SELECTED-DELAYED, expunges still wait for a command that allows them
 * (imap_cmd_finish), so sequence numbers do not shift under the client. */
static void on_selected_change(struct imap_notify *n)
{
	struct imap_session *s = n->s;
	const struct notify_group *g = selected_group(n);
	if (g == NULL || g->events == 0 || !can_send_now(s))
		return;
	bool idle = s->cmd != NULL;
	imap_sync(s, idle || g->filter == NF_SELECTED);
	send_new_fetches(s);
}

static void on_change(void *ctx, int64_t mailbox_id, uint64_t highestmodseq)
{
	struct imap_notify *n = ctx;
	struct imap_session *s = n->s;
	if (n->overflow)
		return;
	if (s->view != NULL && s->view->mailbox_id == mailbox_id) {
		on_selected_change(n);
		return;
	}
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
	buf_init(&n->lists, IMAP_NOTIFY_MAX_LIST_BYTES);
	n->all_next = all_notify;
	n->all_prev = NULL;
	if (all_notify != NULL)
		all_notify->all_prev = n;
	all_notify = n;
	n->linked = true;
	if (s->view != NULL) {
		n->fetched_view = s->view->id;
		n->fetched_uid = imap_view_max_uid(s->view);
	}
	bool any = false, names = false;
	for (size_t i = 0; i < n->ngroups; i++) {
		if (n->groups[i].events & NOTIFY_MESSAGE_EVENTS)
			any = true;
		if (n->groups[i].events &
		    (IMAP_NOTIFY_MAILBOX_NAME | IMAP_NOTIFY_SUBSCRIPTION_CHANGE))
			names = true;
	}
	if (any)
		n->watch = store_watch_add(s->srv->store, s->account_id, 0, on_change, n);
	struct store_mailbox *list = NULL;
	size_t count = 0;
	if ((names || send_status) &&
	    store_mailbox_list(s->srv->store, s->account_id, &list, &count) != STORE_OK)
		return;
	if (names) {
		load_known(n, list, count);
		n->mbwatch = store_watch_mailboxes_add(s->srv->store, s->account_id, on_mailboxes, n);
	}
	if (!send_status) {
		store_mailbox_list_free(list, count);
		return;
	}
	/* RFC 5465 3.1: STATUS for each mailbox in the non-selected groups. */
	for (size_t i = 0; i < count; i++)
		if ((s->view == NULL || s->view->mailbox_id != list[i].id) &&
		    (events_for(n, &list[i]) & NOTIFY_MESSAGE_EVENTS) != 0)
			write_status(s, &list[i]);
	store_mailbox_list_free(list, count);
}
