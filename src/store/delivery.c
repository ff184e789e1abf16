/*
 * delivery: the shared delivery path (see delivery.h). Trace headers are
 * per recipient (RFC 5321 4.4: Return-Path at final delivery; the
 * widespread Delivered-To for loop detection), so they live in each
 * message's prefix while the content is stored once.
 */
#include "store/delivery.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include <string.h>

void delivery_init(struct delivery *d, const char *return_path, const char *received)
{
	memset(d, 0, sizeof(*d));
	d->return_path = xstrdup(return_path ? return_path : "");
	d->received = received ? xstrdup(received) : NULL;
}

enum store_err delivery_add_rcpt(struct delivery *d, struct store *s, const char *address)
{
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL)
		return STORE_EINVAL;
	int64_t *ids;
	size_t n;
	enum store_err err = store_resolve(s, addr, &ids, &n);
	if (err != STORE_OK) {
		free(addr);
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < d->nrcpts && !dup; j++)
			dup = d->rcpts[j].account_id == ids[i];
		if (dup)
			continue;
		d->rcpts = xgrow(d->rcpts, &d->cap, d->nrcpts + 1, sizeof(*d->rcpts));
		struct delivery_rcpt *r = &d->rcpts[d->nrcpts++];
		memset(r, 0, sizeof(*r));
		r->address = xstrdup(addr);
		r->account_id = ids[i];
		r->err = STORE_ETEMP;
	}
	free(ids);
	free(addr);
	return STORE_OK;
}

enum store_err delivery_account_full(struct store *s, int64_t account_id, uint64_t size,
				     bool *full_r)
{
	*full_r = false;
	struct store_account a;
	enum store_err err = store_account_get_by_id(s, account_id, &a);
	if (err != STORE_OK)
		return err;
	*full_r = (a.quota_bytes >= 0 && a.used_bytes >= a.quota_bytes) ||
		  (a.quota_messages >= 0 && a.used_messages >= a.quota_messages) ||
		  (size > 0 && a.quota_bytes >= 0 && a.used_bytes + (int64_t)size > a.quota_bytes);
	store_account_clear(&a);
	return STORE_OK;
}

void delivery_prepare(struct delivery *d, const char *data, size_t len)
{
	if (d->content != NULL) {
		data = d->content;	/* editheader (delivery-sieve.c) */
		len = d->content_len;
	}
	size_t n = 0;
	for (size_t i = 0; i < d->nrcpts; i++) {
		const struct delivery_rcpt *r = &d->rcpts[i];
		if (r->refuse == NULL && !r->discard)
			n += r->nboxes > 0 ? r->nboxes : 1;
	}
	d->targets = xcalloc(n ? n : 1, sizeof(*d->targets));
	d->target_rcpt = xcalloc(n ? n : 1, sizeof(*d->target_rcpt));
	d->prefixes = xcalloc(d->nrcpts ? d->nrcpts : 1, sizeof(*d->prefixes));
	size_t k = 0;
	for (size_t i = 0; i < d->nrcpts; i++) {
		struct delivery_rcpt *r = &d->rcpts[i];
		d->prefixes[i] = xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n%s%s",
					   d->return_path, r->address, d->received ? d->received : "",
					   r->added ? r->added : "");
		if (r->refuse != NULL || r->discard)
			continue;
		size_t nb = r->nboxes > 0 ? r->nboxes : 1;
		for (size_t b = 0; b < nb; b++, k++) {
			struct store_target *t = &d->targets[k];
			d->target_rcpt[k] = i;
			t->account_id = r->account_id;
			t->prefix = d->prefixes[i];
			t->joined = b > 0;
			if (r->nboxes > 0) {
				t->mailbox_id = r->boxes[b].mailbox_id;
				t->mailbox_name = r->boxes[b].mailbox;
				t->create_mailbox = r->boxes[b].create;
				t->flags = r->boxes[b].flags;
				t->keywords = r->boxes[b].keywords;
			}
		}
	}
	store_op_init(&d->op, STORE_OP_DELIVER);
	d->op.u.deliver.data = data;
	d->op.u.deliver.len = len;
	d->op.u.deliver.targets = d->targets;
	d->op.u.deliver.ntargets = n;
	d->op.u.deliver.per_target = true;
	d->op.u.deliver.quota_warn = true; /* store-quota-warn.c */
}

bool delivery_nothing_to_store(const struct delivery *d)
{
	return d->op.u.deliver.ntargets == 0;
}

void delivery_finish(struct delivery *d)
{
	for (size_t i = 0; i < d->nrcpts; i++) {
		/* discarded or refused: nothing to store, nothing failed */
		d->rcpts[i].err = STORE_OK;
		d->rcpts[i].uid = 0;
	}
	bool *seen = xcalloc(d->nrcpts ? d->nrcpts : 1, sizeof(*seen));
	for (size_t k = 0; k < d->op.u.deliver.ntargets; k++) {
		struct delivery_rcpt *r = &d->rcpts[d->target_rcpt[k]];
		enum store_err err = d->op.err == STORE_OK || d->targets[k].err != STORE_OK ?
			d->targets[k].err : d->op.err;
		/* a recipient fails when any of its copies failed */
		if (!seen[d->target_rcpt[k]] || err != STORE_OK)
			r->err = err;
		if (!seen[d->target_rcpt[k]] && err == STORE_OK)
			r->uid = d->targets[k].uid;
		seen[d->target_rcpt[k]] = true;
	}
	free(seen);
}

void delivery_free(struct delivery *d)
{
	for (size_t i = 0; i < d->nrcpts; i++) {
		struct delivery_rcpt *r = &d->rcpts[i];
		for (size_t b = 0; b < r->nboxes; b++) {
			free(r->boxes[b].mailbox);
			free(r->boxes[b].keywords);
		}
		free(r->boxes);
		free(r->refuse);
		free(r->added);
		free(r->address);
	}
	free(d->rcpts);
	free(d->target_rcpt);
	if (d->prefixes != NULL) {
		for (size_t i = 0; i < d->nrcpts; i++)
			free(d->prefixes[i]);
		free(d->prefixes);
	}
	free(d->targets);
	free(d->content);
	store_op_clear(&d->op);
	free(d->return_path);
	free(d->received);
	memset(d, 0, sizeof(*d));
}
