/*
 * dkim-sign: the DKIM-Signature header fields of a message (RFC 6376 5),
 * relaxed/relaxed canonicalization (3.4.2, 3.4.4), one signature per key.
 *
 * One pass over the header section records where the signed fields are;
 * the body is canonicalized and hashed as a stream. Nothing is copied
 * and nothing is searched twice, so the work is linear in the message
 * size whatever a hostile message holds (100,000 header lines, a 50 MB
 * body of blank lines or spaces).
 */
#include "dkim/dkim.h"
#include "dkim/dkim-private.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Where the folded signature header wraps (RFC 5322 2.1.1 "SHOULD"). */
#define DKIM_FOLD_COLUMN 78
/* Most entries in h= (names x instances, plus the over-signed ones). */
#define DKIM_MAX_H_ENTRIES 256

/*
 * The signed header fields, in h= order (RFC 6376 5.4.1: From is
 * required). `oversign` adds one entry more than the message has
 * instances: a verifier then treats the extra one as an empty field
 * (5.4.2), so nobody can add another From, To, Cc, Subject, Reply-To or
 * Content-Type to a signed message without breaking the signature (the
 * replay trick: a second From that a mail reader shows instead of ours,
 * 8.15). Date and Message-ID are signed but not over-signed because some
 * relays add them to a message that lacks them; MIME-Version, In-Reply-To
 * and References change nothing a reader trusts when added.
 */
static const struct {
	const char *name;
	int oversign;
} signed_headers[] = {
	{"from", 1},	     {"to", 1},		{"cc", 1},	   {"subject", 1},
	{"reply-to", 1},     {"date", 0},	{"message-id", 0}, {"mime-version", 0},
	{"content-type", 1}, {"in-reply-to", 0}, {"references", 0},
};
#define DKIM_NSIGNED (sizeof(signed_headers) / sizeof(signed_headers[0]))

struct field {
	size_t off, len;
};

/* The header section, as positions of the signed fields. */
struct parsed {
	struct field inst[DKIM_NSIGNED][DKIM_MAX_INSTANCES];
	size_t ninst[DKIM_NSIGNED];
	size_t body_off;
};

static int record_field(const char *msg, size_t off, size_t len, struct parsed *ps,
			char **error_r)
{
	const char *p = msg + off;
	const char *colon = memchr(p, ':', len);
	if (colon == NULL)
		return 0; /* not a field; nothing to sign */
	size_t nlen = (size_t)(colon - p);
	while (nlen > 0 && is_wsp(p[nlen - 1]))
		nlen--;
	for (size_t i = 0; i < DKIM_NSIGNED; i++) {
		const char *name = signed_headers[i].name;
		if (strlen(name) != nlen || strncasecmp(name, p, nlen) != 0)
			continue;
		if (len > DKIM_MAX_FIELD_BYTES) {
			*error_r = xasprintf("dkim: a %s header field is longer than %d bytes", name,
					     DKIM_MAX_FIELD_BYTES);
			return -1;
		}
		if (ps->ninst[i] == DKIM_MAX_INSTANCES) {
			*error_r = xasprintf("dkim: more than %d %s header fields", DKIM_MAX_INSTANCES,
					     name);
			return -1;
		}
		ps->inst[i][ps->ninst[i]++] = (struct field){off, len};
		return 0;
	}
	return 0;
}

/* RFC 5322 2.2: a field is its first line and the lines after it that
 * begin with WSP; the header section ends at the first empty line. */
static int parse_header(const char *msg, size_t len, struct parsed *ps, char **error_r)
{
	size_t pos = 0, field_off = 0, nfields = 0;
	int in_field = 0;
	while (pos < len) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t next = nl != NULL ? (size_t)(nl - msg) + 1 : len;
		int empty = msg[pos] == '\n' || (msg[pos] == '\r' && pos + 1 < len && msg[pos + 1] == '\n');
		int cont = is_wsp(msg[pos]);
		if (in_field && !cont) {
			if (record_field(msg, field_off, pos - field_off, ps, error_r) < 0)
				return -1;
			in_field = 0;
		}
		if (empty) {
			ps->body_off = next;
			return 0;
		}
		if (!in_field) {
			if (++nfields > DKIM_MAX_HEADER_FIELDS) {
				*error_r = xasprintf("dkim: more than %d header fields",
						     DKIM_MAX_HEADER_FIELDS);
				return -1;
			}
			field_off = pos;
			in_field = 1;
		}
		pos = next;
	}
	if (in_field && record_field(msg, field_off, len - field_off, ps, error_r) < 0)
		return -1;
	ps->body_off = len;
	return 0;
}

