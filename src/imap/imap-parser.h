/*
 * imap-parser: IMAP command syntax (RFC 9051 section 9, RFC 3501 section 9).
 *
 * Two stages. The session frames a command: it reads lines and, when a
 * line ends in a literal marker ({n}, {n+}, {n-}, ~{n}), the literal's
 * bytes, and keeps the whole command in wire form ("...{3}\r\nabc ...").
 * imap_parser_line_literal() finds the marker at the end of a line. Once
 * the command is complete, imap_parse_command() turns it into a tree of
 * arguments: atoms, quoted strings, literals and parenthesized lists.
 * Commands interpret their arguments themselves (FETCH items, SEARCH keys).
 *
 * The parser is lenient where clients differ in practice (several spaces,
 * 8-bit atoms) and strict where it matters for safety (NUL in quoted
 * strings, nesting depth, argument count).
 */
#ifndef ROOST_IMAP_PARSER_H
#define ROOST_IMAP_PARSER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_MAX_TAG 64		/* bytes of a tag */
#define IMAP_MAX_COMMAND_NAME 32
#define IMAP_MAX_LIST_DEPTH 64	/* nesting of parenthesized lists */
#define IMAP_MAX_ARGS 50000	/* arguments in one command, all lists included */

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* includes NIL and "BODY[...]<...>" style items */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	bool literal8;		/* ~{n}: may contain NUL (RFC 3516) */
	char *str;		/* atom/quoted/literal text, NUL-terminated copy */
	size_t len;		/* bytes of str (literals may contain NUL) */
	struct imap_arg *list;	/* IMAP_ARG_LIST: the elements */
	size_t count;
};

struct imap_command_args {
	char *tag;
	char *name;		/* upper-cased; "FETCH" for "UID FETCH" */
	bool uid;		/* "UID <name>" */
	struct imap_arg *args;
	size_t count;
};

/* Literal marker at the end of one line of a command. */
struct imap_literal_info {
	uint64_t size;		/* UINT64_MAX when the number overflows */
	bool nonsync;		/* {n+} (LITERAL+) or {n-} (LITERAL-) */
	bool literal8;		/* ~{n} */
};

/* Does this line (one physical line of a command, without CRLF) end with a
 * literal marker outside any quoted string? */
bool imap_parser_line_literal(const char *line, size_t len, struct imap_literal_info *lit_r);

/* Just the tag and command name of a first line, for error replies and for
 * choosing literal limits before the command is complete. Returns 0 and
 * malloc'd strings (name upper-cased, "UID FETCH" → uid=true, "FETCH"),
 * -1 when not even a tag can be found. *name_r may be NULL on success when
 * the name is missing. */
int imap_parser_peek(const char *line, size_t len, char **tag_r, char **name_r, bool *uid_r);

/* Parse a complete command in wire form. -1 with a static error text for
 * a BAD reply; the partial result is freed. */
int imap_parse_command(const char *buf, size_t len, struct imap_command_args *cmd_r,
		       const char **error_r);
void imap_command_args_clear(struct imap_command_args *cmd);

/* Parse just arguments (no tag/name), e.g. for tests and sub-grammars. */
int imap_parse_args(const char *buf, size_t len, struct imap_arg **args_r, size_t *count_r,
		    const char **error_r);
void imap_args_free(struct imap_arg *args, size_t count);

/* Helpers for handlers. */
bool imap_arg_is_atom(const struct imap_arg *a, const char *word); /* case-insensitive */
bool imap_arg_is_nil(const struct imap_arg *a);
/* atom, quoted or literal (IMAP astring); literal8 is not a string. */
bool imap_arg_is_astring(const struct imap_arg *a);
/* quoted or literal (IMAP string) */
bool imap_arg_is_string(const struct imap_arg *a);
/* nz-number / number: decimal digits only, 32 bits (number64 with max). */
int imap_parse_number(const char *s, uint64_t max, uint64_t *n_r);
#endif
