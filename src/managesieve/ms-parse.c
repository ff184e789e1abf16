/*
 * ms-parse: the ManageSieve command framing (RFC 5804 4), without I/O:
 * one line's atoms and quoted strings go into a struct ms_words; a line
 * that ends in a literal length ({n+} or {n}) asks for those n octets,
 * after which the same command goes on in the next line. The session
 * (ms-session.c) reads the literal bytes and adds them with
 * ms_words_add(); the fuzzer drives these functions directly.
 */
#include "managesieve/ms-private.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

void ms_words_reset(struct ms_words *w)
{
	for (int i = 0; i < w->nwords; i++)
		xfree(&w->words[i].s);
	memset(w, 0, sizeof(*w));
}

void ms_words_add(struct ms_words *w, char *str, size_t len, bool atom)
{
	w->bytes += len;
	if (w->nwords >= MS_MAX_ARGS + 1) {
		w->overflow = true;
		free(str);
		return;
	}
	w->words[w->nwords++] = (struct ms_string){.s = str, .len = len, .atom = atom};
}

/* A quoted string at line[*pos] (the opening quote), with \" and \\
 * (RFC 5804 4: QUOTED-SPECIALS): malloc'd, or NULL when malformed. */
static char *quoted(const char *line, size_t len, size_t *pos, size_t *out_len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0, i = *pos + 1;
	for (; i < len && line[i] != '"'; i++) {
		if (line[i] == '\\' && (++i >= len || (line[i] != '"' && line[i] != '\\')))
			break;
		if (line[i] == '\0' || line[i] == '\r' || line[i] == '\n')
			break;
		out[n++] = line[i];
	}
	if (i >= len || line[i] != '"') {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*pos = i + 1;
	*out_len = n;
	return out;
}

enum ms_parse ms_parse_line(struct ms_words *w, const char *line, size_t len, size_t max,
			    uint64_t *literal_r)
{
	*literal_r = 0;
	if (w->bytes + len > max)
		return MS_PARSE_TOO_LARGE;
	size_t pos = 0;
	while (pos < len) {
		if (line[pos] == ' ') {
			pos++;
			continue;
		}
		if (line[pos] == '"') {
			size_t n;
			char *str = quoted(line, len, &pos, &n);
			if (str == NULL)
				return MS_PARSE_BAD_QUOTED;
			ms_words_add(w, str, n, false);
			continue;
		}
		if (line[pos] == '{') {
			/* {n+} or {n}, and nothing after it on the line */
			size_t i = pos + 1;
			uint64_t n = 0;
			while (i < len && line[i] >= '0' && line[i] <= '9' && n <= UINT32_MAX)
				n = n * 10 + (uint64_t)(line[i++] - '0');
			if (i < len && line[i] == '+')
				i++;
			if (i == pos + 1 || line[pos + 1] == '+' || i + 1 != len || line[i] != '}' ||
			    n > UINT32_MAX)
				return MS_PARSE_BAD_LITERAL;
			if (w->bytes + n > max)
				return MS_PARSE_TOO_LARGE;
			*literal_r = n;
			return MS_PARSE_LITERAL;
		}
		size_t start = pos;
		while (pos < len && line[pos] != ' ' && line[pos] != '"' && line[pos] != '{')
			pos++;
		/* a copy of exactly these bytes: a NUL inside stays (and the
		 * command table or name check refuses it) */
		char *atom = xmalloc(pos - start + 1);
		memcpy(atom, line + start, pos - start);
		atom[pos - start] = '\0';
		ms_words_add(w, atom, pos - start, true);
	}
	return MS_PARSE_DONE;
}
