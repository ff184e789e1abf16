/*
 * SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4): the command
 * around the key grammar of imap-search.c. Handles RETURN options
 * (imap-return.h: ESEARCH, RFC 4731: MIN MAX ALL COUNT; SAVE from
 * SEARCHRES, RFC 5182; PARTIAL, RFC 9394; UPDATE and CONTEXT, RFC 5267,
 * whose live results imap-context.c keeps), CHARSET
 * (UTF-8 and US-ASCII; others NO [BADCHARSET]), and the reply: "* SEARCH"
 * for rev1, "* ESEARCH" for rev2 sessions or when RETURN was given.
 * MESSAGELIMIT (RFC 9738 3.1): over more messages than the limit, only the
 * highest UIDs are searched and OK [MESSAGELIMIT n uid] says so.
 */
#include "imap/imap-commands.h"
#include "imap/imap-context.h"
#include "imap/imap-messagelimit.h" /* MESSAGELIMIT */
#include "imap/imap-return.h"
#include "imap/imap-search.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RET_MIN IMAP_RETURN_MIN
#define RET_MAX IMAP_RETURN_MAX
#define RET_ALL IMAP_RETURN_ALL
#define RET_COUNT IMAP_RETURN_COUNT
#define RET_SAVE IMAP_RETURN_SAVE

/* RFC 5182 2.4: SAVE with MIN and/or MAX (and neither ALL nor COUNT)
 * saves just those; otherwise the whole result. A failed SEARCH ... SAVE
 * leaves the saved result empty (2.1). */
static void save_result(struct imap_view *v, unsigned ret, const uint32_t *uids, size_t n)
{
	if (n > 0 && (ret & (RET_MIN | RET_MAX)) && !(ret & (RET_ALL | RET_COUNT))) {
		uint32_t mm[2];
		size_t k = 0;
		if (ret & RET_MIN)
			mm[k++] = uids[0];
		if ((ret & RET_MAX) && !(k == 1 && n == 1))
			mm[k++] = uids[n - 1];
		imap_view_save_result(v, mm, k);
		return;
	}
	imap_view_save_result(v, uids, n);
}

/* modseq: the highest MODSEQ of the returned messages when the keys held
 * MODSEQ (RFC 7162 3.1.5), else 0 */
