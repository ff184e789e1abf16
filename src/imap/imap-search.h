/*
 * imap-search: the SEARCH key grammar (RFC 9051 6.4.4 and section 9
 * "search-key", RFC 3501 6.4.4) and its evaluation over the selected
 * mailbox. cmd-search.c handles the command around it (RETURN options,
 * CHARSET, the reply); imap-search-text.c turns headers and bodies into
 * decoded UTF-8 text and does the case-insensitive substring matching.
 *
 * Keys are parsed once into a tree. Within each AND list the cheap keys
 * run first (flags, then the store's message rows, then headers, then
 * bodies), so a message's content is read only when the cheaper keys have
 * not already decided. The message rows and the header fields indexed at
 * store time come from one store query per SEARCH; only BODY, TEXT, SENT*
 * and HEADER on a field the store does not index read more.
 */
#ifndef ROOST_IMAP_SEARCH_H
#define ROOST_IMAP_SEARCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap/imap-parser.h"

struct imap_session;
struct imap_search;

/* "NOT NOT ..." and nested lists deeper than this are BAD (the parser
 * already caps parenthesis depth at IMAP_MAX_LIST_DEPTH). */
#define IMAP_SEARCH_MAX_DEPTH 64
/* Keys in one SEARCH, all nesting levels counted. */
#define IMAP_SEARCH_MAX_KEYS 10000

/* Parse the search keys args[0..n) (after RETURN and CHARSET) against the
 * session's selected mailbox. -1 with a static text for BAD. */
int imap_search_parse(struct imap_session *s, const struct imap_arg *args, size_t n,
		      struct imap_search **search_r, const char **error_r);
void imap_search_free(struct imap_search **search);
/* The matching messages as ascending 0-based indexes into the view
 * (sequence number - 1), malloc'd. -1 when the store cannot be read. */
int imap_search_run(struct imap_session *s, const struct imap_search *search,
		    uint32_t **idx_r, size_t *n_r);
/* Did the keys hold MODSEQ (RFC 7162 3.1.5)? The reply then ends with
 * the highest MODSEQ of the matches. */
bool imap_search_uses_modseq(const struct imap_search *search);
#endif
