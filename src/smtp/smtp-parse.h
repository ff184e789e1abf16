/*
 * smtp-parse: pure parsers for SMTP/LMTP command lines (no I/O, no state),
 * so every rule about client syntax is in one place and unit-tested
 * (tests/unit/test-smtp-parse.c). Every limit is a named constant here.
 */
#ifndef ROOST_SMTP_PARSE_H
#define ROOST_SMTP_PARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A command line, CRLF included (RFC 5321 4.5.3.1.4 allows 512; ESMTP
 * parameters raise it, and 1000 is what the text-line limit allows). */
#define SMTP_MAX_COMMAND_LINE 1000
/* Longest command verb we look up ("STARTTLS"). */
#define SMTP_MAX_VERB 16
/* A reverse- or forward-path inside <>, RFC 5321 4.5.3.1.3. */
#define SMTP_MAX_PATH 256
/* ESMTP parameters on one MAIL or RCPT command. */
#define SMTP_MAX_PARAMS 16
/* EHLO/HELO/LHLO argument: a domain or an address literal. */
#define SMTP_MAX_HELO 255
/* Digits in a SIZE= or BDAT size (2^64 has 20). */
#define SMTP_MAX_SIZE_DIGITS 20

/* Split "VERB args": the verb (letters only, uppercased) into verb_r and
 * the argument text after one space into *args_r ("" when none).
 * -1 when the verb is empty, too long or not alphabetic. */
int smtp_parse_verb(const char *line, char verb_r[SMTP_MAX_VERB + 1], const char **args_r);

struct smtp_param {
	const char *keyword; /* uppercased in place */
	const char *value;   /* NULL when the parameter has no "=value" */
};

struct smtp_path_args {
	const char *path; /* between < and >, source route removed; may be "" */
	struct smtp_param params[SMTP_MAX_PARAMS];
	size_t nparams;
};

enum smtp_path_result {
	SMTP_PATH_OK,
	SMTP_PATH_SYNTAX,	  /* not "FROM:<...>" / "TO:<...>": 501 5.5.4 */
	SMTP_PATH_BAD_ADDRESS,	  /* bad characters in the path: 501 5.1.3/5.1.7 */
	SMTP_PATH_TOO_LONG,	  /* longer than SMTP_MAX_PATH: 501 5.1.3 */
	SMTP_PATH_BAD_PARAM,	  /* malformed ESMTP parameter: 501 5.5.4 */
	SMTP_PATH_TOO_MANY_PARAMS /* more than SMTP_MAX_PARAMS: 501 5.5.4 */
};

/* Parse "FROM:<path> [params]" (prefix "FROM:") or "TO:<path> [params]"
 * (prefix "TO:") in place; the prefix matches case-insensitively and one
 * space after the colon is tolerated (common, though not in RFC 5321
 * 4.1.2). The path may contain UTF-8 (the caller decides whether
 * SMTPUTF8 allows it) but no controls, spaces or "<>" outside quotes. */
enum smtp_path_result smtp_parse_path_args(char *args, const char *prefix,
					   struct smtp_path_args *out);

/* A path's local part in its mailbox form (RFC 5321 4.1.2: Local-part =
 * Dot-string / Quoted-string). A Quoted-string is the same mailbox as its
 * content when the content is a Dot-string: "alice"@d and "al.ice"@d are
 * alice@d and al.ice@d (RFC 5321 2.4: quoting must not change the name). */
enum smtp_local_form {
	SMTP_LOCAL_PLAIN,	/* not quoted: use the path as it is */
	SMTP_LOCAL_UNQUOTED,	/* quoted dot-string: `out` holds the plain form */
	SMTP_LOCAL_QUOTED,	/* valid Quoted-string that no dot-string names:
				 * legal syntax, never a hosted mailbox (553) */
	SMTP_LOCAL_BAD,		/* starts with a quote but is no Quoted-string (501) */
};
/* `out` has room for SMTP_MAX_PATH + 1 bytes; the path comes from
 * smtp_parse_path_args() (at most SMTP_MAX_PATH). "postmaster" without a
 * domain may be quoted too. */
enum smtp_local_form smtp_path_unquote(const char *path, char out[SMTP_MAX_PATH + 1]);

/* A decimal size (SIZE=, BDAT): 0 ok, -1 syntax, 1 too large for uint64. */
int smtp_parse_size(const char *s, uint64_t *size_r);

/* "BDAT <size> [LAST]" arguments (RFC 3030 2): 0 ok, -1 syntax,
 * 1 size does not fit in uint64 (absurd). */
int smtp_parse_bdat(const char *args, uint64_t *size_r, bool *last_r);

/* Is this a usable EHLO/HELO/LHLO argument? A domain name (underscores
 * tolerated: Windows host names) or an address literal "[...]", printable
 * ASCII only, so it can go into a Received: header verbatim. */
bool smtp_helo_valid(const char *arg);

/* Any byte >= 0x80 in s[0..len)? */
bool smtp_has_8bit(const char *s, size_t len);

/* DATA lines (RFC 5321 4.1.1.4, 4.5.2). Only CRLF "." CRLF ends the
 * message: the "." line must end with CRLF and the line before it too
 * (prev_crlf), so "\n.\n", "\n.\r\n" and "\r\n.\n" are text (smuggling,
 * RFC 5321 2.3.8). A line ending in a bare LF is text, stored with CRLF
 * (sloppy senders' mail is not bounced). A line with a bare CR inside is
 * SMTP_DATA_BAD: the message is refused. */
enum smtp_data_line { SMTP_DATA_TEXT, SMTP_DATA_END, SMTP_DATA_BAD };
/* For SMTP_DATA_TEXT, *skip_r is 1 when a leading "." is dot-stuffing. */
enum smtp_data_line smtp_data_classify(const char *line, size_t len, bool bare_lf,
				       bool prev_crlf, size_t *skip_r);

/* xtext (RFC 3461 4): "+" followed by two uppercase hex digits, or
 * printable ASCII except "+" and "=". Used for ENVID= and ORCPT=. */
bool smtp_xtext_valid(const char *s);
/* The decoded text of valid xtext, or NULL when it is not xtext or
 * decodes to anything but printable US-ASCII. Caller frees. */
char *smtp_xtext_decode(const char *s);
#endif
