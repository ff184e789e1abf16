/*
 * THREAD and UID THREAD (RFC 5256 section 4):
 *   thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
 * Algorithms ORDEREDSUBJECT and REFERENCES (imap-thread.c); an unknown
 * algorithm is BAD. The reply is "* THREAD" and the thread lists.
 */
#include "imap/imap-commands.h"
#include "imap/imap-search.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "imap/imap-sort.h"
#include "imap/imap-thread.h"
#include "lib/buf.h"
#include <stdlib.h>

struct thread_job {
	struct imap_search *search;
	struct imap_search_snap *snap;
	enum imap_thread_alg alg;
	int rc;
	struct buf out;		/* the thread lists, with UIDs */
};

/* On a read worker: search, load, thread and format with UIDs. */
static void thread_work(void *ctx)
{
	struct thread_job *j = ctx;
	struct imap_sort_msg *msgs;
	size_t n;
	j->rc = imap_sort_search_run(j->snap, j->search, imap_thread_needs(j->alg), &msgs, &n);
	if (j->rc < 0)
		return;
	imap_thread_format(j->alg, msgs, n, true, &j->out);
	imap_sort_msgs_free(&msgs, n);
}

static void thread_job_free(void *ctx)
{
	struct thread_job *j = ctx;
	imap_search_free(&j->search);
	imap_search_snap_free(&j->snap);
	buf_free(&j->out);
	free(j);
}

/* The worker's UID lists with each UID as its sequence number in the
 * client's view now; -1 when one is no longer there. */
static int to_seqs(const struct imap_view *v, const struct buf *in, struct buf *out)
{
	for (size_t i = 0; i < in->len;) {
		char c = in->data[i];
		if (c < '0' || c > '9') {
			buf_putc(out, c);
			i++;
			continue;
		}
		uint64_t uid = 0;
		while (i < in->len && in->data[i] >= '0' && in->data[i] <= '9' && uid <= UINT32_MAX)
			uid = uid * 10 + (uint64_t)(in->data[i++] - '0');
		uint32_t seq = uid <= UINT32_MAX ? imap_view_seq(v, (uint32_t)uid) : 0;
		if (seq == 0)
			return -1;
		buf_printf(out, "%u", seq);
	}
	return 0;
}

static void thread_done(struct imap_cmd *cmd, void *ctx)
{
	struct thread_job *j = ctx;
	struct imap_session *s = cmd->s;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, j->out.len ? "* THREAD " : "* THREAD");
	int rc = j->rc;
	if (rc == 0 && cmd->a.uid)
		buf_append(&b, j->out.data, j->out.len);
	else if (rc == 0)
		rc = s->view != NULL ? to_seqs(s->view, &j->out, &b) : -1;
	if (rc < 0) {
		buf_free(&b);
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot read messages");
		return;
	}
	buf_puts(&b, "\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	imap_cmd_ok(cmd, "THREAD completed");
}

void cmd_thread(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_command_args *a = &cmd->a;
	enum imap_thread_alg alg;
	if (a->count < 1 || a->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Missing thread algorithm");
		return;
	}
	if (imap_thread_alg_parse(a->args[0].str, &alg) < 0) {
		imap_cmd_bad(cmd, "Unknown thread algorithm");
		return;
	}
	struct imap_search *search;
	if (imap_sort_search_parse(cmd, a->args + 1, a->count - 1, false, &search) < 0)
		return;
	struct thread_job *j = xcalloc(1, sizeof(*j));
	j->search = search;
	j->snap = imap_search_snap_new(s, search);
	j->alg = alg;
	buf_init(&j->out, SIZE_MAX);
	bool heavy = imap_search_is_heavy(search, s->view);
	imap_cmd_offload(cmd, heavy, thread_work, thread_done, thread_job_free, j);
}
