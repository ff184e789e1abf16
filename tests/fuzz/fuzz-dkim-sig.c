/*
 * fuzz-dkim-sig: DKIM-Signature fields as the verifier reads them
 * (src/dkim/dkim-verify.c).
 *  - the input through dkim_sig_check_syntax().
 *  - the input as the value of a DKIM-Signature field on a small message,
 *    through dkim_verify() with a fixed Ed25519 and RSA key for every
 *    name. Invariants: one result, in range, never "pass" (nobody can
 *    forge the signature); an input without line breaks that the syntax
 *    check refuses is a permerror.
 */
#include "fuzz.h"
#include "dkim/dkim.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"

static void query(void *ctx, const char *name, int type, struct dns_answer *a)
{
	a->status = DNS_ANSWER_OK;
	a->n = 0;
	if (type != DNS_TYPE_TXT_RR)
		return;
	a->recs[a->n++].text =
		xstrdup("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	a->recs[a->n++].text = xstrdup(
		"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3id"
		"Y6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lx"
		"j+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > DKIM_VERIFY_MAX_SIG_BYTES + 16)
		return 0;
	char *error = NULL;
	int ok = dkim_sig_check_syntax((const char *)data, size, &error);
	FUZZ_CHECK(ok == 0 || error != NULL);
	free(error);
	char *value = fuzz_strndup(data, size);
	bool one_line = memchr(data, '\n', size) == NULL && memchr(data, '\r', size) == NULL &&
			strlen(value) == size;
	char *msg = xasprintf("DKIM-Signature:%s\r\nFrom: a@example.test\r\nSubject: x\r\n\r\n"
			      "body\r\n",
			      value);
	struct dns_resolver r = {query, NULL};
	struct dkim_verify_result res;
	dkim_verify(&r, msg, strlen(msg), 1700000000, &res);
	FUZZ_CHECK(res.n <= DKIM_VERIFY_MAX_SIGS);
	if (one_line) {
		FUZZ_CHECK(res.n == 1);
		if (ok != 0)
			FUZZ_CHECK(res.sigs[0].result == DKIM_PERMERROR);
	}
	for (size_t i = 0; i < res.n; i++) {
		FUZZ_CHECK(res.sigs[i].result <= DKIM_PERMERROR);
		FUZZ_CHECK(res.sigs[i].result != DKIM_PASS);
		FUZZ_CHECK(res.sigs[i].why != NULL);
	}
	dkim_verify_result_clear(&res);
	free(msg);
	free(value);
	return 0;
}
