/*
 * store-op-multi: STORE_OP_MULTI, several ops as one (store.h). They run
 * in order inside the multi op's savepoint, which the writer rolls back
 * when this returns an error: all of them are stored or none. Used for
 * MULTIAPPEND (RFC 3502 6.3.11: all messages or none) and REPLACE (RFC 8508
 * 3.3: the new message is appended and the old one expunged atomically).
 */
#include "store/store-ops.h"

#define STORE_MULTI_MAX_OPS 10000 /* sub-ops per multi op */

enum store_err store_op_multi(struct store_txn *txn, struct store_op *op)
{
	struct store_multi *m = &op->u.multi;
	if (m->nops == 0 || m->nops > STORE_MULTI_MAX_OPS)
		return STORE_EINVAL;
	for (size_t i = 0; i < m->nops; i++) {
		struct store_op *sub = m->ops[i];
		if (sub->kind == STORE_OP_MULTI || sub->kind == STORE_OP_FUNC)
			return STORE_EINVAL;
		sub->err = store_op_execute(txn, sub);
		if (sub->err != STORE_OK) {
			/* the ones not run fail with the same error */
			for (size_t j = i + 1; j < m->nops; j++)
				m->ops[j]->err = sub->err;
			return sub->err;
		}
	}
	return STORE_OK;
}
