/*
 * SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4): the command
 * around the key grammar of imap-search.c. Handles RETURN options (ESEARCH,
 * RFC 4731: MIN MAX ALL COUNT, and SAVE from SEARCHRES, RFC 5182), CHARSET
 * (UTF-8 and US-ASCII; others NO [BADCHARSET]), and the reply: "* SEARCH"
 * for rev1, "* ESEARCH" for rev2 sessions or when RETURN was given.
 */
#include "imap/imap-commands.h"
#include "imap/imap-search.h"
#include "imap/imap-seqset.h"
#include "imap/imap-view.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ret_opt { RET_MIN = 1, RET_MAX = 2, RET_ALL = 4, RET_COUNT = 8, RET_SAVE = 16 };

static const struct {
	const char *name;
	enum ret_opt opt;
} ret_names[] = {
	{"MIN", RET_MIN}, {"MAX", RET_MAX}, {"ALL", RET_ALL}, {"COUNT", RET_COUNT}, {"SAVE", RET_SAVE},
};

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

/* modseq: the highest MODSEQ of the matches when the keys held MODSEQ
 * (RFC 7162 3.1.5), else 0 */
static void reply(struct imap_cmd *cmd, bool esearch, unsigned ret, const uint32_t *nums, size_t n,
		  uint64_t modseq)
{
	const struct imap_command_args *a = &cmd->a;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	if (!esearch) {
		buf_puts(&b, "* SEARCH");
		for (size_t q = 0; q < n; q++)
			buf_printf(&b, " %u", nums[q]);
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
	unsigned ret;
	int rc;
	uint32_t *uids;		/* matches, ascending */
	size_t n;
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
	unsigned ret = j->ret;
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
		if (want_modseq && v->msgs[seq - 1].modseq > modseq)
			modseq = v->msgs[seq - 1].modseq;
		n++;
	}
	/* RFC 7162 3.1.5: MODSEQ is the highest of the messages returned, so
	 * with MIN and/or MAX alone (no ALL or COUNT) it is theirs only. */
	if (want_modseq && n > 0 && (ret & (RET_MIN | RET_MAX)) && !(ret & (RET_ALL | RET_COUNT))) {
		modseq = 0;
		if (ret & RET_MIN)
			modseq = v->msgs[imap_view_seq(v, uids[0]) - 1].modseq;
		if (ret & RET_MAX) {
			uint64_t m = v->msgs[imap_view_seq(v, uids[n - 1]) - 1].modseq;
			if (m > modseq)
				modseq = m;
		}
	}
	if (ret & RET_SAVE)
		save_result(v, ret, uids, n);
	if (ret != RET_SAVE)
		reply(cmd, j->esearch, ret, nums, n, modseq);
	free(uids);
	free(nums);
	imap_cmd_ok(cmd, "SEARCH completed");
}

void cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	const struct imap_command_args *a = &cmd->a;
	size_t i = 0;
	bool esearch = s->rev2;
	unsigned ret = 0;
	if (i < a->count && imap_arg_is_atom(&a->args[i], "RETURN")) {
		if (i + 1 >= a->count || a->args[i + 1].type != IMAP_ARG_LIST) {
			imap_cmd_bad(cmd, "RETURN needs a list of options");
			return;
		}
		esearch = true;
		const struct imap_arg *r = &a->args[i + 1];
		for (size_t j = 0; j < r->count; j++) {
			unsigned opt = 0;
			for (size_t q = 0; q < sizeof(ret_names) / sizeof(ret_names[0]); q++)
				if (imap_arg_is_atom(&r->list[j], ret_names[q].name))
					opt = ret_names[q].opt;
			if (opt == 0) {
				imap_cmd_bad(cmd, "Unknown RETURN option");
				return;
			}
			ret |= opt;
		}
		i += 2;
	}
	/* RETURN () means ALL (RFC 4731 3.1); SAVE alone answers nothing */
	if ((ret & ~(unsigned)RET_SAVE) == 0 && ret != RET_SAVE)
		ret |= RET_ALL;
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
	/* Reading messages (text keys without the index) can take seconds:
	 * the search runs on a read worker over a snapshot of the view */
	struct search_job *job = xcalloc(1, sizeof(*job));
	job->search = search;
	job->snap = imap_search_snap_new(s, search);
	job->esearch = esearch;
	job->ret = ret;
	bool heavy = imap_search_is_heavy(search, v);
	imap_cmd_offload(cmd, heavy, search_work, search_done, search_job_free, job);
}
