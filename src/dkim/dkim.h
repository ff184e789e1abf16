/*
 * dkim: DKIM signing (RFC 6376) with RSA-SHA256 and Ed25519-SHA256
 * (RFC 8463), and the domain keys it signs with.
 *
 * Keys live in the data directory, one pair per selector:
 *   DATA/dkim/DOMAIN/SELECTOR.rsa.pem      RSA-2048, PKCS#8 PEM, mode 0600
 *   DATA/dkim/DOMAIN/SELECTOR.ed25519.pem  Ed25519, PKCS#8 PEM, mode 0600
 *   DATA/dkim/DOMAIN/selector              the selector that signs now
 * Each key is published under its own DNS name, SELECTOR-rsa._domainkey
 * and SELECTOR-ed25519._domainkey (s= names it): two TXT records at one
 * name would leave each verifier to pick one (RFC 6376 3.6.2.2), and an
 * old verifier that picks the Ed25519 record fails the RSA signature.
 * Every file is written atomically (temporary file, fsync, rename). A
 * rotation writes a new pair and points `selector` at it; the old pair
 * stays until an administrator removes it, because its public records
 * must stay published while mail it signed is still being verified.
 *
 * Layer: uses lib/ only. No SQL, no event loop: dkim_signer_load() reads
 * files and dkim_sign() costs an RSA signature (about a millisecond), so
 * callers on the event loop run them on a worker thread. A loaded signer
 * is immutable and may be shared by threads.
 */
#ifndef ROOST_DKIM_H
#define ROOST_DKIM_H
#include <stddef.h>
#include <time.h>

struct buf;
struct dkim_signer;

/* Longest selector we create or accept (with "-ed25519" a DNS label). */
#define DKIM_MAX_SELECTOR 48
/* Most header fields dkim_sign() reads before it gives up; the parse is
 * linear, this only bounds the work a hostile message can ask for. */
#define DKIM_MAX_HEADER_FIELDS 200000
/* Most instances of one signed header name (RFC 5322 allows one From,
 * To, Subject...; a message with more than this is refused). */
#define DKIM_MAX_INSTANCES 16
/* Longest signed header field (bytes, folded lines included). */
#define DKIM_MAX_FIELD_BYTES (64 * 1024)

/* A valid selector: 1..DKIM_MAX_SELECTOR of [a-z0-9-], not starting or
 * ending with '-' (it is used as a DNS label and a file name). */
int dkim_selector_valid(const char *selector);

/* Create both keys of `selector` for `domain` and make it the signing
 * selector. Refuses a selector whose files exist. 0, or -1 and *error_r. */
int dkim_keys_generate(const char *datadir, const char *domain, const char *selector,
		       char **error_r);
/* Delete both key files of a retired selector (refuses the current one).
 * 0, or -1 and *error_r (also when the selector has no files). */
int dkim_keys_remove(const char *datadir, const char *domain, const char *selector,
		     char **error_r);
/* The selector that signs now: 0 and *selector_r (caller frees); 1 when
 * the domain has no keys; -1 and *error_r on an I/O error. */
int dkim_current_selector(const char *datadir, const char *domain, char **selector_r,
			  char **error_r);
/* Every selector with key files for the domain, sorted (caller frees each
 * and the array). 0, or -1 and *error_r. A missing directory is 0 with
 * none. */
int dkim_selectors(const char *datadir, const char *domain, char ***selectors_r, size_t *n_r,
		   char **error_r);
/* Append the zone-file TXT records of `selector` (one line per key found:
 * "SEL-rsa._domainkey.DOMAIN. IN TXT \"v=DKIM1; k=rsa; p=...\" ...", strings
 * of at most 255 bytes) to `out`. 0, or -1 and *error_r. */
int dkim_dns_records(const char *datadir, const char *domain, const char *selector,
		     struct buf *out, char **error_r);

/* Load the current selector's keys for `domain`: 0 and *signer_r; 1 when
 * the domain has no keys (send unsigned); -1 and *error_r. */
int dkim_signer_load(const char *datadir, const char *domain, struct dkim_signer **signer_r,
		     char **error_r);
void dkim_signer_free(struct dkim_signer **signer);

/* Sign `msg` (len bytes, the whole message as it will be sent, CRLF line
 * ends) at time `now`. On 0, *fields_r (caller frees) is one
 * "DKIM-Signature: ..." header field per key, each folded at 78 columns
 * and ending in CRLF, to be prepended to the message unchanged. -1 and
 * *error_r when the message cannot be signed (no From, a limit above). */
int dkim_sign(const struct dkim_signer *signer, const char *msg, size_t len, time_t now,
	      char **fields_r, char **error_r);

/* Relaxed canonicalization (RFC 6376 3.4.2, 3.4.4), exposed for tests:
 * one header field (its name, colon, value and folded lines, with or
 * without the final CRLF) and a whole body. Appended to `out`. */
void dkim_canon_header_relaxed(const char *field, size_t len, struct buf *out);
void dkim_canon_body_relaxed(const char *body, size_t len, struct buf *out);

/* --- verification (dkim-verify.c, RFC 6376 6; RFC 8463) --- */
struct dns_resolver;

/* Signatures checked per message (the first ones from the top); the
 * others are not evaluated (RFC 6376 6.1 lets a verifier limit this). */
#define DKIM_VERIFY_MAX_SIGS 5
/* Longest DKIM-Signature field parsed. */
#define DKIM_VERIFY_MAX_SIG_BYTES 8192
/* Smallest RSA key accepted (RFC 8301 3.2). */
#define DKIM_VERIFY_MIN_RSA_BITS 1024

enum dkim_result { DKIM_NONE, DKIM_PASS, DKIM_FAIL, DKIM_NEUTRAL, DKIM_TEMPERROR, DKIM_PERMERROR };
const char *dkim_result_name(enum dkim_result r);

struct dkim_sig_result {
	enum dkim_result result;
	char *domain;		/* d=, lowercase (NULL if unparsable) */
	char *selector;		/* s= */
	char b_prefix[9];	/* first 8 characters of b= (RFC 6008 header.b) */
	char *why;		/* for the A-R comment and the log */
};

struct dkim_verify_result {
	struct dkim_sig_result sigs[DKIM_VERIFY_MAX_SIGS];
	size_t n;		/* 0: the message has no DKIM-Signature */
};
void dkim_verify_result_clear(struct dkim_verify_result *r);

/* Check the first DKIM_VERIFY_MAX_SIGS signatures of msg (the whole
 * message, CRLF line ends) at time `now`, fetching keys through dns.
 * l= is not used to shorten the body hash: the whole body is hashed, so
 * a signature that covers only part of the body fails (content appended
 * after a signed part is the RFC 6376 8.2 attack). Costs hashing the
 * body once per canonicalization and one public-key operation per
 * signature: callers on an event loop run it on a worker. */
void dkim_verify(const struct dns_resolver *dns, const char *msg, size_t len, time_t now,
		 struct dkim_verify_result *out);

/* Parse one DKIM-Signature value (after the colon) as the verifier does:
 * 0, or -1 and *error_r (caller frees). For the fuzzer and tests. */
int dkim_sig_check_syntax(const char *value, size_t len, char **error_r);
#endif
