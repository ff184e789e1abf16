/*
 * SORT and UID SORT (RFC 5256 section 4), with ESORT result options
 * (RFC 5267 section 3: RETURN (MIN MAX ALL COUNT), PARTIAL from RFC 9394,
 * imap-return.h), SAVE from SEARCHRES (RFC 5182 2.4) and MODSEQ with
 * CONDSTORE (RFC 7162 3.1.5), and RETURN (UPDATE) live results (CONTEXT=SORT,
 * RFC 5267 4, imap-context.h):
 *   sort = ["UID" SP] "SORT" [SP "RETURN" SP "(" opts ")"] SP sort-criteria
 *          SP charset 1*(SP search-key)
 * The criteria and message keys are imap-sort.c's; the search program is
 * imap-search.c's.
 */
#include "imap/imap-commands.h"
#include "imap/imap-context.h"
#include "imap/imap-return.h"
#include "imap/imap-search.h"
#include "imap/imap-sort.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>

#define RET_MIN IMAP_RETURN_MIN
#define RET_MAX IMAP_RETURN_MAX
#define RET_ALL IMAP_RETURN_ALL
#define RET_COUNT IMAP_RETURN_COUNT
#define RET_SAVE IMAP_RETURN_SAVE

/* ret NULL: a plain "* SORT". modseq: the highest MODSEQ of the returned
 * messages when the keys held MODSEQ (RFC 7162 3.1.5, which RFC 5267 3
 * carries over to ESORT), else 0. */
static void reply(struct imap_cmd *cmd, const struct imap_return *r, const uint32_t *nums,
		  size_t n, uint64_t modseq)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	if (r == NULL) {
		buf_puts(&b, "* SORT");
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, " %u", nums[i]);
		if (modseq && n)
			buf_printf(&b, " (MODSEQ %llu)", (unsigned long long)modseq);
	} else {
		unsigned ret = r->opts;
		buf_puts(&b, "* ESEARCH (TAG ");
		imap_buf_string(&b, cmd->a.tag, strlen(cmd->a.tag));
		buf_putc(&b, ')');
		if (cmd->a.uid)
			buf_puts(&b, " UID");
		/* MIN and MAX: first and last in sort order (RFC 5267 3.1) */
		if ((ret & RET_MIN) && n)
			buf_printf(&b, " MIN %u", nums[0]);
		if ((ret & RET_MAX) && n)
			buf_printf(&b, " MAX %u", nums[n - 1]);
		if ((ret & RET_ALL) && n) {
			buf_puts(&b, " ALL ");
			imap_return_put_ordered_set(&b, nums, n);
		}
		/* PARTIAL counts positions in sort order (RFC 9394 3.1) */
		if (ret & IMAP_RETURN_PARTIAL) {
			size_t first, k;
			imap_return_partial_slice(r, n, &first, &k);
			imap_return_put_partial(&b, r, nums + first, k, true);
		}
		if (ret & RET_COUNT)
			buf_printf(&b, " COUNT %zu", n);
		if (modseq && n)
			buf_printf(&b, " MODSEQ %llu", (unsigned long long)modseq);
	}
	buf_puts(&b, "\r\n");
	imap_write(cmd->s, b.data, b.len);
	buf_free(&b);
}

/* RFC 5182 2.4: with MIN and/or MAX alone, only those are saved; else
 * every match. The saved result is a set, its order does not matter. */
static void save(struct imap_view *v, unsigned ret, const struct imap_sort_msg *msgs, size_t n)
{
	uint32_t *uids = xmalloc((n ? n : 1) * sizeof(*uids));
	size_t k = 0;
	if (n > 0 && (ret & (RET_MIN | RET_MAX)) && !(ret & (RET_ALL | RET_COUNT))) {
		if (ret & RET_MIN)
			uids[k++] = msgs[0].uid;
		if ((ret & RET_MAX) && !(k == 1 && n == 1))
			uids[k++] = msgs[n - 1].uid;
	} else {
		for (; k < n; k++)
			uids[k] = msgs[k].uid;
	}
	imap_view_save_result(v, uids, k);
	free(uids);
}

/* "RETURN (...)" at args[0] (imap-return.h), or -1 after a BAD reply.
 * *used_r: arguments consumed; without RETURN, ret_r->opts is 0. */
static int parse_return(struct imap_cmd *cmd, struct imap_return *ret_r, size_t *used_r)
{
	const struct imap_command_args *a = &cmd->a;
	memset(ret_r, 0, sizeof(*ret_r));
	*used_r = 0;
	if (a->count == 0 || !imap_arg_is_atom(&a->args[0], "RETURN"))
		return 0;
	const char *error;
	if (a->count < 2 || imap_return_parse(&a->args[1], ret_r, &error) < 0) {
		imap_cmd_bad(cmd, "%s", a->count < 2 ? "RETURN needs a list of options" : error);
		return -1;
	}
	*used_r = 2;
	return 0;
}

