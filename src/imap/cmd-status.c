/* STATUS (RFC 9051 6.3.11; SIZE from RFC 8438; RECENT for rev1 only;
 * HIGHESTMODSEQ from RFC 7162 3.1.6, which turns CONDSTORE on). */
#include "imap/imap-commands.h"
#include "imap/imap-op.h"
#include "imap/imap-objectid.h"
#include "imap/imap-condstore.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "imap/imap-view.h"
#include "store/store-recent.h"
#include "store/store-quota-admin.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	ST_MESSAGES = 1, ST_UIDNEXT = 2, ST_UIDVALIDITY = 4, ST_UNSEEN = 8,
	ST_DELETED = 16, ST_SIZE = 32, ST_RECENT = 64, ST_HIGHESTMODSEQ = 128,
	ST_MAILBOXID = 256,	/* RFC 8474 4.2 */
	ST_DELETED_STORAGE = 512, /* RFC 9208 4.2: KiB an EXPUNGE would free */
};

static const struct {
	const char *name;
	unsigned bit;
} items[] = {
	{"MESSAGES", ST_MESSAGES}, {"UIDNEXT", ST_UIDNEXT}, {"UIDVALIDITY", ST_UIDVALIDITY},
	{"UNSEEN", ST_UNSEEN},	   {"DELETED", ST_DELETED}, {"SIZE", ST_SIZE},
	{"RECENT", ST_RECENT},	   {"HIGHESTMODSEQ", ST_HIGHESTMODSEQ},
	{"MAILBOXID", ST_MAILBOXID}, {"DELETED-STORAGE", ST_DELETED_STORAGE},
};

int imap_status_items_parse(struct imap_session *s, const struct imap_arg *list,
			    unsigned *items_r)
{
	*items_r = 0;
	if (list->type != IMAP_ARG_LIST || list->count == 0)
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		size_t j;
		for (j = 0; j < sizeof(items) / sizeof(items[0]); j++)
			if (imap_arg_is_atom(&list->list[i], items[j].name))
				break;
		if (j == sizeof(items) / sizeof(items[0]))
			return -1;
		if (items[j].bit == ST_RECENT && s->rev2)
			return -1; /* RFC 9051 removed RECENT */
		*items_r |= items[j].bit;
	}
	if (*items_r & ST_HIGHESTMODSEQ)
		imap_condstore_enable(s);
	return 0;
}

enum store_err imap_status_write(struct imap_session *s, const struct store_mailbox *mb,
				 unsigned want)
{
	enum store_err err;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	char *wire = imap_mailbox_to_wire(s, mb->name);
	buf_puts(&b, "* STATUS ");
	imap_session_buf_string(s, &b, wire, strlen(wire));
	free(wire);
	buf_puts(&b, " (");
	const char *sep = "";
	if (want & ST_MESSAGES) buf_printf(&b, "%sMESSAGES %u", sep, mb->messages), sep = " ";
	if (want & ST_UIDNEXT) buf_printf(&b, "%sUIDNEXT %u", sep, mb->uidnext), sep = " ";
	if (want & ST_UIDVALIDITY) buf_printf(&b, "%sUIDVALIDITY %u", sep, mb->uidvalidity), sep = " ";
	if (want & ST_UNSEEN) buf_printf(&b, "%sUNSEEN %u", sep, mb->unseen), sep = " ";
	if (want & ST_DELETED) buf_printf(&b, "%sDELETED %u", sep, mb->deleted), sep = " ";
	if (want & ST_SIZE) buf_printf(&b, "%sSIZE %lld", sep, (long long)mb->bytes), sep = " ";
	if (want & ST_MAILBOXID) {
		buf_printf(&b, "%sMAILBOXID (", sep);
		imap_objectid_mailbox(&b, mb->id, mb->uidvalidity);
		buf_putc(&b, ')');
		sep = " ";
	}
	if (want & ST_RECENT) {
		/* The selected mailbox: what this session holds as \Recent.
		 * Another: the messages no session has claimed yet, which the
		 * next SELECT will see as recent (store-recent.h). */
		uint32_t recent = 0;
		if (s->view != NULL && s->view->mailbox_id == mb->id)
			recent = (uint32_t)imap_view_recent_count(s->view);
		else if ((err = store_recent_get(s->srv->store, s->account_id, mb->id, NULL, &recent)) !=
			 STORE_OK) {
			buf_free(&b);
			return err;
		}
		buf_printf(&b, "%sRECENT %u", sep, recent);
		sep = " ";
	}
	if (want & ST_DELETED_STORAGE) {
		int64_t bytes;
		if ((err = store_quota_deleted_bytes(s->srv->store, s->account_id, mb->id, &bytes)) !=
		    STORE_OK) {
			buf_free(&b);
			return err;
		}
		buf_printf(&b, "%sDELETED-STORAGE %lld", sep, (long long)((bytes + 1023) / 1024));
		sep = " ";
	}
	if (want & ST_HIGHESTMODSEQ) {
		/* the selected mailbox: no further than this session has told
		 * the client, held-back expunges included (RFC 7162 3.2.4) */
		uint64_t hms = mb->highestmodseq;
		if (s->view != NULL && s->view->mailbox_id == mb->id &&
		    imap_condstore_reported_modseq(s->view) < hms)
			hms = imap_condstore_reported_modseq(s->view);
		buf_printf(&b, "%sHIGHESTMODSEQ %llu", sep, (unsigned long long)hms);
	}
	buf_puts(&b, ")\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	return STORE_OK;
}

void cmd_status(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *error;
	char *name;
	unsigned want;
	if (cmd->a.count != 2 || imap_status_items_parse(s, &cmd->a.args[1], &want) < 0) {
		imap_cmd_bad(cmd, "STATUS needs a mailbox and a list of items");
		return;
	}
	if (imap_mailbox_from_wire(s, &cmd->a.args[0], &name, &error) < 0) {
		imap_cmd_no(cmd, "%s", error);
		return;
	}
	struct store_mailbox mb;
	enum store_err err = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	free(name);
	if (err == STORE_OK) {
		err = imap_status_write(s, &mb, want);
		store_mailbox_clear(&mb);
	}
	if (err != STORE_OK) {
		imap_store_no(cmd, err, err == STORE_ENOTFOUND ? "No such mailbox" : "Cannot read mailbox");
		return;
	}
	imap_cmd_ok(cmd, "STATUS completed");
}