/* Folding at DKIM_FOLD_COLUMN: tags never split, h= splits before a ':',
 * base64 values anywhere (RFC 6376 3.5 allows FWS in each). */
struct fold {
	struct buf *b;
	size_t col;
};

static void fold_atom(struct fold *f, const char *text, int space)
{
	size_t n = strlen(text) + (space ? 1 : 0);
	if (f->col + n > DKIM_FOLD_COLUMN) {
		buf_puts(f->b, "\r\n ");
		f->col = 1;
	} else if (space) {
		buf_putc(f->b, ' ');
		f->col++;
	}
	buf_puts(f->b, text);
	f->col += strlen(text);
}

static void fold_b64(struct fold *f, const char *v)
{
	size_t n = strlen(v);
	while (n > 0) {
		if (f->col >= DKIM_FOLD_COLUMN) {
			buf_puts(f->b, "\r\n ");
			f->col = 1;
		}
		size_t room = DKIM_FOLD_COLUMN - f->col;
		size_t k = n < room ? n : room;
		buf_append(f->b, v, k);
		f->col += k;
		v += k;
		n -= k;
	}
}

static const char *const alg_names[DKIM_NALGS] = {"rsa-sha256", "ed25519-sha256"};

/* The signature of one key over the header hash input. */
static int sign_one(const struct dkim_signer *signer, enum dkim_alg alg, const char *msg,
		    const struct parsed *ps, const char *h_list, const size_t *h_inst, size_t nh, const char *bh, time_t now, struct buf *out,
		    char **error_r)
{
	struct buf hdr;
	buf_init(&hdr, SIZE_MAX);
	struct fold f = {&hdr, 0};
	buf_puts(&hdr, "DKIM-Signature:");
	f.col = strlen("DKIM-Signature:");
	char tmp[512];
	fold_atom(&f, "v=1;", 1);
	snprintf(tmp, sizeof(tmp), "a=%s;", alg_names[alg]);
	fold_atom(&f, tmp, 1);
	fold_atom(&f, "c=relaxed/relaxed;", 1);
	snprintf(tmp, sizeof(tmp), "d=%s;", signer->domain);
	fold_atom(&f, tmp, 1);
	snprintf(tmp, sizeof(tmp), "s=%s-%s;", signer->selector, dkim_alg_suffix[alg]);
	fold_atom(&f, tmp, 1);
	snprintf(tmp, sizeof(tmp), "t=%lld;", (long long)now);
	fold_atom(&f, tmp, 1);
	/* h=from:from:to... one atom per name. */
	const char *h = h_list;
	int first = 1;
	while (*h != '\0') {
		const char *colon = strchr(h + 1, ':');
		size_t n = colon != NULL ? (size_t)(colon - h) : strlen(h);
		snprintf(tmp, sizeof(tmp), "%s%.*s%s", first ? "h=" : "", (int)n, h,
			 colon == NULL ? ";" : "");
		fold_atom(&f, tmp, first);
		first = 0;
		h += n;
	}
	fold_atom(&f, "bh=", 1);
	fold_b64(&f, bh);
	buf_putc(&hdr, ';');
	f.col++;
	fold_atom(&f, "b=", 1);

	/* RFC 6376 3.7: the signed fields in h= order, then this field with
	 * an empty b= and no final CRLF. */
	struct dkim_sink *s = xcalloc(1, sizeof(*s));
	s->md = EVP_MD_CTX_new();
	int ret = -1;
	if (s->md == NULL || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL))
		goto done;
	for (size_t i = 0; i < nh; i++) {
		if ((h_inst[i] & 0xff) == 0xff)
			continue; /* over-signed: an empty field, nothing hashed */
		const struct field *fl = &ps->inst[h_inst[i] >> 8][h_inst[i] & 0xff];
		dkim_canon_header(s, msg + fl->off, fl->len, 1);
	}
	dkim_canon_header(s, hdr.data, hdr.len, 0);
	dkim_sink_flush(s);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	if (!EVP_DigestFinal_ex(s->md, digest, &dlen))
		goto done;

	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(signer->key[alg], NULL);
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	int ok = pctx != NULL;
	if (ok && alg == DKIM_ALG_RSA) {
		/* RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1). */
		ok = EVP_PKEY_sign_init(pctx) > 0 &&
		     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) > 0 &&
		     EVP_PKEY_sign(pctx, sig, &siglen, digest, dlen) > 0;
	} else if (ok) {
		/* RFC 8463 3: PureEdDSA over the SHA-256 hash, not the data. */
		EVP_MD_CTX *ectx = EVP_MD_CTX_new();
		ok = ectx != NULL && EVP_DigestSignInit(ectx, NULL, NULL, NULL, signer->key[alg]) > 0 &&
		     EVP_DigestSign(ectx, sig, &siglen, digest, dlen) > 0;
		EVP_MD_CTX_free(ectx);
	}
	EVP_PKEY_CTX_free(pctx);
	if (!ok)
		goto done;
	char *b = base64_encode(sig, siglen);
	fold_b64(&f, b);
	free(b);
	buf_puts(&hdr, "\r\n");
	buf_append(out, hdr.data, hdr.len);
	ret = 0;