static void reply(struct imap_cmd *cmd, bool esearch, const struct imap_return *r,
		  const uint32_t *nums, size_t n, uint64_t modseq, bool descending)
{
	const struct imap_command_args *a = &cmd->a;
	unsigned ret = r->opts;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	if (!esearch) {
		buf_puts(&b, "* SEARCH");
		/* RFC 9738 3.1: a limited search answers from the highest UID
		 * down (ESEARCH's sets and MIN/MAX have no order) */
		for (size_t q = 0; q < n; q++)
			buf_printf(&b, " %u", nums[descending ? n - 1 - q : q]);
		if (modseq && n)
			buf_printf(&b, " (MODSEQ %llu)", (unsigned long long)modseq);
	} else {
		buf_puts(&b, "* ESEARCH (TAG ");
		imap_buf_string(&b, a->tag, strlen(a->tag));
		buf_putc(&b, ')');
		if (a->uid)
			buf_puts(&b, " UID");
		if ((ret & RET_MIN) && n)
			buf_printf(&b, " MIN %u", nums[0]);
		if ((ret & RET_MAX) && n)
			buf_printf(&b, " MAX %u", nums[n - 1]);
		if ((ret & RET_ALL) && n) {
			char *set = imap_seqset_format_list(nums, n);
			buf_printf(&b, " ALL %s", set);
			free(set);
		}
		if (ret & IMAP_RETURN_PARTIAL) {
			size_t first, k;
			imap_return_partial_slice(r, n, &first, &k);
			imap_return_put_partial(&b, r, nums + first, k, false);
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

struct search_job {
	struct imap_search *search;
	struct imap_search_snap *snap;
	bool esearch;
	struct imap_return ret;
	int rc;
	uint32_t *uids;		/* matches, ascending */
	size_t n;
	uint32_t limit_lowest;	/* MESSAGELIMIT: lowest UID searched, 0 = all */
};

static void search_work(void *ctx)
{
	struct search_job *j = ctx;
	j->rc = imap_search_run_snap(j->snap, j->search, &j->uids, &j->n);
}

static void search_job_free(void *ctx)
{
	struct search_job *j = ctx;
	imap_search_free(&j->search);
	imap_search_snap_free(&j->snap);
	free(j->uids);
	free(j);
}

/* Back on the loop: the UIDs the worker found, numbered in the view the
 * client has now (a message it no longer sees is left out). */
static void search_done(struct imap_cmd *cmd, void *ctx)
{
	struct search_job *j = ctx;
	struct imap_view *v = cmd->s->view;
	unsigned ret = j->ret.opts;
	if (j->rc < 0 || v == NULL) {
		if ((ret & RET_SAVE) && v != NULL)
			imap_view_save_result(v, NULL, 0);
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot read messages");
		return;
	}
	bool want_modseq = imap_search_uses_modseq(j->search);
	uint32_t *uids = xmalloc((j->n ? j->n : 1) * sizeof(*uids));
	uint32_t *nums = xmalloc((j->n ? j->n : 1) * sizeof(*nums));
	uint64_t modseq = 0;
	size_t n = 0;
	for (size_t q = 0; q < j->n; q++) {
		uint32_t seq = imap_view_seq(v, j->uids[q]);
		if (seq == 0)
			continue;
		uids[n] = j->uids[q];
		/* the answer numbers: UIDs for UID SEARCH, else sequence numbers */
		nums[n] = cmd->a.uid ? j->uids[q] : seq;
		n++;
	}
	if (want_modseq)
		modseq = imap_return_modseq(v, &j->ret, uids, n);
	if (ret & RET_SAVE)
		save_result(v, ret, uids, n);
	if ((ret & IMAP_RETURN_RESULT_OPTS) != 0 || (ret & IMAP_RETURN_UPDATE) != 0 || !j->esearch)
		reply(cmd, j->esearch, &j->ret, nums, n, modseq, j->limit_lowest != 0);
	/* a live page would need positions kept for every change: the
	 * result is not kept when PARTIAL asked for a page */
	if ((ret & IMAP_RETURN_UPDATE) && (ret & IMAP_RETURN_PARTIAL))
		imap_context_decline(cmd, "Paged results are not kept updated");
	else if ((ret & IMAP_RETURN_UPDATE) && j->limit_lowest != 0)
		imap_context_decline(cmd, "A search cut by MESSAGELIMIT is not kept updated");
	else if (ret & IMAP_RETURN_UPDATE)
		imap_context_add(cmd, &j->search, uids, n);
	free(uids);
	free(nums);
	if (j->limit_lowest != 0)
		imap_messagelimit_ok(cmd, j->limit_lowest, NULL, "SEARCH completed");
	else
		imap_cmd_ok(cmd, "SEARCH completed");
}

void cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	const struct imap_command_args *a = &cmd->a;
	size_t i = 0;
	bool esearch = s->rev2;
	struct imap_return r = {.opts = IMAP_RETURN_ALL};
	if (i < a->count && imap_arg_is_atom(&a->args[i], "RETURN")) {
		const char *err;
		if (i + 1 >= a->count || imap_return_parse(&a->args[i + 1], &r, &err) < 0) {
			imap_cmd_bad(cmd, "%s", i + 1 >= a->count ? "RETURN needs a list of options" : err);
			return;
		}
		esearch = true;
		i += 2;
	}
	unsigned ret = r.opts;
	if (i + 1 < a->count && imap_arg_is_atom(&a->args[i], "CHARSET")) {
		const struct imap_arg *cs = &a->args[i + 1];
		if (!imap_arg_is_astring(cs) ||
		    (strcasecmp(cs->str, "UTF-8") != 0 && strcasecmp(cs->str, "US-ASCII") != 0)) {
			if (ret & RET_SAVE)
				imap_view_save_result(v, NULL, 0);
			imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
			return;
		}
		i += 2;
	}
	struct imap_search *search;
	const char *error;
	/* a->args is NULL when the command has no arguments ("a1 SEARCH"):
	 * no pointer arithmetic on it (the fuzzer found this) */
	const struct imap_arg *keys = a->count > i ? a->args + i : NULL;
	if (imap_search_parse(s, keys, a->count - i, &search, &error) < 0) {
		if (ret & RET_SAVE)
			imap_view_save_result(v, NULL, 0);
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if (s->uidonly && imap_search_uses_seqnums(search)) {
		/* RFC 9586 3: no sequence numbers in search keys either */
		imap_search_free(&search);
		if (ret & RET_SAVE)
			imap_view_save_result(v, NULL, 0);
		imap_cmd_bad(cmd, "[UIDREQUIRED] Message sequence numbers are off (UIDONLY)");
		return;
	}
	/* Reading messages (text keys without the index) can take seconds:
	 * the search runs on a read worker over a snapshot of the view */
	struct search_job *job = xcalloc(1, sizeof(*job));
	job->search = search;
	job->snap = imap_search_snap_new(s, search);
	job->esearch = esearch;
	job->ret = r;
	job->limit_lowest = imap_search_limit(search, v, imap_messagelimit(s));
	bool heavy = imap_search_is_heavy(search, v);
	imap_cmd_offload(cmd, heavy, search_work, search_done, search_job_free, job);
}
