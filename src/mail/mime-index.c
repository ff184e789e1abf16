/*
 * mime-index: mime_index_build() (see mime-index.h). The structure and
 * offsets come from our own scanner (mime-scan.c), which sees exact raw
 * bytes; GMime decodes what SEARCH and SORT compare: RFC 2047 encoded-words
 * and charsets to UTF-8, and the Date field.
 */
#include "mail/mime-index-private.h"
#include "lib/alloc.h"
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Decoding input per field is capped: SEARCH in a 1 MB subject is not
 * worth unbounded work at store time. */
#define MIME_SEARCH_FIELD_MAX (256 * 1024)
#define MIME_DATE_MAX 256	/* a valid RFC 5322 date is far shorter */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init_once(void)
{
	g_mime_init();
}

void mime_index_global_init(void)
{
	pthread_once(&gmime_once, gmime_init_once);
}

/* A raw value made into a C string: NULs dropped, at most max bytes (not
 * cutting a UTF-8 sequence in two). */
static char *c_string(const struct buf *v, size_t max)
{
	size_t n = v->len < max ? v->len : max;
	while (n < v->len && n > 0 && ((unsigned char)v->data[n] & 0xc0) == 0x80)
		n--;
	char *s = xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (v->data[i] != '\0')
			s[o++] = v->data[i];
	s[o] = '\0';
	return s;
}

static bool needs_decoding(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
			return true;
	return false;
}

/* The field decoded to valid UTF-8 on one line, or NULL when absent. */
static char *search_field(const char *data, const struct mime_part *p, enum mime_field f,
			  struct buf *tmp)
{
	if (!mime_field_unfold(data, &p->field[f], tmp))
		return NULL;
	char *raw = c_string(tmp, MIME_SEARCH_FIELD_MAX);
	char *s = raw;
	if (needs_decoding(raw)) {
		/* Encoded-words (RFC 2047) and raw 8-bit text. Unknown
		 * charsets and broken words come back as text, never as an
		 * error. */
		s = mime_decode_header_text(raw, strlen(raw));
		free(raw);
		if (!g_utf8_validate(s, -1, NULL)) {
			char *valid = g_utf8_make_valid(s, -1);
			free(s);
			s = xstrdup(valid);
			g_free(valid);
		}
	}
	/* One line: control characters (CR, LF, TAB...) become spaces. */
	for (char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return s;
}

static int64_t parse_date(const char *data, const struct mime_part *p, struct buf *tmp)
{
	if (!mime_field_unfold(data, &p->field[MF_DATE], tmp) || tmp->len > MIME_DATE_MAX)
		return 0;
	char *s = c_string(tmp, MIME_DATE_MAX);
	GDateTime *dt = g_mime_utils_header_decode_date(s);
	free(s);
	if (dt == NULL)
		return 0;
	int64_t t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t;
}

void mime_index_build(const char *data, size_t len, struct mime_index *idx_r)
{
	struct mime_tree tree;
	struct buf out, tmp;

	mime_index_global_init();
	memset(idx_r, 0, sizeof(*idx_r));
	mime_tree_build(&tree, data, len);
	const struct mime_part *top = &tree.parts[0];

	/* Output size is bounded by the input and the part and address caps,
	 * so these buffers need no maximum of their own. */
	buf_init(&out, (size_t)-1);
	mime_envelope_write(&out, data, top);
	idx_r->envelope = buf_steal(&out);
	mime_structure_write(&out, &tree, 0, false);
	idx_r->body = buf_steal(&out);
	mime_structure_write(&out, &tree, 0, true);
	idx_r->bodystructure = buf_steal(&out);
	mime_parts_write(&out, &tree);
	idx_r->parts = buf_steal(&out);

	buf_init(&tmp, (size_t)-1);
	idx_r->subject = search_field(data, top, MF_SUBJECT, &tmp);
	idx_r->from = search_field(data, top, MF_FROM, &tmp);
	idx_r->to = search_field(data, top, MF_TO, &tmp);
	idx_r->cc = search_field(data, top, MF_CC, &tmp);
	idx_r->bcc = search_field(data, top, MF_BCC, &tmp);
	idx_r->message_id = search_field(data, top, MF_MESSAGE_ID, &tmp);
	idx_r->in_reply_to = search_field(data, top, MF_IN_REPLY_TO, &tmp);
	idx_r->references = search_field(data, top, MF_REFERENCES, &tmp);
	idx_r->date = parse_date(data, top, &tmp);
	idx_r->header_len = top->body_start;
	idx_r->preview = mime_preview_build(&tree);
	buf_free(&tmp);
	mime_tree_free(&tree);
}

void mime_index_clear(struct mime_index *idx)
{
	xfree(&idx->envelope);
	xfree(&idx->body);
	xfree(&idx->bodystructure);
	xfree(&idx->parts);
	xfree(&idx->subject);
	xfree(&idx->from);
	xfree(&idx->to);
	xfree(&idx->cc);
	xfree(&idx->bcc);
	xfree(&idx->message_id);
	xfree(&idx->in_reply_to);
	xfree(&idx->references);
	xfree(&idx->preview);
	idx->date = 0;
	idx->header_len = 0;
}
