/*
 * fuzz-mime: message indexing at store time (mail/mime-index.h) and the
 * SEARCH text built from a stored message (imap/imap-search-text.h). The
 * input is a message exactly as SMTP/LMTP/APPEND hand it to the store.
 *
 * Invariants: ENVELOPE, BODY and BODYSTRUCTURE are each one well-formed
 * IMAP response list (checked by a small validator of the response
 * grammar below: they are sent verbatim, so a quoting slip would let
 * message content inject protocol), ENVELOPE has its 10 fields; the
 * part map's lines are well-formed, start with section "0" and have
 * hdr_start <= body_start <= end <= message size; header_len fits; the
 * decoded header fields are valid one-line UTF-8; and the search text of
 * the header and body can be built, and a text contains itself.
 */
#include "fuzz.h"
#include "imap/imap-search-text.h"
#include "mail/mailbox-name.h"
#include "mail/mime-index.h"
#include "mail/search-text.h"
#include <inttypes.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mime_index_global_init();
	return 0;
}

/* Is s one well-formed IMAP response value list (RFC 9051 section 9:
 * body, envelope)? Lists hold items separated by one space, except that
 * lists may follow each other directly (env-from = "(" 1*address ")",
 * body-type-mpart = 1*body SP ...). Items: NIL, numbers, quoted strings
 * with only \\ and \" escapes and no CR, LF or NUL, literals {n}CRLF
 * followed by n bytes without NUL. Returns the top-level item count, or
 * -1 with the reason in *why_r. */
static long response_list(const char *s, const char **why_r)
{
	enum { START, OPEN, CLOSE, ITEM, SPACE } prev = START;
	size_t len = strlen(s), i = 0;
	int depth = 0;
	long top_items = 0;
	while (i < len) {
		char c = s[i];
		if (prev != START && depth == 0) {
			*why_r = "bytes after the list";
			return -1;
		}
		if (c == '(') {
			if (prev == ITEM) {
				*why_r = "list right after an item";
				return -1;
			}
			if (depth == 1)
				top_items++;
			depth++;
			prev = OPEN;
			i++;
			continue;
		}
		if (c == ')') {
			if (prev == SPACE || prev == START) {
				*why_r = "space before ')'";
				return -1;
			}
			depth--;
			prev = CLOSE;
			i++;
			continue;
		}
		if (c == ' ') {
			if (prev != CLOSE && prev != ITEM) {
				*why_r = "misplaced space";
				return -1;
			}
			prev = SPACE;
			i++;
			continue;
		}
		if (prev == ITEM || prev == CLOSE || prev == START) {
			*why_r = "item not separated by a space";
			return -1;
		}
		if (depth == 1)
			top_items++;
		prev = ITEM;
		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\r' || s[i] == '\n') {
					*why_r = "CR or LF in a quoted string";
					return -1;
				}
				if (s[i] == '\\') {
					if (i + 1 >= len || (s[i + 1] != '\\' && s[i + 1] != '"')) {
						*why_r = "bad escape in a quoted string";
						return -1;
					}
					i++;
				}
			}
			if (i >= len) {
				*why_r = "unterminated quoted string";
				return -1;
			}
			i++;
		} else if (c == '{') {
			uint64_t n = 0;
			size_t d = 0;
			for (i++; i < len && s[i] >= '0' && s[i] <= '9' && d < 12; i++, d++)
				n = n * 10 + (uint64_t)(s[i] - '0');
			if (d == 0 || i + 2 >= len || s[i] != '}' || s[i + 1] != '\r' ||
			    s[i + 2] != '\n' || n > len - (i + 3)) {
				*why_r = "bad literal";
				return -1;
			}
			i += 3 + (size_t)n; /* NUL would have ended s early: n is checked */
		} else {
			size_t a = i;
			while (i < len && s[i] != ' ' && s[i] != '(' && s[i] != ')')
				i++;
			bool number = true;
			for (size_t k = a; k < i; k++)
				number = number && s[k] >= '0' && s[k] <= '9';
			if (!(number || (i - a == 3 && memcmp(s + a, "NIL", 3) == 0))) {
				*why_r = "atom other than NIL or a number";
				return -1;
			}
		}
	}
	if (depth != 0 || prev != CLOSE) {
		*why_r = "unbalanced parentheses";
		return -1;
	}
	return top_items;
}

