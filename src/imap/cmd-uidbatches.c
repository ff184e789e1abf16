/*
 * UIDBATCHES (RFC 10022): UID ranges that split the selected mailbox into
 * batches of a requested size, newest messages first, so that a client can
 * FETCH, SEARCH or STORE one batch at a time (the way to page a mailbox
 * under UIDONLY, RFC 9586, where sequence numbers are gone).
 *   message-batches = "UIDBATCHES" SP nz-number [SP nz-number ":" nz-number]
 *   reply: "* UIDBATCHES (TAG \"<tag>\")" [SP uid-range *("," uid-range)]
 * imap-uidbatches.c parses the arguments. The optional range names
 * batches by number (1 = the newest). Each uid-range is written highest
 * UID first. The batches are cut from this session's view (imap-view.h):
 * the messages the client knows of, so they agree with every EXISTS and
 * EXPUNGE it has seen. Batches are exactly the requested size (the last
 * one may be smaller), which is within the allowed deviation and meets
 * the strict maximum a MESSAGELIMIT server must keep (RFC 10022 3.1.3).
 */
#include "imap/imap-commands.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-uidbatches.h"
#include "imap/imap-view.h"
#include "lib/buf.h"
#include <stdint.h>
#include <string.h>

/* Smallest batch size accepted: RFC 10022 3.1.3 has servers take 500 and
 * more; a smaller request is NO [TOOFEW]. */
#define UIDBATCHES_MIN_SIZE 500
/* Most messages one command may span: the batch size times the batches
 * asked for, or the whole mailbox when no range is given. RFC 10022 3.1.5
 * sets 100,000 as the least a server supports; more is NO [TOOMANY]. This
 * also bounds the reply (at most this / the minimum size ranges). */
#define UIDBATCHES_MAX_MESSAGES 100000

/* The smallest batch this session may ask for. With a message limit under
 * the usual minimum a batch must still fit one command's limit, so the
 * limit itself is allowed (RFC 10022 3.1.3 lets a server take smaller
 * sizes than 500). */
static uint32_t min_size(const struct imap_session *s)
{
	uint32_t limit = imap_messagelimit(s);
	return limit > 0 && limit < UIDBATCHES_MIN_SIZE ? limit : UIDBATCHES_MIN_SIZE;
}

/* Append batch `k` (1-based) of `size` messages counted from the newest.
 * The view holds at least one message of that batch. */
static void append_batch(struct buf *b, const struct imap_view *v, uint32_t size, uint64_t k)
{
	uint64_t skip = (k - 1) * size;
	size_t hi = v->count - 1 - (size_t)skip;
	uint32_t low;
	/* RFC 10022 3.1.4: the oldest batch ends at UID 1, existing or not,
	 * so the batches cover every UID up to the newest */
	if (hi + 1 <= size)
		low = 1;
	else
		low = v->msgs[hi + 1 - size].uid;
	buf_printf(b, "%u:%u", v->msgs[hi].uid, low);
}

void cmd_uidbatches(struct imap_cmd *cmd)
{
	const struct imap_command_args *a = &cmd->a;
	const struct imap_view *v = cmd->s->view;
	struct imap_uidbatches_args req;
	const char *error;

	if (imap_uidbatches_parse(a->args, a->count, &req, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	uint32_t size = req.size, first = req.first, last = req.last;
	bool ranged = req.ranged;
	uint32_t min = min_size(cmd->s);
	if (size < min) {
		imap_cmd_no(cmd, "[TOOFEW] The smallest batch size is %u", min);
		return;
	}
	uint64_t span = ranged ? (uint64_t)size * ((uint64_t)last - first + 1) : v->count;
	if (span > UIDBATCHES_MAX_MESSAGES) {
		imap_cmd_no(cmd, "[TOOMANY] At most %u messages in one UIDBATCHES%s",
			    UIDBATCHES_MAX_MESSAGES, ranged ? "" : ": give a batch range");
		return;
	}

	/* RFC 10022 3.1.2: the reply comes even when no batch exists (empty
	 * mailbox, or a range past the oldest batch) */
	struct buf b;
	buf_init(&b, SIZE_MAX); /* bounded by UIDBATCHES_MAX_MESSAGES above */
	buf_puts(&b, "* UIDBATCHES (TAG ");
	imap_buf_string(&b, a->tag, strlen(a->tag));
	buf_puts(&b, ")");
	uint64_t batches = (v->count + (uint64_t)size - 1) / size;
	char sep = ' ';
	for (uint64_t k = first; k <= last && k <= batches; k++) {
		buf_putc(&b, sep);
		append_batch(&b, v, size, k);
		sep = ',';
	}
	buf_puts(&b, "\r\n");
	imap_write(cmd->s, b.data, b.len);
	buf_free(&b);
	imap_cmd_ok(cmd, "UIDBATCHES completed");
}
