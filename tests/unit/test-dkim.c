/* test-dkim: relaxed canonicalization (RFC 6376 3.4.2, 3.4.4) against the
 * RFC's own example (3.4.5) and the edge cases around empty bodies;
 * signing; the key cache. */
#include "unit.h"
#include "dkim/dkim.h"
#include "dkim/dkim-private.h"
#include "lib/buf.h"
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_header(const char *in, const char *want)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	dkim_canon_header_relaxed(in, strlen(in), &b);
	CHECK_STR(b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

static void check_body(const char *in, const char *want)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	dkim_canon_body_relaxed(in, strlen(in), &b);
	CHECK_STR(b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

TEST(dkim_rfc6376_example_relaxed)
{
	/* RFC 6376 3.4.5: the two header fields and the body of the example. */
	check_header("A: X\r\n", "a:X\r\n");
	check_header("B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n");
	check_body(" C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
}

TEST(dkim_relaxed_header_cases)
{
	check_header("Subject \t:   hello   world\t", "subject:hello world\r\n");
	check_header("To: a@x,\r\n b@x,\r\n\t c@x\r\n", "to:a@x, b@x, c@x\r\n");
	check_header("X-Empty:\r\n", "x-empty:\r\n");
	check_header("X-Spaces:   \r\n", "x-spaces:\r\n");
	check_header("MIME-Version: 1.0\r\n", "mime-version:1.0\r\n");
}

TEST(dkim_relaxed_body_cases)
{
	check_body("", "");
	check_body("\r\n", "");
	check_body("\r\n\r\n \t\r\n", "");
	check_body("abc", "abc\r\n");
	check_body("a  b\t\tc \r\n\r\nd\r\n\r\n", "a b c\r\n\r\nd\r\n");
	check_body("\r\n\r\nx\r\n", "\r\n\r\nx\r\n");
	/* Bytes above 127 pass unchanged (an 8-bit body). */
	check_body("Gr\xc3\xbc\xc3\x9f""e  \r\n", "Gr\xc3\xbc\xc3\x9f""e\r\n");
}

TEST(dkim_selector_names)
{
	CHECK(dkim_selector_valid("roost20261202"));
	CHECK(dkim_selector_valid("a-1"));
	CHECK(!dkim_selector_valid(""));
	CHECK(!dkim_selector_valid("-a"));
	CHECK(!dkim_selector_valid("a/../b"));
	CHECK(!dkim_selector_valid("A"));
	CHECK(!dkim_selector_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 49 */
}

/* A signer with one Ed25519 key, without files (dkim-private.h). */
static struct dkim_signer *test_signer(void)
{
	static struct dkim_signer s;
	if (s.key[DKIM_ALG_ED25519] == NULL) {
		s.key[DKIM_ALG_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		s.domain = "example.com";
		s.selector = "unit";
	}
	return &s;
}

static char *sign_ok(const char *msg)
{
	char *fields = NULL, *error = NULL;
	CHECK_INT(dkim_sign(test_signer(), msg, strlen(msg), 1700000000, &fields, &error), 0);
	CHECK(error == NULL);
	return fields;
}

TEST(dkim_sign_empty_body_hash)
{
	/* RFC 6376 3.4.4: an empty (or all-blank) body hashes as zero bytes;
	 * SHA-256("") in base64. */
	const char *msgs[] = {"From: a@example.com\r\n\r\n", "From: a@example.com\r\n\r\n\r\n \r\n",
			      "From: a@example.com\r\n"};
	for (size_t i = 0; i < 3; i++) {
		char *f = sign_ok(msgs[i]);
		CHECK(strstr(f, "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;") != NULL);
		CHECK(strstr(f, "a=ed25519-sha256;") != NULL);
		CHECK(strstr(f, "s=unit-ed25519;") != NULL);
		CHECK(strstr(f, "t=1700000000;") != NULL);
		free(f);
	}
}

TEST(dkim_sign_header_list)
{
	/* Present fields once per instance, the over-signed ones once more. */
	char *f = sign_ok("From: a@example.com\r\nDate: x\r\nTo: b@x\r\nTo: c@x\r\n\r\nb\r\n");
	/* Unfold (the field wraps at 78 columns): drop each CRLF SP. */
	struct buf u;
	buf_init(&u, SIZE_MAX);
	for (const char *r = f; *r != '\0'; r++) {
		if (r[0] == '\r' && r[1] == '\n' && r[2] == ' ')
			r += 2;
		else
			buf_putc(&u, *r);
	}
	free(f);
	f = buf_steal(&u);
	CHECK(strstr(f, "h=from:from:to:to:to:cc:subject:reply-to:date:content-type;") != NULL);
	free(f);
}

TEST(dkim_sign_limits)
{
	char *fields = NULL, *error = NULL;
	const char *nofrom = "Subject: x\r\n\r\nbody\r\n";
	CHECK_INT(dkim_sign(test_signer(), nofrom, strlen(nofrom), 0, &fields, &error), -1);
	CHECK(error != NULL && strstr(error, "no From") != NULL);
	free(error);
	error = NULL;
	struct buf m;
	buf_init(&m, SIZE_MAX);
	buf_puts(&m, "From: a@example.com\r\n");
	for (int i = 0; i <= DKIM_MAX_INSTANCES; i++)
		buf_puts(&m, "Cc: x@example.org\r\n");
	buf_puts(&m, "\r\nbody\r\n");
	CHECK_INT(dkim_sign(test_signer(), m.data, m.len, 0, &fields, &error), -1);
	CHECK(error != NULL && strstr(error, "cc header fields") != NULL);
	free(error);
	buf_free(&m);
}

/* Write key as PEM to path, through a new file renamed into place (as
 * key generation does): another inode each time. */
static void write_key(const char *path, EVP_PKEY *key)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	CHECK(f != NULL);
	CHECK(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	CHECK(rename(tmp, path) == 0);
}

TEST(dkim_key_cache_reuses_and_notices_a_new_file)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/k.ed25519.pem", unit_tmpdir());
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *error = NULL;
	EVP_PKEY *k1 = NULL, *k2 = NULL, *k3 = NULL;
	CHECK_INT(dkim_key_load(path, &k1, &error), 1);	/* no file yet */
	write_key(path, a);
	CHECK_INT(dkim_key_load(path, &k1, &error), 0);
	CHECK_INT(dkim_key_load(path, &k2, &error), 0);
	CHECK(k1 == k2);	/* decoded once */
	CHECK(EVP_PKEY_eq(k1, a) == 1);
	write_key(path, b);	/* a new key under the same name */
	CHECK_INT(dkim_key_load(path, &k3, &error), 0);
	CHECK(k3 != k1);
	CHECK(EVP_PKEY_eq(k3, b) == 1);
	EVP_PKEY_free(k3);
	/* the old references stay usable after the cache dropped the key */
	CHECK(EVP_PKEY_eq(k2, a) == 1);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	CHECK(unlink(path) == 0);
	CHECK_INT(dkim_key_load(path, &k1, &error), 1);	/* gone: not served from the cache */
	FILE *f = fopen(path, "w");
	fputs("not a key\n", f);
	fclose(f);
	CHECK_INT(dkim_key_load(path, &k1, &error), -1);
	CHECK(error != NULL && strstr(error, path) != NULL);
	free(error);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}
