/*
 * sieve-private: what the lexer, parser, checker and interpreter of
 * src/sieve share. The tree is generic (RFC 5228 section 8 grammar: a
 * command is an identifier, arguments, tests and an optional block); the
 * checker binds every node to its spec in sieve-spec.c and records the
 * tags and positional arguments the interpreter reads.
 */
#ifndef ROOST_SIEVE_PRIVATE_H
#define ROOST_SIEVE_PRIVATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sieve/sieve.h"

enum sv_tok {
	TOK_EOF, TOK_IDENT, TOK_TAG, TOK_NUMBER, TOK_STRING,
	TOK_LBRACKET, TOK_RBRACKET, TOK_LPAREN, TOK_RPAREN,
	TOK_COMMA, TOK_SEMI, TOK_LBRACE, TOK_RBRACE, TOK_ERROR
};

struct sv_lexer {
	const char *p, *end;
	unsigned line, column;
	size_t max_string;
	/* the current token */
	enum sv_tok tok;
	unsigned tline, tcol;
	char *text;		/* IDENT/TAG name, STRING bytes (malloc'd) */
	size_t text_len;
	uint64_t num;
	struct sieve_diag *diag;
};

void sv_lex_init(struct sv_lexer *lx, const char *text, size_t len, struct sieve_diag *diag);
/* Advance to the next token; TOK_ERROR with lx->diag filled on error. */
enum sv_tok sv_lex_next(struct sv_lexer *lx);
void sv_lex_free(struct sv_lexer *lx);
const char *sv_tok_name(enum sv_tok t);