static void check_list(const char *s, long want_count)
{
	const char *why = NULL;
	FUZZ_CHECK(s != NULL);
	long n = response_list(s, &why);
	if (n < 0) {
		fprintf(stderr, "malformed response list (%s): %.400s\n", why, s);
		FUZZ_CHECK(!"response list well-formed");
	}
	if (want_count > 0)
		FUZZ_CHECK(n == want_count);
}

static void check_field(const char *s)
{
	if (s == NULL)
		return;
	size_t len = strlen(s);
	FUZZ_CHECK(mailbox_name_utf8_valid(s, len));
	FUZZ_CHECK(memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL);
}

static void check_parts(const char *parts, size_t size)
{
	FUZZ_CHECK(parts != NULL);
	bool first = true;
	for (const char *p = parts; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		FUZZ_CHECK(nl != NULL);
		char section[256], cte[256], type[512];
		uint64_t hdr, body, end;
		int n = -1;
		size_t line_len = (size_t)(nl - p);
		char *line = fuzz_strndup((const uint8_t *)p, line_len);
		FUZZ_CHECK(sscanf(line, "%255s %" SCNu64 " %" SCNu64 " %" SCNu64 " %255s %511s%n",
				  section, &hdr, &body, &end, cte, type, &n) == 6);
		FUZZ_CHECK((size_t)n == line_len);
		free(line);
		if (first)
			FUZZ_CHECK(strcmp(section, "0") == 0);
		first = false;
		FUZZ_CHECK(hdr <= body && body <= end && end <= size);
		FUZZ_CHECK(strchr(type, '/') != NULL);
		p = nl + 1;
	}
	FUZZ_CHECK(!first);
}

static void check_search_text(const char *text, size_t len)
{
	if (text == NULL)
		return;
	FUZZ_CHECK(text[len] == '\0');
	/* whatever the text, once folded it must find itself */
	size_t flen = 0;
	char *folded = search_text_fold(text, len, &flen);
	FUZZ_CHECK(folded[flen] == '\0');
	FUZZ_CHECK(search_text_find(folded, flen, folded, flen));
	free(folded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = fuzz_strndup(data, size);
	struct mime_index idx;

	memset(&idx, 0, sizeof(idx));
	mime_index_build(msg, size, &idx);
	check_list(idx.envelope, 10);
	check_list(idx.body, 0);
	check_list(idx.bodystructure, 0);
	check_parts(idx.parts, size);
	FUZZ_CHECK(idx.header_len <= size);
	check_field(idx.subject);
	check_field(idx.from);
	check_field(idx.to);
	check_field(idx.cc);
	check_field(idx.bcc);
	check_field(idx.message_id);
	check_field(idx.in_reply_to);
	check_field(idx.references);
	if (idx.subject != NULL) {
		struct imap_search_needle needle;
		imap_search_needle_init(&needle, idx.subject, strlen(idx.subject));
		FUZZ_CHECK(imap_search_str_contains(idx.subject, &needle));
		imap_search_needle_clear(&needle);
	}

	size_t hlen = 0, blen = 0;
	char *htext = search_text_header(msg, idx.header_len, &hlen);
	check_search_text(htext, hlen);
	free(htext);
	char *btext = search_text_body(msg, size, idx.parts, &blen);
	check_search_text(btext, blen);
	free(btext);
	/* what the full-text index stores for this content */
	struct search_text t;
	search_text_build(&t, NULL, 0, msg, size, idx.parts);
	FUZZ_CHECK(t.header != NULL && t.body != NULL);
	FUZZ_CHECK(t.header[t.header_len] == '\0' && t.body[t.body_len] == '\0');
	FUZZ_CHECK(search_text_find(t.body, t.body_len, t.body, t.body_len));
	search_text_clear(&t);
	(void)imap_search_date_zone(msg, idx.header_len);

	mime_index_clear(&idx);
	free(msg);
	return 0;
}
