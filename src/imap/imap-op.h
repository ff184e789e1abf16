/*
 * imap-op: running store write ops from commands, and the one place where
 * store errors become IMAP response codes (RFC 5530, RFC 9051 7.1), for
 * reads and writes alike: ETEMP and ENOSPACE are [UNAVAILABLE] (try
 * again), only ENOTFOUND is [NONEXISTENT], ECORRUPT is [SERVERBUG].
 */
#ifndef ROOST_IMAP_OP_H
#define ROOST_IMAP_OP_H
#include "store/store.h"

struct imap_cmd;

typedef void imap_op_done_fn(struct imap_cmd *cmd, struct store_op *op);

/* Submit `op` (owned by the command, e.g. in cmd->ctx) and pause the
 * session; `done` runs after the commit unless the client went away. */
void imap_op_submit(struct imap_cmd *cmd, struct store_op *op, imap_op_done_fn *done);
/* Finish cmd with "NO [CODE] text" for a store error. */
void imap_op_fail(struct imap_cmd *cmd, enum store_err err, const char *what);
/* "[CODE] " for a store error ("" when none fits). */
const char *imap_store_err_code(enum store_err err);
/* Finish cmd with "NO [CODE] text" for a store error of a read. */
void imap_store_no(struct imap_cmd *cmd, enum store_err err, const char *text);
#endif
