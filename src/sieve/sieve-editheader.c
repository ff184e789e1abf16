/*
 * sieve-editheader: addheader and deleteheader (RFC 5293). Each edit goes
 * to the message view the later tests read (sieve-msg.c) and to the
 * result's edit list the caller applies to the stored copy (see
 * struct sieve_header_edit in sieve.h for the exact meaning).
 */
#include <gmime/gmime.h>
#include <string.h>
#include <strings.h>
#include "lib/alloc.h"
#include "mail/mime-index.h"
#include "sieve/sieve-interp.h"

static void edit_add(struct sv_run *run, bool add, bool last, const char *name, const char *value,
		     unsigned index)
{
	struct sieve_result *r = run->r;
	r->edits = xrealloc(r->edits, (r->nedits + 1) * sizeof(*r->edits));
	struct sieve_header_edit *e = &r->edits[r->nedits++];
	e->add = add;
	e->last = last;
	e->name = xstrdup(name);
	e->value = value != NULL ? xstrdup(value) : NULL;
	e->index = index;
}

/* RFC 5293 7: these fields are never deleted (trace and loop protection). */
static bool protected_field(const char *name)
{
	return strcasecmp(name, "received") == 0 || strcasecmp(name, "auto-submitted") == 0;
}

int sv_cmd_addheader(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	size_t nl, vl;
	char *name = sv_expand(run, sc, &n->pos[0]->strs[0], &nl);
	char *value = sv_expand(run, sc, &n->pos[1]->strs[0], &vl);
	int rc = 0;
	if (!sv_header_name_ok(name) || strlen(name) != nl) {
		rc = sv_rt_error(run, n, "addheader: invalid header field name");
	} else if (run->msg.nh >= SV_MSG_HEADERS || run->r->nedits >= run->lim.max_actions) {
		rc = sv_rt_error(run, n, "addheader: too many header edits");
	} else {
		/* line breaks become spaces; non-ASCII is RFC 2047 encoded (5) */
		bool ascii = true;
		for (size_t i = 0; i < vl; i++) {
			if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
				value[i] = ' ';
			if ((unsigned char)value[i] >= 0x80)
				ascii = false;
		}
		if (!ascii) {
			mime_index_global_init();
			char *enc = g_mime_utils_header_encode_text(NULL, value, "utf-8");
			if (enc != NULL) {
				free(value);
				value = xstrdup(enc);
				g_free(enc);
			}
		}
		bool last = sv_tag(n, TAG_LAST) != NULL;
		sv_msg_add_header(&run->msg, name, value, last);
		edit_add(run, true, last, name, value, 0);
	}
	free(name);
	free(value);
	return rc;
}

int sv_cmd_deleteheader(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	size_t nl;
	char *name = sv_expand(run, sc, &n->pos[0]->strs[0], &nl);
	if (protected_field(name) || strlen(name) != nl) {
		free(name);
		return 0;
	}
	size_t count = 0;
	for (size_t i = 0; i < run->msg.nh; i++)
		if (strcasecmp(run->msg.h[i].name, name) == 0)
			count++;
	const struct sv_tagbind *ix = sv_tag(n, TAG_INDEX);
	size_t want = 0;
	if (ix != NULL) {
		if (ix->val->num > count) {
			free(name);
			return 0;
		}
		want = sv_tag(n, TAG_LAST) ? count - (size_t)ix->val->num + 1 : (size_t)ix->val->num;
	}
	if (want == 0 && n->pos[1] == NULL) {
		if (count > 0) {
			for (size_t i = run->msg.nh; i-- > 0;)
				if (strcasecmp(run->msg.h[i].name, name) == 0)
					sv_msg_delete_header(&run->msg, i);
			edit_add(run, false, false, name, NULL, 0);
		}
		free(name);
		return 0;
	}
	/* From the bottom so each edit's occurrence number is still right
	 * when the caller applies the edits in order. */
	size_t occ = count;
	int rc = 0;
	for (size_t i = run->msg.nh; i-- > 0 && rc == 0;) {
		if (strcasecmp(run->msg.h[i].name, name) != 0)
			continue;
		size_t this_occ = occ--;
		if (want != 0 && this_occ != want)
			continue;
		if (n->pos[1] != NULL) {
			char *v = xstrdup(sv_hdr_value(&run->msg.h[i]));
			char *vals[2] = { v, NULL };
			int m = sv_match_values(run, sc, n, vals, 1, n->pos[1]);
			free(v);
			if (m < 0) {
				rc = -1;
				break;
			}
			if (m == 0)
				continue;
		}
		if (run->r->nedits >= run->lim.max_actions) {
			rc = sv_rt_error(run, n, "deleteheader: too many header edits");
			break;
		}
		edit_add(run, false, false, name, run->msg.h[i].raw, (unsigned)this_occ);
		sv_msg_delete_header(&run->msg, i);
	}
	free(name);
	return rc;
}
