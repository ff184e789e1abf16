/*
 * imap-list: the parts of LIST and LSUB (RFC 9051 6.3.9, RFC 5258) that
 * need no store: the argument grammar (selection options, reference,
 * patterns, RETURN options) and the mailbox-name pattern matcher.
 * cmd-list.c builds the mailbox tree and writes the responses.
 */
#ifndef ROOST_IMAP_LIST_H
#define ROOST_IMAP_LIST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_command_args;
struct imap_session;

#define IMAP_LIST_MAX_PATTERNS 32
/* A pattern longer than a name's maximum plus a wildcard per byte can
 * match nothing more: this also bounds the matcher's state to 1 Kbit. */
#define IMAP_LIST_MAX_PATTERN_LEN 1024

struct imap_list_opts {
	bool sel_subscribed, sel_special_use, sel_recursive;
	bool ret_subscribed, ret_special_use;
	unsigned status_items;
	bool lsub;		/* set by the caller: LSUB, not LIST */
	bool extended;		/* RFC 5258 syntax used: \NonExistent, CHILDINFO */
};

/* Check LIST/LSUB arguments and fill o (o->lsub set beforehand). On
 * success *i_r is the index of the reference argument; the pattern (an
 * astring, or for LIST-EXTENDED a list of 1..IMAP_LIST_MAX_PATTERNS)
 * follows it. -1 for BAD. The session is read only for the STATUS return
 * option's items (imap_status_items_parse). */
int imap_list_parse_options(struct imap_session *s, const struct imap_command_args *a,
			    struct imap_list_opts *o, size_t *i_r);

/* '*' matches any run, '%' any run without '/' (RFC 9051 6.3.9). The
 * pattern is compiled to a bit-parallel NFA: bit j set = "the first j
 * pattern bytes matched". Each name byte costs O(pattern/64) word
 * operations and no backtracking ever happens, so a LIST over 10,000
 * mailboxes of 512-byte names with hostile patterns stays linear. */
#define IMAP_LIST_PATTERN_WORDS ((IMAP_LIST_MAX_PATTERN_LEN + 1 + 63) / 64)

struct imap_list_pattern {
	size_t len, words;
	uint64_t star[IMAP_LIST_PATTERN_WORDS], pct[IMAP_LIST_PATTERN_WORDS];
	uint16_t lit_index[256];	/* byte -> 1 + index into lit, 0 = none */
	uint64_t (*lit)[IMAP_LIST_PATTERN_WORDS]; /* positions holding that byte */
	size_t nlit;
};

/* Compile text (at most IMAP_LIST_MAX_PATTERN_LEN bytes, NUL-terminated). */
void imap_list_pattern_compile(struct imap_list_pattern *p, const char *text);
bool imap_list_pattern_match(const struct imap_list_pattern *p, const char *name);
void imap_list_pattern_free(struct imap_list_pattern *p);
#endif
