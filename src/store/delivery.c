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
	d->targets = xcalloc(d->nrcpts ? d->nrcpts : 1, sizeof(*d->targets));
	d->prefixes = xcalloc(d->nrcpts ? d->nrcpts : 1, sizeof(*d->prefixes));
	for (size_t i = 0; i < d->nrcpts; i++) {
		d->prefixes[i] = xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n%s", d->return_path,
					   d->rcpts[i].address, d->received ? d->received : "");
		d->targets[i].account_id = d->rcpts[i].account_id;
		d->targets[i].prefix = d->prefixes[i];
	}
	store_op_init(&d->op, STORE_OP_DELIVER);
	d->op.u.deliver.data = data;
	d->op.u.deliver.len = len;
	d->op.u.deliver.targets = d->targets;
	d->op.u.deliver.ntargets = d->nrcpts;
	d->op.u.deliver.per_target = true;
	d->op.u.deliver.quota_warn = true; /* store-quota-warn.c */
}

void delivery_finish(struct delivery *d)
{
	for (size_t i = 0; i < d->nrcpts; i++) {
		d->rcpts[i].err = d->op.err == STORE_OK || d->targets[i].err != STORE_OK ?
			d->targets[i].err : d->op.err;
		d->rcpts[i].uid = d->rcpts[i].err == STORE_OK ? d->targets[i].uid : 0;
	}
}

void delivery_free(struct delivery *d)
{
	for (size_t i = 0; i < d->nrcpts; i++)
		free(d->rcpts[i].address);
	free(d->rcpts);
	if (d->prefixes != NULL) {
		for (size_t i = 0; i < d->nrcpts; i++)
			free(d->prefixes[i]);
		free(d->prefixes);
	}
	free(d->targets);
	store_op_clear(&d->op);
	free(d->return_path);
	free(d->received);
	memset(d, 0, sizeof(*d));
}
