/*
 * mbox: reading mbox files (see mbox.h).
 */
#include "mail/mbox.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void mbox_msg_clear(struct mbox_msg *m)
{
	free(m->data);
	free(m->keywords);
	memset(m, 0, sizeof(*m));
}

static bool is_from(const char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/* "From sender Sat Feb  1 10:00:00 2020": the asctime date at the end. */
static int64_t from_date(const char *line, size_t n)
{
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (n < 24 + 5)
		return 0;
	char d[25];
	memcpy(d, line + n - 24, 24);
	d[24] = '\0';
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(d, "%a %b %e %H:%M:%S %Y", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return (int64_t)timegm(&tm);
}

/* A header line "Name: value": the value if the name matches. */
static const char *field(const char *line, size_t n, const char *name, size_t *vlen_r)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	const char *v = line + nl + 1;
	size_t vl = n - nl - 1;
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == '\n' || v[vl - 1] == '\r' || v[vl - 1] == ' '))
		vl--;
	*vlen_r = vl;
	return v;
}

int mbox_next(const char *data, size_t len, size_t *off, size_t max, struct mbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	size_t pos = *off;
	if (pos >= len)
		return 0;
	const char *nl = memchr(data + pos, '\n', len - pos);
	size_t n = nl ? (size_t)(nl - (data + pos)) + 1 : len - pos;
	if (!is_from(data + pos, n))
		return -1;
	m->date = from_date(data + pos, n);
	pos += n;
	struct buf out;
	buf_init(&out, max);
	bool header = true, too_large = false;
	while (pos < len) {
		nl = memchr(data + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - (data + pos)) + 1 : len - pos;
		const char *line = data + pos;
		if (is_from(line, n))
			break;
		pos += n;
		if (header) {
			if ((n == 1 && line[0] == '\n') || (n == 2 && line[0] == '\r'))
				header = false;
			size_t vl;
			const char *v;
			if (header && n <= MBOX_MAX_STATUS_LINE) {
				if ((v = field(line, n, "Status", &vl)) != NULL) {
					if (memchr(v, 'R', vl))
						m->flags |= 0x01u;
					continue;
				}
				if ((v = field(line, n, "X-Status", &vl)) != NULL) {
					if (memchr(v, 'A', vl))
						m->flags |= 0x02u;
					if (memchr(v, 'F', vl))
						m->flags |= 0x04u;
					if (memchr(v, 'D', vl))
						m->flags |= 0x08u;
					if (memchr(v, 'T', vl))
						m->flags |= 0x10u;
					continue;
				}
				if ((v = field(line, n, "X-Keywords", &vl)) != NULL) {
					free(m->keywords);
					m->keywords = vl > 0 ? xstrndup(v, vl) : NULL;
					if (m->keywords != NULL)
						for (char *c = m->keywords; *c; c++)
							if (*c == ',' || *c == '\t')
								*c = ' ';
					continue;
				}
			}
		} else {
			size_t q = 0;
			while (q < n && line[q] == '>')
				q++;
			if (q > 0 && is_from(line + q, n - q)) {
				line++;
				n--;
			}
		}
		if (!too_large && buf_append(&out, line, n) < 0)
			too_large = true;
	}
	/* the blank line before the next From_ is the separator's */
	if (pos < len || (out.len > 0 && out.data[out.len - 1] == '\n')) {
		if (out.len >= 2 && out.data[out.len - 1] == '\n' && out.data[out.len - 2] == '\n')
			out.len--;
		else if (out.len >= 3 && memcmp(out.data + out.len - 3, "\n\r\n", 3) == 0)
			out.len -= 2;
		else if (out.len == 1 && out.data[0] == '\n')
			out.len = 0;
	}
	if (too_large) {
		buf_free(&out);
		mbox_msg_clear(m);
		*off = pos;
		return 2;
	}
	m->len = out.len;
	m->data = xmalloc(out.len + 1);
	if (out.len > 0)
		memcpy(m->data, out.data, out.len);
	m->data[out.len] = '\0';
	buf_free(&out);
	*off = pos;
	return 1;
}
