/*
 * fuzz-smtp-command: an SMTP/LMTP session's input through the parsers of
 * smtp/smtp-parse.h, in the order smtp-session.c and smtp-data.c use them.
 * The input is the client's byte stream: lines split as conn does (bare LF
 * noted), commands up to SMTP_MAX_COMMAND_LINE, then after DATA the
 * message lines until the end, and after BDAT <n> exactly n raw bytes.
 *
 * Invariants: the verb is 1..SMTP_MAX_VERB upper-case letters and args
 * points into the line; EHLO arguments that pass smtp_helo_valid() are
 * printable ASCII of at most SMTP_MAX_HELO bytes (they go verbatim into
 * Received:); MAIL/RCPT paths lie inside the line, hold no controls or
 * spaces outside quotes and are at most SMTP_MAX_PATH bytes, parameters
 * are upper-case keywords; xtext accepted by smtp_xtext_valid() is
 * printable; and in DATA exactly CRLF "." CRLF ends the message, a bare
 * LF ends a text line, any bare CR is BAD, and dot-stuffing is removed only from lines that start
 * with '.' (RFC 5321 2.3.8, 4.1.1.4, 4.5.2: no smuggling).
 */
#include "fuzz.h"
#include "smtp/smtp-parse.h"
#include <ctype.h>

static void check_printable(const char *s)
{
	for (; *s != '\0'; s++)
		FUZZ_CHECK((unsigned char)*s > 32 && (unsigned char)*s < 127);
}

static void check_path_args(const char *line, size_t len, const char *args, const char *prefix)
{
	/* The session hands the handler its own line; parse a copy in place. */
	char *copy = fuzz_strndup((const uint8_t *)args, strlen(args));
	struct smtp_path_args pa;
	enum smtp_path_result r = smtp_parse_path_args(copy, prefix, &pa);
	if (r == SMTP_PATH_OK) {
		size_t clen = strlen(args);
		FUZZ_CHECK(pa.path >= copy && pa.path <= copy + clen);
		size_t plen = strlen(pa.path);
		FUZZ_CHECK(plen <= SMTP_MAX_PATH);
		for (size_t i = 0; i < plen; i++)
			FUZZ_CHECK((unsigned char)pa.path[i] >= 0x20 && pa.path[i] != 0x7f);
		FUZZ_CHECK(pa.nparams <= SMTP_MAX_PARAMS);
		for (size_t i = 0; i < pa.nparams; i++) {
			const struct smtp_param *p = &pa.params[i];
			FUZZ_CHECK(p->keyword >= copy && p->keyword < copy + clen);
			FUZZ_CHECK(p->keyword[0] != '\0');
			for (const char *k = p->keyword; *k != '\0'; k++)
				FUZZ_CHECK(!islower((unsigned char)*k) && *k != ' ' && *k != '=');
			if (p->value == NULL)
				continue;
			FUZZ_CHECK(p->value >= copy && p->value <= copy + clen);
			uint64_t size;
			int sr = smtp_parse_size(p->value, &size);
			FUZZ_CHECK(sr >= -1 && sr <= 1);
			if (sr == 0 && strlen(p->value) <= 19) /* below 10^19 fits */
				FUZZ_CHECK(size == strtoull(p->value, NULL, 10));
			if (smtp_xtext_valid(p->value))
				check_printable(p->value);
			/* decoded xtext: printable ASCII or space, never longer */
			char *dec = smtp_xtext_decode(p->value);
			FUZZ_CHECK((dec != NULL) <= smtp_xtext_valid(p->value));
			if (dec != NULL) {
				FUZZ_CHECK(strlen(dec) <= strlen(p->value));
				for (const char *c = dec; *c != '\0'; c++)
					FUZZ_CHECK((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
			}
			free(dec);
			const char *semi = strchr(p->value, ';');
			if (semi != NULL && smtp_xtext_valid(semi + 1))
				check_printable(semi + 1);
		}
	} else {
		FUZZ_CHECK(r >= SMTP_PATH_SYNTAX && r <= SMTP_PATH_TOO_MANY_PARAMS);
	}
	(void)line;
	(void)len;
	free(copy);
}

/* One command line; returns 1 for DATA, 2 for BDAT (size in *bdat_r). */
static int command(const char *line, size_t len, uint64_t *bdat_r)
{
	char verb[SMTP_MAX_VERB + 1];
	const char *args = NULL;

	if (len == 0 || len > SMTP_MAX_COMMAND_LINE - 2 || memchr(line, '\0', len) != NULL)
		return 0;
	if (smtp_parse_verb(line, verb, &args) < 0)
		return 0;
	size_t vlen = strlen(verb);
	FUZZ_CHECK(vlen >= 1 && vlen <= SMTP_MAX_VERB);
	for (size_t i = 0; i < vlen; i++)
		FUZZ_CHECK(verb[i] >= 'A' && verb[i] <= 'Z');
	FUZZ_CHECK(args != NULL && args >= line && args <= line + len);
	(void)smtp_has_8bit(line, len);

	if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0 || strcmp(verb, "LHLO") == 0) {
		if (smtp_helo_valid(args)) {
			FUZZ_CHECK(strlen(args) <= SMTP_MAX_HELO);
			check_printable(args);
		}
	} else if (strcmp(verb, "MAIL") == 0) {
		check_path_args(line, len, args, "FROM:");
	} else if (strcmp(verb, "RCPT") == 0) {
		check_path_args(line, len, args, "TO:");
	} else if (strcmp(verb, "DATA") == 0) {
		return 1;
	} else if (strcmp(verb, "BDAT") == 0) {
		bool last = false;
		if (smtp_parse_bdat(args, bdat_r, &last) == 0)
			return 2;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	struct fuzz_line line;
	bool in_data = false, prev_crlf = false;

	while (pos < size && fuzz_next_line(data, size, &pos, &line)) {
		if (!in_data) {
			uint64_t bdat = 0;
			int r = command(line.text, line.len, &bdat);
			if (r == 1) {
				in_data = true;
				/* The DATA line's CRLF may start CRLF.CRLF. */
				prev_crlf = !line.bare_lf;
			} else if (r == 2) {
				/* The chunk is raw bytes: no line rules apply. */
				pos += size - pos < bdat ? size - pos : (size_t)bdat;
			}
			free(line.text);
			continue;
		}
		size_t skip = 99;
		enum smtp_data_line k =
			smtp_data_classify(line.text, line.len, line.bare_lf, prev_crlf, &skip);
		bool end = line.len == 1 && line.text[0] == '.' && !line.bare_lf && prev_crlf;
		/* bare LF ends a text line (normalised); bare CR is refused */
		bool bad = memchr(line.text, '\r', line.len) != NULL;
		FUZZ_CHECK((k == SMTP_DATA_END) == end);
		if (!end)
			FUZZ_CHECK((k == SMTP_DATA_BAD) == bad);
		if (k == SMTP_DATA_TEXT) {
			FUZZ_CHECK(skip == (line.len > 0 && line.text[0] == '.' ? 1u : 0u));
			FUZZ_CHECK(skip <= line.len);
		}
		if (k == SMTP_DATA_END)
			in_data = false;
		prev_crlf = !line.bare_lf;
		free(line.text);
	}
	return 0;
}
