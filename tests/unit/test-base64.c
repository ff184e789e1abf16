/* test-base64: RFC 4648 section 10 vectors and strict rejection. */
#include "unit.h"
#include "lib/alloc.h"
#include "lib/base64.h"

static const struct {
	const char *plain, *enc;
} vectors[] = {
	{ "", "" },	      { "f", "Zg==" },	       { "fo", "Zm8=" },
	{ "foo", "Zm9v" },    { "foob", "Zm9vYg==" },  { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

TEST(base64_encode_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char *e = base64_encode(vectors[i].plain, strlen(vectors[i].plain));
		CHECK_STR(e, vectors[i].enc);
		xfree(&e);
	}
}

TEST(base64_decode_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t n = 99;
		char *d = base64_decode(vectors[i].enc, strlen(vectors[i].enc), &n);
		CHECK(d != NULL);
		CHECK_INT(n, strlen(vectors[i].plain));
		CHECK_STR(d, vectors[i].plain);
		xfree(&d);
	}
}

TEST(base64_binary_roundtrip)
{
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t len = 0; len <= 256; len += 37) {
		char *e = base64_encode(all, len);
		size_t n;
		char *d = base64_decode(e, strlen(e), &n);
		CHECK(d != NULL);
		CHECK_INT(n, len);
		CHECK(d != NULL && memcmp(d, all, len) == 0);
		xfree(&e);
		xfree(&d);
	}
}

TEST(base64_decode_rejects)
{
	static const char *bad[] = {
		"Zg",	    /* not a whole quantum */
		"Zg=",	    /* short */
		"Z===",	    /* too much padding */
		"=Zg=",	    /* padding first */
		"Zg==Zg==", /* data after padding */
		"Zm9v Zg==", /* whitespace */
		"Zm9v\n",   /* newline */
		"Zh==",	    /* non-zero trailing bits */
		"Zm9=",	    /* non-zero trailing bits */
		"Zm-v",	    /* URL alphabet is not base64 */
		"Zm9*",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n;
		char *d = base64_decode(bad[i], strlen(bad[i]), &n);
		if (d != NULL)
			unit_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
		xfree(&d);
	}
	/* An embedded NUL in the encoded text is a bad character too. */
	size_t n;
	CHECK(base64_decode("Zg\0=", 4, &n) == NULL);
}
