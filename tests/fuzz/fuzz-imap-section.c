/*
 * fuzz-imap-section: the FETCH section grammar, imap_section_parse() (the
 * text between '[' and ']' of BODY[...], RFC 9051 6.4.5), then
 * imap_section_extract() and imap_section_binary() of the parsed section
 * against a fixed nested MIME message whose part map mime_index_build()
 * made once at start-up.
 *
 * Invariants: an accepted part is "" or 1*DIGIT *("." 1*DIGIT) without
 * leading zeros and at most IMAP_MAX_SECTION_DEPTH numbers; MIME needs a
 * part; HEADER.FIELDS[.NOT] has 1..IMAP_MAX_SECTION_FIELDS names, none
 * with ':'; the section written back in wire form parses to the same
 * section; an extracted range lies inside the message; a failed parse
 * leaves nothing allocated.
 */
#include "fuzz.h"
#include "imap/imap-fetch-section.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/imap-quote.h"
#include "mail/mime-index.h"
#include <strings.h>

static const char message[] =
	"Received: from a by b\r\n"
	"From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	"--b1\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
	"--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	"aGVsbG8gd29ybGQ=\r\n"
	"--b1\r\nContent-Type: message/rfc822\r\n\r\n"
	"Subject: inner\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
	"--b2\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	"caf=C3=A9\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b2--\r\n"
	"\r\n--b1--\r\n";
/* The trace line above stands for the stored prefix (not in the index). */
static const size_t prefix_len = 23;
static struct mime_index idx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mime_index_global_init();
	mime_index_build(message + prefix_len, sizeof(message) - 1 - prefix_len, &idx);
	FUZZ_CHECK(idx.parts != NULL);
	return 0;
}

static void check_part(const char *part)
{
	size_t depth = 0;
	const char *p = part;
	while (*p != '\0') {
		FUZZ_CHECK(*p >= '1' && *p <= '9');
		while (*p >= '0' && *p <= '9')
			p++;
		depth++;
		if (*p == '.') {
			p++;
			FUZZ_CHECK(*p != '\0');
		} else {
			FUZZ_CHECK(*p == '\0');
		}
	}
	FUZZ_CHECK(depth <= IMAP_MAX_SECTION_DEPTH);
}

/* The section as a client would send it. */
static char *section_wire(const struct imap_section *sec)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_append(&b, sec->part, strlen(sec->part));
	const char *dot = *sec->part != '\0' ? "." : "";
	switch (sec->kind) {
	case SECTION_ALL:
		break;
	case SECTION_HEADER:
		buf_printf(&b, "%sHEADER", dot);
		break;
	case SECTION_TEXT:
		buf_printf(&b, "%sTEXT", dot);
		break;
	case SECTION_MIME:
		buf_printf(&b, "%sMIME", dot);
		break;
	case SECTION_FIELDS:
	case SECTION_FIELDS_NOT:
		buf_printf(&b, "%sHEADER.FIELDS%s (", dot,
			   sec->kind == SECTION_FIELDS_NOT ? ".NOT" : "");
		for (size_t i = 0; i < sec->nfields; i++) {
			if (i > 0)
				buf_append(&b, " ", 1);
			imap_quote_string(&b, sec->fields[i], strlen(sec->fields[i]));
		}
		buf_append(&b, ")", 1);
		break;
	}
	char *s = xstrndup(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return s;
}

static void check_extract(const struct imap_section *sec)
{
	const char *out = NULL;
	char *owned = NULL;
	size_t outlen = 0;
	if (imap_section_extract(sec, message, sizeof(message) - 1, prefix_len, idx.parts, &out,
				 &outlen, &owned) == 0) {
		FUZZ_CHECK(out != NULL || outlen == 0);
		if (owned == NULL && outlen > 0)
			FUZZ_CHECK(out >= message && out + outlen <= message + sizeof(message) - 1);
	}
	free(owned);
	if (sec->kind == SECTION_ALL) {
		char *bin = NULL;
		size_t binlen = 0;
		int r = imap_section_binary(sec->part, message, sizeof(message) - 1, prefix_len,
					    idx.parts, &bin, &binlen);
		FUZZ_CHECK(r == IMAP_BINARY_OK || r == IMAP_BINARY_NOPART ||
			   r == IMAP_BINARY_UNKNOWN_CTE);
		if (r == IMAP_BINARY_OK)
			FUZZ_CHECK(bin != NULL && binlen <= sizeof(message));
		free(bin);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct imap_section sec;
	if (imap_section_parse(text, &sec) == 0) {
		FUZZ_CHECK(sec.part != NULL);
		check_part(sec.part);
		if (sec.kind == SECTION_MIME)
			FUZZ_CHECK(*sec.part != '\0');
		if (sec.kind == SECTION_FIELDS || sec.kind == SECTION_FIELDS_NOT) {
			FUZZ_CHECK(sec.nfields >= 1 && sec.nfields <= IMAP_MAX_SECTION_FIELDS);
			for (size_t i = 0; i < sec.nfields; i++)
				FUZZ_CHECK(strchr(sec.fields[i], ':') == NULL);
		} else {
			FUZZ_CHECK(sec.nfields == 0);
		}
		char *again = section_wire(&sec);
		struct imap_section sec2;
		if (imap_section_parse(again, &sec2) != 0) {
			fprintf(stderr, "'%s' not parsed again\n", again);
			FUZZ_CHECK(!"section written back parses again");
		}
		FUZZ_CHECK(strcmp(sec.part, sec2.part) == 0 && sec.kind == sec2.kind &&
			   sec.nfields == sec2.nfields);
		for (size_t i = 0; i < sec.nfields; i++)
			FUZZ_CHECK(strcmp(sec.fields[i], sec2.fields[i]) == 0);
		imap_section_clear(&sec2);
		free(again);
		check_extract(&sec);
		imap_section_clear(&sec);
	}
	free(text);
	return 0;
}