struct sort_job {
	struct imap_search *search;
	struct imap_search_snap *snap;
	struct imap_sort_program prog;
	struct imap_return ret;	/* opts 0: plain SORT */
	int rc;
	struct imap_sort_msg *msgs;
	size_t n;
};

/* On a read worker: search, load the keys, order. */
static void sort_work(void *ctx)
{
	struct sort_job *j = ctx;
	j->rc = imap_sort_search_run(j->snap, j->search, imap_sort_program_needs(&j->prog),
				     &j->msgs, &j->n);
	if (j->rc == 0)
		imap_sort_order(&j->prog, j->msgs, j->n);
}

static void sort_job_free(void *ctx)
{
	struct sort_job *j = ctx;
	imap_search_free(&j->search);
	imap_search_snap_free(&j->snap);
	imap_sort_msgs_free(&j->msgs, j->n);
	free(j);
}

/* Back on the loop: number the sorted UIDs in the client's view. */
static void sort_done(struct imap_cmd *cmd, void *ctx)
{
	struct sort_job *j = ctx;
	struct imap_view *v = cmd->s->view;
	unsigned ret = j->ret.opts;
	bool saving = (ret & RET_SAVE) != 0;
	if (j->rc < 0 || v == NULL) {
		if (saving && v != NULL)
			imap_view_save_result(v, NULL, 0);
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot read messages");
		return;
	}
	/* a message the view no longer holds is left out */
	size_t n = 0;
	for (size_t q = 0; q < j->n; q++) {
		uint32_t seq = imap_view_seq(v, j->msgs[q].uid);
		if (seq == 0)
			continue;
		struct imap_sort_msg m = j->msgs[n];
		j->msgs[n] = j->msgs[q];
		j->msgs[q] = m;
		j->msgs[n++].idx = seq - 1;
	}
	if (saving)
		save(v, ret, j->msgs, n);
	uint32_t *uids = xmalloc((n ? n : 1) * sizeof(*uids));
	uint32_t *nums = xmalloc((n ? n : 1) * sizeof(*nums));
	for (size_t q = 0; q < n; q++) {
		uids[q] = j->msgs[q].uid;
		nums[q] = cmd->a.uid ? j->msgs[q].uid : j->msgs[q].idx + 1;
	}
	uint64_t modseq = imap_search_uses_modseq(j->search)
				  ? imap_return_modseq(v, &j->ret, uids, n)
				  : 0;
	if (ret == 0)
		reply(cmd, NULL, nums, n, modseq);
	else if ((ret & (IMAP_RETURN_RESULT_OPTS | IMAP_RETURN_UPDATE)) != 0)
		reply(cmd, &j->ret, nums, n, modseq);
	/* a live sorted result (CONTEXT=SORT, RFC 5267 4): the context
	 * keeps the keys, so updates never sort again; a live page is not
	 * kept (RFC 5267 4.2 lets the server decline with NOUPDATE) */
	if ((ret & IMAP_RETURN_UPDATE) && (ret & IMAP_RETURN_PARTIAL))
		imap_context_decline(cmd, "Paged results are not kept updated");
	else if (ret & IMAP_RETURN_UPDATE)
		imap_context_add_sorted(cmd, &j->search, &j->prog, j->msgs, n);
	free(uids);
	free(nums);
	imap_cmd_ok(cmd, "SORT completed");
}

void cmd_sort(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_command_args *a = &cmd->a;
	struct imap_return ret;
	size_t i;
	if (parse_return(cmd, &ret, &i) < 0)
		return;
	bool saving = (ret.opts & RET_SAVE) != 0;
	struct imap_sort_program prog;
	const char *error;
	if (i >= a->count || imap_sort_parse(&a->args[i], &prog, &error) < 0) {
		if (saving)
			imap_view_save_result(s->view, NULL, 0);
		imap_cmd_bad(cmd, "%s", i >= a->count ? "Missing sort criteria" : error);
		return;
	}
	i++;
	struct imap_search *search;
	if (imap_sort_search_parse(cmd, a->args + i, a->count - i, saving, &search) < 0)
		return;
	/* the search may read messages, and the sort is O(n log n) over the
	 * mailbox: both on a read worker over a snapshot of the view */
	struct sort_job *j = xcalloc(1, sizeof(*j));
	j->search = search;
	j->snap = imap_search_snap_new(s, search);
	j->prog = prog;
	j->ret = ret;
	bool heavy = imap_search_is_heavy(search, s->view);
	imap_cmd_offload(cmd, heavy, sort_work, sort_done, sort_job_free, j);
}
