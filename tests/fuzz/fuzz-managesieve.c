/*
 * fuzz-managesieve: the ManageSieve command framing (ms-parse.c) the way
 * the session drives it: each line through ms_parse_line(); a literal it
 * asks for is taken from the next input bytes (as conn_read_bytes()
 * would), then lines go on; a complete command is checked and reset.
 * Invariants: a literal is asked for only by a line ending in "{n}" or
 * "{n+}" with n within the limit; every string is NUL-terminated at its
 * length; atoms hold no space, quote or brace; quoted strings hold no CR
 * or LF; at most MS_MAX_ARGS + 1 strings are kept and `bytes` never
 * passes the limit; ms_write_string's quoting rule (no CR/LF/NUL, at
 * most 1024 octets) re-parses a quoted string to the same bytes.
 */
#include "fuzz.h"
#include "lib/alloc.h"
#include "managesieve/ms-private.h"

#define LIMIT 4096

static void check_words(const struct ms_words *w)
{
	FUZZ_CHECK(w->nwords >= 0 && w->nwords <= MS_MAX_ARGS + 1);
	FUZZ_CHECK(w->bytes <= LIMIT);
	for (int i = 0; i < w->nwords; i++) {
		const struct ms_string *s = &w->words[i];
		FUZZ_CHECK(s->s != NULL && s->s[s->len] == '\0');
		if (s->atom) {
			FUZZ_CHECK(s->len > 0);
			for (size_t k = 0; k < s->len; k++)
				FUZZ_CHECK(s->s[k] != ' ' && s->s[k] != '"' && s->s[k] != '{');
		}
	}
}

/* A string written as ms_write_string() quotes it parses back the same. */
static void round_trip(const struct ms_string *s)
{
	if (s->len > 1024 || memchr(s->s, '\r', s->len) || memchr(s->s, '\n', s->len) ||
	    memchr(s->s, '\0', s->len))
		return;
	char *q = xmalloc(2 * s->len + 3);
	size_t n = 0;
	q[n++] = '"';
	for (size_t i = 0; i < s->len; i++) {
		if (s->s[i] == '"' || s->s[i] == '\\')
			q[n++] = '\\';
		q[n++] = s->s[i];
	}
	q[n++] = '"';
	q[n] = '\0';
	struct ms_words w = {0};
	uint64_t lit;
	FUZZ_CHECK(ms_parse_line(&w, q, n, 2 * LIMIT + 3, &lit) == MS_PARSE_DONE);
	FUZZ_CHECK(w.nwords == 1 && !w.words[0].atom && w.words[0].len == s->len &&
		   memcmp(w.words[0].s, s->s, s->len) == 0);
	ms_words_reset(&w);
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_words w = {0};
	struct fuzz_line line;
	size_t pos = 0;
	while (fuzz_next_line(data, size, &pos, &line)) {
		uint64_t lit = 0;
		enum ms_parse r = ms_parse_line(&w, line.text, line.len, LIMIT, &lit);
		check_words(&w);
		if (r == MS_PARSE_LITERAL) {
			FUZZ_CHECK(line.len >= 3 && line.text[line.len - 1] == '}');
			FUZZ_CHECK(w.bytes + lit <= LIMIT);
			size_t take = size - pos < lit ? size - pos : (size_t)lit;
			if (take < lit) {
				free(line.text);
				break; /* the connection would still be waiting */
			}
			ms_words_add(&w, fuzz_strndup(data + pos, take), take, false);
			pos += take;
			check_words(&w);
		} else if (r == MS_PARSE_DONE) {
			for (int i = 0; i < w.nwords; i++)
				if (!w.words[i].atom)
					round_trip(&w.words[i]);
			ms_words_reset(&w);
		} else {
			ms_words_reset(&w);
		}
		free(line.text);
	}
	ms_words_reset(&w);
	return 0;
}
