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
struct imap_search_snap;
struct imap_view;
struct imap_cmd;
struct store;

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
/* A copy of what a search reads from the session's view (UIDs, flags,
 * MODSEQs, \Recent; keywords when a key needs them), made on the loop so
 * a worker thread can search while the session goes on or goes away. */
struct imap_search_snap *imap_search_snap_new(struct imap_session *s,
					      const struct imap_search *search);
/* The same for the view messages at indexes idx[0..n) (ascending) only:
 * what a live context (imap-context.h) re-tests after a change. Sequence
 * numbers in it are positions in the subset, so a search with sequence
 * sets (imap_search_uses_seqnums) must not run over it. */
struct imap_search_snap *imap_search_snap_subset(struct imap_session *s,
						 const struct imap_search *search,
						 const uint32_t *idx, size_t n);
void imap_search_snap_free(struct imap_search_snap **snap);
struct store *imap_search_snap_store(const struct imap_search_snap *snap);
int64_t imap_search_snap_account(const struct imap_search_snap *snap);
int64_t imap_search_snap_mailbox(const struct imap_search_snap *snap);
/* Any thread (the store gives each its own read connection): the
 * matching messages as ascending UIDs, malloc'd; -1 on a store error.
 * The search is not shared with another thread meanwhile (the index
 * answers are kept in its keys). */
int imap_search_run_snap(const struct imap_search_snap *snap, const struct imap_search *search,
			 uint32_t **uids_r, size_t *n_r);
/* A view of at most this many messages is searched (and sorted) on the
 * event loop when no key reads message content: the store's row query
 * then takes about a millisecond, less than the hop to a worker. */
#define IMAP_SEARCH_INLINE_MAX 1000
/* Does the search read message content, or cover a big view? */
bool imap_search_is_heavy(const struct imap_search *search, const struct imap_view *v);

/* Run a command's read off the event loop (RFC-visible behaviour
 * unchanged): when `heavy`, work(ctx) on a read worker (lib/workers.h),
 * then, back on the loop, done(cmd, ctx) unless the client has gone
 * meanwhile, and free_ctx(ctx) always; otherwise all three at once. The
 * command stays running, so the session holds further input until done
 * finishes it; a session reference keeps the session and cmd valid until
 * then. */
typedef void imap_offload_work_fn(void *ctx);
typedef void imap_offload_done_fn(struct imap_cmd *cmd, void *ctx);
typedef void imap_offload_free_fn(void *ctx);
void imap_cmd_offload(struct imap_cmd *cmd, bool heavy, imap_offload_work_fn *work,
		      imap_offload_done_fn *done, imap_offload_free_fn *free_ctx, void *ctx);
/* Did the keys hold MODSEQ (RFC 7162 3.1.5)? The reply then ends with
 * the highest MODSEQ of the matches. */
bool imap_search_uses_modseq(const struct imap_search *search);
/* Does a key name messages by sequence number (not UID, not "$")? */
bool imap_search_uses_seqnums(const struct imap_search *search);
/* Does a key read message content (a header the store does not index,
 * the body)? */
bool imap_search_reads_content(const struct imap_search *search);
/* MESSAGELIMIT (RFC 9738 3.1): a SEARCH counts the messages it looks at,
 * those its top-level sequence sets, UID sets, UIDAFTER and UIDBEFORE
 * allow, not the matches. When they are more than `limit` (not 0), only
 * the `limit` with the highest UIDs are searched from now on; returns the
 * lowest of them, else 0. */
uint32_t imap_search_limit(struct imap_search *search, const struct imap_view *v, uint32_t limit);
#endif