void sv_diag(struct sieve_diag *d, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

struct sv_str {
	char *s;
	size_t len;
	bool var;		/* contains "${": expanded at run time */
};

enum sv_arg_type { ARG_NUMBER, ARG_STRINGS, ARG_TAG };
struct sv_arg {
	enum sv_arg_type type;
	unsigned line, column;
	bool list;		/* written as [ ... ] */
	uint64_t num;
	struct sv_str *strs;
	size_t nstrs, strs_cap;
	char *tag;		/* ARG_TAG: name without ':' */
	int tag_id;		/* checker: enum sv_tag_id */
};


enum sv_tag_id {
	TAG_IS, TAG_CONTAINS, TAG_MATCHES, TAG_REGEX, TAG_VALUE, TAG_COUNT,
	TAG_COMPARATOR, TAG_ALL, TAG_LOCALPART, TAG_DOMAIN, TAG_USER, TAG_DETAIL,
	TAG_OVER, TAG_UNDER, TAG_COPY, TAG_FLAGS, TAG_CREATE, TAG_MAILBOXID,
	TAG_SPECIALUSE, TAG_DAYS, TAG_SECONDS, TAG_SUBJECT, TAG_FROM, TAG_ADDRESSES,
	TAG_MIME, TAG_HANDLE, TAG_FCC, TAG_RAW, TAG_CONTENT, TAG_TEXT, TAG_LOWER,
	TAG_UPPER, TAG_LOWERFIRST, TAG_UPPERFIRST, TAG_QUOTEWILDCARD, TAG_LENGTH,
	TAG_ZONE, TAG_ORIGINALZONE, TAG_INDEX, TAG_LAST, TAG_PERCENT, TAG_PERSONAL,
	TAG_GLOBAL, TAG_ONCE, TAG_OPTIONAL, TAG_HEADER, TAG_UNIQUEID, TAG_COUNT_
};
struct sv_tagspec { const char *name; char val; int group; int ext; };
extern const struct sv_tagspec sv_tagspecs[TAG_COUNT_];

enum sv_cmd_id {
	CMD_REQUIRE, CMD_IF, CMD_ELSIF, CMD_ELSE, CMD_STOP, CMD_KEEP, CMD_DISCARD,
	CMD_FILEINTO, CMD_REDIRECT, CMD_REJECT, CMD_EREJECT, CMD_SETFLAG,
	CMD_ADDFLAG, CMD_REMOVEFLAG, CMD_SET, CMD_VACATION, CMD_ADDHEADER,
	CMD_DELETEHEADER, CMD_INCLUDE, CMD_RETURN, CMD_GLOBAL,
	TEST_ADDRESS, TEST_ALLOF, TEST_ANYOF, TEST_ENVELOPE, TEST_EXISTS,
	TEST_FALSE, TEST_TRUE, TEST_HEADER, TEST_NOT, TEST_SIZE, TEST_HASFLAG,
	TEST_STRING, TEST_BODY, TEST_MAILBOXEXISTS, TEST_MAILBOXIDEXISTS,
	TEST_SPECIALUSE_EXISTS, TEST_DATE, TEST_CURRENTDATE, TEST_SPAMTEST,
	TEST_VIRUSTEST, TEST_DUPLICATE
};
/* One command or test: its tags (space-separated names; "@match" = the
 * match type and comparator tags, "@addr" = the address parts), its
 * positional arguments ('S' string, 'L' string list, 'N' number;
 * lower case = optional), tests ('1' one, 'L' a list, 0 none), block. */
struct sv_spec {
	const char *name;
	int id;
	bool test;
	int ext;		/* -1: core */
	const char *tags;
	const char *pos;
	char tests;
	bool block;
};
const struct sv_spec *sv_spec_lookup(const char *name);
int sv_tag_lookup(const char *name);
struct sv_tagbind { int id; const struct sv_arg *arg, *val; };

struct sv_node {
	char *name;
	unsigned line, column;
	struct sv_arg *args;
	size_t nargs, args_cap;
	struct sv_node **tests;
	size_t ntests, tests_cap;
	struct sv_node **block;
	size_t nblock, block_cap;
	bool has_block;
	bool test_list;		/* tests written as ( ... ) */
	/* filled by the checker */
	const struct sv_spec *spec;
	struct sv_tagbind *tags;
	size_t ntags;
	const struct sv_arg *pos[4];
	int match, comparator, addrpart; /* enum values, see below */
	int relop;
	struct sieve_script *included;	/* include: compiled target or NULL */
};

enum sv_match { MATCH_IS, MATCH_CONTAINS, MATCH_MATCHES, MATCH_REGEX, MATCH_VALUE, MATCH_COUNT };
enum sv_cmp { CMP_CASEMAP, CMP_OCTET, CMP_NUMERIC };
enum sv_addrpart { AP_ALL, AP_LOCALPART, AP_DOMAIN, AP_USER, AP_DETAIL };
enum sv_relop { REL_GT, REL_GE, REL_LT, REL_LE, REL_EQ, REL_NE };

/* Extension bits. */
enum sv_ext {
	EXT_FILEINTO, EXT_REJECT, EXT_EREJECT, EXT_ENVELOPE, EXT_ENCODED,
	EXT_IMAP4FLAGS, EXT_COPY, EXT_VARIABLES, EXT_VACATION, EXT_VACSECONDS,
	EXT_RELATIONAL, EXT_SUBADDRESS, EXT_BODY, EXT_MAILBOX, EXT_MAILBOXID,
	EXT_SPECIALUSE, EXT_DATE, EXT_INDEX, EXT_REGEX, EXT_EDITHEADER,
	EXT_SPAMTEST, EXT_SPAMTESTPLUS, EXT_VIRUSTEST, EXT_DUPLICATE,
	EXT_INCLUDE, EXT_FCC, EXT_NUMERIC, EXT_COUNT
};
struct sv_ext_info { const char *name; bool supported; };
extern const struct sv_ext_info sv_exts[EXT_COUNT];
int sv_ext_lookup(const char *name);

struct sieve_script {
	struct sv_node **cmds;
	size_t ncmds, cmds_cap;
	uint32_t exts;		/* bit set of enum sv_ext */
	size_t nodes;
	char **globals;		/* names declared `global` (include) */
	size_t nglobals;
};

void sv_limits_fill(struct sieve_limits *out, const struct sieve_limits *in);
/* parse: the generic tree; *nodes_r counted against lim->max_nodes. */
int sv_parse(const char *text, size_t len, const struct sieve_limits *lim,
	     struct sieve_script *s, struct sieve_diag *diag);
void sv_node_free(struct sv_node *n);
/* check: bind specs, type-check, require. */
int sv_check(struct sieve_script *s, const struct sieve_limits *lim,
	     sieve_include_fn *include, void *include_ctx, unsigned depth,
	     char ***stack, size_t *nstack, struct sieve_diag *diag);
const struct sv_tagbind *sv_tag(const struct sv_node *n, int id);
/* encoded-character: decode st in place; -1 (diag at a) on a bad code point. */
int sv_decode_encoded(const struct sv_arg *a, struct sv_str *st, struct sieve_diag *diag);

struct sieve_script *sv_compile_depth(const char *text, size_t len,
				      const struct sieve_limits *lim,
				      sieve_include_fn *include, void *ctx,
				      unsigned depth, char ***stack, size_t *nstack,
				      struct sieve_diag *diag);

/* match (sieve-match.c) */
struct sv_captures {
	char *v[10];		/* ${0}..${9} */
	size_t n;
};
void sv_captures_clear(struct sv_captures *c);
/* :matches with the glob of RFC 5228 2.7.1 in O(len(value) * len(pattern)). */
bool sv_glob(const char *pat, size_t plen, const char *s, size_t slen, bool casemap,
	     struct sv_captures *caps);
bool sv_contains(const char *s, size_t slen, const char *key, size_t klen, bool casemap);
int sv_compare(const char *a, size_t alen, const char *b, size_t blen, int cmp);
bool sv_relop_ok(int relop, int c);
#endif
