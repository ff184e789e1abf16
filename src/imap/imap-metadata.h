/*
 * imap-metadata: what GETMETADATA and SETMETADATA (RFC 5464) share: the
 * entry-name syntax, the mailbox argument ("" = the server) and the
 * METADATA response. Storage and limits: store/store-metadata.h.
 */
#ifndef ROOST_IMAP_METADATA_H
#define ROOST_IMAP_METADATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/buf.h"
#include "store/store.h"

struct imap_session;
struct imap_arg;
struct store_metadata_entry;

/* An entry name (RFC 5464 3.2): "/private/..." or "/shared/..."; slash
 * separated components of printable ASCII without "*" and "%", none empty
 * (no "//", no trailing "/"), at most STORE_METADATA_MAX_NAME octets. With
 * `root_ok` the bare "/private" and "/shared" pass too (GETMETADATA with
 * DEPTH). Entry names are case-insensitive: *name_r is the lower-case form
 * (malloc'd). -1 with a reply text when invalid. */
int imap_metadata_entry_parse(const char *s, size_t len, bool root_ok, char **name_r,
			      const char **error_r);

/* The mailbox argument: "" is the server (*mailbox_id_r = 0, *name_r =
 * NULL); else the account's mailbox (its name malloc'd in *name_r, and
 * whether it is subscribed).
 * STORE_ENOTFOUND for no such mailbox; -1 return with *error_r for a bad
 * name. Returns 0 on success. */
int imap_metadata_mailbox(struct imap_session *s, const struct imap_arg *arg,
			  int64_t *mailbox_id_r, char **name_r, bool *subscribed_r,
			  enum store_err *err_r, const char **error_r);

/* "* METADATA <mailbox> (" for this session's client (name NULL: ""). */
void imap_metadata_response_start(struct imap_session *s, struct buf *b, const char *name);
/* An entry name: an atom when it can be one, else a quoted string. */
void imap_metadata_entry_name(struct buf *b, const char *name);
/* One value: an IMAP string, or a literal8 when it holds NUL (RFC 5464
 * section 5: value = nstring / literal8); NIL when value is NULL. */
void imap_metadata_value(struct buf *b, const char *value, size_t len);
#endif
