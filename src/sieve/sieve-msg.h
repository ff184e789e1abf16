/*
 * sieve-msg: the message as Sieve tests see it (see sieve-msg.c).
 */
#ifndef ROOST_SIEVE_MSG_H
#define ROOST_SIEVE_MSG_H
#include <stdbool.h>
#include <stddef.h>
#include "sieve/sieve-private.h"

#define SV_MSG_HEADERS 10000	/* header fields read from one message */
#define SV_MSG_ADDRESSES 10000	/* addresses read from one field */

struct sv_hdr {
	char *name;		/* as written */
	size_t nlen;		/* strlen(name): most lookups stop here */
	char *raw;		/* unfolded, not decoded */
	char *decoded;		/* RFC 2047 decoded, trimmed (lazy) */
	char **addrs;		/* sv_addr_parse() of raw (lazy) */
	size_t naddrs;
	bool addrs_done;
};

struct mime_index;
struct sv_msg {
	const char *data;
	size_t len, body_off;
	struct sv_hdr *h;
	size_t nh;
	/* body tests: the MIME part map and the :text extraction, built by
	 * the first body test of the run and reused by the others */
	struct mime_index *idx;
	char *text;
	size_t text_len;
};

enum { SV_BODY_TEXT, SV_BODY_RAW, SV_BODY_CONTENT };

void sv_msg_init(struct sv_msg *m, const char *data, size_t len);
void sv_msg_free(struct sv_msg *m);
const char *sv_hdr_value(struct sv_hdr *h);
void sv_msg_add_header(struct sv_msg *m, const char *name, const char *value, bool last);
void sv_msg_delete_header(struct sv_msg *m, size_t i);
/* Addresses of a field value, malloc'd strings in a malloc'd array. */
void sv_addr_parse(const char *value, char ***list_r, size_t *n_r);
/* Is this field named `name` (of length nlen), ignoring case? */
bool sv_hdr_is(const struct sv_hdr *h, const char *name, size_t nlen);
/* The field's addresses, parsed on first use; owned by the field. */
char **sv_hdr_addresses(struct sv_hdr *h, size_t *n_r);
/* The part of an address (enum sv_addrpart), malloc'd; NULL for :detail
 * of an address without a '+'. */
char *sv_addr_part(const char *addr, int part);
/* Body text for a body test, at most `max` bytes of body read. */
char *sv_msg_body(struct sv_msg *m, int transform, char **types, size_t ntypes, size_t max,
		  size_t *len_r);
#endif
