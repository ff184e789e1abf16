/*
 * sasl: server side of SASL PLAIN (RFC 4616) and LOGIN, shared by IMAP,
 * POP3 and submission. The protocol sends challenges and reads responses;
 * this module only decodes them.
 */
#ifndef ROOST_SASL_H
#define ROOST_SASL_H
#include <stddef.h>

#define SASL_MAX_RESPONSE 4096	/* base64 bytes in one response */

/* Decode a base64 PLAIN response "authzid\0authcid\0passwd".
 * Returns 0 and malloc'd strings (authzid may be ""), or -1 if malformed.
 * Caller wipes and frees the password. */
int sasl_plain_decode(const char *b64, size_t len, char **authzid_r, char **user_r,
		      char **pass_r);
/* Decode one base64 LOGIN response (username or password). -1 if bad. */
int sasl_login_decode(const char *b64, size_t len, char **text_r);
#endif
