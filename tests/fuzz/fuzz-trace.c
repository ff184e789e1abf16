/*
 * fuzz-trace: the support trace's redaction of client lines
 * (trace_redact() in lib/trace.c), line by line over a session with the
 * SASL state carried along; a line starting with byte 0x01 stands for a
 * server reply that keeps (second byte odd) or ends the exchange.
 *
 * Invariants: the output fits and is NUL-terminated, holds no control
 * byte; during an exchange it is "*" or "[redacted]"; otherwise it is the
 * line's first bytes (control bytes as '?'), possibly followed by
 * "[redacted]"; a PASS with an argument and an AUTH/AUTHENTICATE with an
 * initial response always end in "[redacted]"; a small output buffer is
 * never overrun.
 */
#include "fuzz.h"
#include "lib/trace.h"
#include <strings.h>

#define RED "[redacted]"

static bool first_word_is(const char *s, size_t len, const char *w)
{
	size_t i = 0, n = strlen(w);
	while (i < len && s[i] == ' ')
		i++;
	return len - i > n && strncasecmp(s + i, w, n) == 0 && s[i + n] == ' ' &&
	       i + n + 1 < len && s[i + n + 1] != ' ';
}

static void check_line(const char *line, size_t len, bool *sasl, size_t out_max)
{
	bool during = *sasl;
	char *out = malloc(out_max);
	FUZZ_CHECK(out != NULL);
	size_t n = trace_redact(line, len, sasl, out, out_max);
	FUZZ_CHECK(n < out_max && out[n] == '\0' && strlen(out) == n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	if (during) {
		FUZZ_CHECK(strcmp(out, "*") == 0 || strncmp(out, RED, n) == 0);
		FUZZ_CHECK(*sasl);
	} else {
		/* the line's (sanitised) prefix, then a prefix of the marker
		 * (cut short by a small buffer) */
		size_t red = strlen(RED), i = 0;
		while (i < n && i < len &&
		       out[i] == ((unsigned char)line[i] < 0x20 || line[i] == 0x7f ? '?' : line[i]))
			i++;
		bool split = i == n;
		for (size_t j = 0; j <= i && !split; j++)
			split = n - j <= red && strncmp(out + j, RED, n - j) == 0;
		FUZZ_CHECK(split);
		if (out_max > len + red + 1 && first_word_is(line, len, "PASS"))
			FUZZ_CHECK(n >= red && strcmp(out + n - red, RED) == 0);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	bool sasl = false, sasl_small = false;
	struct fuzz_line l;
	while (fuzz_next_line(data, size, &pos, &l)) {
		if (l.len >= 1 && l.text[0] == 0x01) {
			sasl = sasl_small = sasl && l.len >= 2 && (l.text[1] & 1);
		} else {
			check_line(l.text, l.len, &sasl, 1100);
			check_line(l.text, l.len, &sasl_small, 9);
		}
		free(l.text);
	}
	return 0;
}
