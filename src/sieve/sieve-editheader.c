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
#include "lib/buf.h"
#include "mail/header-field.h"
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

/* ---- the stored copy ---- */

/* One line group of the header: a field (name set) or a line that is
 * not one (no colon), kept as it is. */
struct raw_field {
	const char *p;		/* the bytes, folded lines and line end included */
	size_t len;
	const char *name;	/* NULL: not a field */
	size_t nlen;
	char *own;		/* an added field's bytes */
};

static bool raw_is(const struct raw_field *f, const char *name)
{
	size_t n = strlen(name);
	return f->name != NULL && f->nlen == n && strncasecmp(f->name, name, n) == 0;
}

/* Split like sv_msg_init(): *body_off is where the fields end (after the
 * empty line, or at the scan limit). */
static struct raw_field *split_fields(const char *data, size_t len, size_t *n_r, size_t *body_off)
{
	struct raw_field *f = NULL;
	size_t n = 0, cap = 0;
	size_t limit = len < HEADER_FIELD_SCAN_MAX ? len : HEADER_FIELD_SCAN_MAX;
	size_t i = 0;
	*body_off = len;
	while (i < limit) {
		const char *eol = memchr(data + i, '\n', len - i);
		size_t le = eol != NULL ? (size_t)(eol - data) : len;
		size_t ll = le - i;
		if (ll > 0 && data[i + ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			*body_off = i;	/* the empty line belongs to the body part */
			*n_r = n;
			return f;
		}
		size_t end = eol != NULL ? le + 1 : len;
		while (end < len && (data[end] == ' ' || data[end] == '\t')) {
			const char *e2 = memchr(data + end, '\n', len - end);
			end = e2 != NULL ? (size_t)(e2 - data) + 1 : len;
		}
		f = xgrow(f, &cap, n + 1, sizeof(*f));
		struct raw_field *r = &f[n++];
		*r = (struct raw_field){.p = data + i, .len = end - i};
		const char *colon = memchr(data + i, ':', ll);
		if (colon != NULL) {
			size_t nlen = (size_t)(colon - (data + i));
			while (nlen > 0 && (data[i + nlen - 1] == ' ' || data[i + nlen - 1] == '\t'))
				nlen--;
			if (nlen > 0 && n <= SV_MSG_HEADERS) {
				r->name = data + i;
				r->nlen = nlen;
			}
		}
		i = end;
	}
	*body_off = i < len ? i : len;
	*n_r = n;
	return f;
}

char *sieve_apply_edits(const char *msg, size_t len, const struct sieve_header_edit *edits,
			size_t nedits, size_t *len_r)
{
	size_t n, body_off;
	struct raw_field *f = split_fields(msg, len, &n, &body_off);
	const char *eol = memchr(msg, '\n', len);
	const char *nl = eol != NULL && eol > msg && eol[-1] == '\r' ? "\r\n" :
			 eol != NULL ? "\n" : "\r\n";
	size_t cap = n;
	for (size_t k = 0; k < nedits; k++) {
		const struct sieve_header_edit *e = &edits[k];
		if (e->add) {
			if (e->name == NULL || e->value == NULL)
				continue;
			/* after the last field, before any non-field lines at the end */
			size_t at = 0;
			if (e->last) {
				at = n;
				while (at > 0 && f[at - 1].name == NULL)
					at--;
			}
			f = xgrow(f, &cap, n + 1, sizeof(*f));
			memmove(f + at + 1, f + at, (n - at) * sizeof(*f));
			char *own = xasprintf("%s: %s%s", e->name, e->value, nl);
			f[at] = (struct raw_field){.p = own, .len = strlen(own), .name = own,
						   .nlen = strlen(e->name), .own = own};
			n++;
			continue;
		}
		if (e->name == NULL || protected_field(e->name))
			continue;
		unsigned occ = 0;
		for (size_t i = 0; i < n;) {
			if (!raw_is(&f[i], e->name)) {
				i++;
				continue;
			}
			occ++;
			if (e->index != 0 && occ != e->index) {
				i++;
				continue;
			}
			free(f[i].own);
			memmove(f + i, f + i + 1, (n - i - 1) * sizeof(*f));
			n--;
			if (e->index != 0)
				break;
		}
	}
	/* the result is at most the message plus the added fields */
	size_t max = len + 3;
	for (size_t i = 0; i < n; i++)
		max += f[i].own != NULL ? f[i].len : 0;
	struct buf b;
	buf_init(&b, max);
	for (size_t i = 0; i < n; i++) {
		buf_append(&b, f[i].p, f[i].len);
		/* only the message's last line can lack its line end */
		if (i + 1 < n && f[i].len > 0 && f[i].p[f[i].len - 1] != '\n')
			buf_append(&b, nl, strlen(nl));
		free(f[i].own);
	}
	free(f);
	buf_append(&b, msg + body_off, len - body_off);
	*len_r = b.len;
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}
