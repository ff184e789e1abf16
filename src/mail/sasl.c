/*
 * sasl: decoding of SASL PLAIN (RFC 4616) and LOGIN responses for every
 * protocol that authenticates. Protocol code owns the exchange (challenges,
 * "*" cancellation, RFC 4954/5034/3501 framing); this file only turns one
 * base64 response into strings, rejecting anything malformed.
 */
#include "mail/sasl.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include <string.h>

int sasl_plain_decode(const char *b64, size_t len, char **authzid_r, char **user_r,
		      char **pass_r)
{
	size_t dlen;
	char *data, *nul1, *nul2;

	if (len > SASL_MAX_RESPONSE)
		return -1;
	if ((data = base64_decode(b64, len, &dlen)) == NULL)
		return -1;
	/* RFC 4616 section 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd,
	 * authcid and passwd are 1*SAFE (no NUL): exactly two NULs. */
	nul1 = memchr(data, '\0', dlen);
	nul2 = nul1 == NULL ? NULL : memchr(nul1 + 1, '\0', dlen - (size_t)(nul1 + 1 - data));
	if (nul1 == NULL || nul2 == NULL || nul2 == data + dlen ||
	    memchr(nul2 + 1, '\0', dlen - (size_t)(nul2 + 1 - data)) != NULL ||
	    nul2 == nul1 + 1 || nul2 + 1 == data + dlen) {
		wipe(data, dlen);
		xfree(&data);
		return -1;
	}
	*authzid_r = xstrdup(data);
	*user_r = xstrdup(nul1 + 1);
	*pass_r = xstrdup(nul2 + 1);
	wipe(data, dlen);
	xfree(&data);
	return 0;
}

int sasl_login_decode(const char *b64, size_t len, char **text_r)
{
	size_t dlen;
	char *data;

	if (len > SASL_MAX_RESPONSE)
		return -1;
	if ((data = base64_decode(b64, len, &dlen)) == NULL)
		return -1;
	/* A user name or password is text: an embedded NUL would truncate it
	 * silently, so refuse it; an empty one is never valid either. */
	if (dlen == 0 || memchr(data, '\0', dlen) != NULL) {
		wipe(data, dlen);
		xfree(&data);
		return -1;
	}
	*text_r = data;
	return 0;
}