done:
	if (ret < 0) {
		unsigned long e = ERR_get_error();
		char msgbuf[256];
		ERR_error_string_n(e, msgbuf, sizeof(msgbuf));
		*error_r = xasprintf("dkim: %s signature: %s", alg_names[alg], e ? msgbuf : "failed");
	}
	EVP_MD_CTX_free(s->md);
	free(s);
	buf_free(&hdr);
	return ret;
}

int dkim_sign(const struct dkim_signer *signer, const char *msg, size_t len, time_t now,
	      char **fields_r, char **error_r)
{
	struct parsed *ps = xcalloc(1, sizeof(*ps));
	int ret = -1;
	struct buf out, hl;
	buf_init(&out, SIZE_MAX);
	buf_init(&hl, SIZE_MAX);
	if (parse_header(msg, len, ps, error_r) < 0)
		goto done;
	if (ps->ninst[0] == 0) {
		*error_r = xasprintf("dkim: the message has no From header field");
		goto done;
	}
	/* h= entries: the k-th use of a name signs its k-th instance from the
	 * bottom (RFC 6376 5.4.2); 0xff marks an over-signed empty entry. */
	size_t h_inst[DKIM_MAX_H_ENTRIES];
	const char *h_names[DKIM_MAX_H_ENTRIES];
	size_t nh = 0;
	for (size_t i = 0; i < DKIM_NSIGNED; i++) {
		size_t n = ps->ninst[i];
		for (size_t k = 0; k < n; k++) {
			h_names[nh] = signed_headers[i].name;
			h_inst[nh++] = (i << 8) | (n - 1 - k);
		}
		if (signed_headers[i].oversign) {
			h_names[nh] = signed_headers[i].name;
			h_inst[nh++] = (i << 8) | 0xff;
		}
	}
	for (size_t i = 0; i < nh; i++) {
		if (i > 0)
			buf_putc(&hl, ':');
		buf_puts(&hl, h_names[i]);
	}

	/* bh=: SHA-256 of the canonicalized body (RFC 6376 3.7 step 1). */
	struct dkim_sink *s = xcalloc(1, sizeof(*s));
	s->md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	int ok = s->md != NULL && EVP_DigestInit_ex(s->md, EVP_sha256(), NULL);
	if (ok) {
		dkim_canon_body(s, msg + ps->body_off, len - ps->body_off);
		dkim_sink_flush(s);
		ok = EVP_DigestFinal_ex(s->md, digest, &dlen);
	}
	EVP_MD_CTX_free(s->md);
	free(s);
	if (!ok) {
		*error_r = xasprintf("dkim: body hash failed");
		goto done;
	}
	char *bh = base64_encode(digest, dlen);
	ret = 0;
	for (int a = 0; a < DKIM_NALGS && ret == 0; a++)
		if (signer->key[a] != NULL)
			ret = sign_one(signer, (enum dkim_alg)a, msg, ps, hl.data, h_inst, nh,
				       bh, now, &out, error_r);
	free(bh);
	if (ret == 0)
		*fields_r = buf_steal(&out);
done:
	buf_free(&out);
	buf_free(&hl);
	free(ps);
	return ret;
}
