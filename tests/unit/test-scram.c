/* test-scram: SCRAM-SHA-256 math against RFC 7677 3's example exchange,
 * and the client message parsers' accept/refuse tables. */
#include "unit.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "mail/scram.h"
#include <stdlib.h>
#include <string.h>

/* RFC 7677 3: user "user", password "pencil" */
#define RFC_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_FIRST                                                                   \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"    \
	"i=4096"
#define RFC_CLIENT_FINAL                                                                   \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"                        \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

TEST(scram_rfc7677_example)
{
	char *gs2, *authzid, *user, *nonce, *bare;
	const char *why;
	CHECK_INT(scram_parse_client_first(RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), &gs2,
					   &authzid, &user, &nonce, &bare, &why),
		  0);
	CHECK_STR(gs2, "n,,");
	CHECK_STR(authzid, "");
	CHECK_STR(user, "user");
	CHECK_STR(nonce, "rOprNGfwEbeRWgbNEkqO");
	CHECK_STR(bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");

	size_t salt_len;
	char *salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, &salt_len);
	unsigned char stored[SCRAM_KEY_LEN], server[SCRAM_KEY_LEN];
	CHECK_INT(scram_derive("pencil", (unsigned char *)salt, salt_len, 4096, stored, server),
		  0);

	char *cbind, *rnonce, *without;
	unsigned char proof[SCRAM_KEY_LEN];
	CHECK_INT(scram_parse_client_final(RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &cbind,
					   &rnonce, proof, &without),
		  0);
	CHECK_STR(cbind, "biws"); /* base64 of "n,," */
	CHECK_STR(rnonce, "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	char *am = xasprintf("%s,%s,%s", bare, RFC_SERVER_FIRST, without);
	CHECK(scram_proof_valid(stored, am, proof));
	char *final = scram_server_final(server, am);
	CHECK_STR(final, RFC_SERVER_FINAL);
	/* one bit off in the proof, or another password: refused */
	proof[5] ^= 0x10;
	CHECK(!scram_proof_valid(stored, am, proof));
	proof[5] ^= 0x10;
	unsigned char stored2[SCRAM_KEY_LEN], server2[SCRAM_KEY_LEN];
	scram_derive("pencil2", (unsigned char *)salt, salt_len, 4096, stored2, server2);
	CHECK(!scram_proof_valid(stored2, am, proof));
	free(final);
	free(am);
	free(cbind);
	free(rnonce);
	free(without);
	free(salt);
	free(gs2);
	free(authzid);
	free(user);
	free(nonce);
	free(bare);
}

TEST(scram_client_first_table)
{
	static const struct {
		const char *msg;
		int ok;
		const char *user, *authzid;
	} cases[] = {
		{"n,,n=alice@example.com,r=abc", 0, "alice@example.com", ""},
		{"y,,n=a=2Cb=3Dc,r=abc", 0, "a,b=c", ""},
		{"n,a=alice,n=alice,r=abc,ext=1", 0, "alice", "alice"},
		{"p=tls-unique,,n=alice,r=abc", -1, NULL, NULL}, /* no channel binding */
		{"x,,n=alice,r=abc", -1, NULL, NULL},
		{"n,,n=,r=abc", -1, NULL, NULL},		  /* empty name */
		{"n,,n=a=2Xb,r=abc", -1, NULL, NULL},		  /* bad escape */
		{"n,,n=alice,r=", -1, NULL, NULL},		  /* empty nonce */
		{"n,,n=alice", -1, NULL, NULL},
		{"n,,r=abc,n=alice", -1, NULL, NULL},
		{"n,b=x,n=alice,r=abc", -1, NULL, NULL},
		{"n", -1, NULL, NULL},
		{"", -1, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *gs2 = NULL, *authzid = NULL, *user = NULL, *nonce = NULL, *bare = NULL;
		const char *why = NULL;
		int r = scram_parse_client_first(cases[i].msg, strlen(cases[i].msg), &gs2,
						 &authzid, &user, &nonce, &bare, &why);
		CHECK_INT(r, cases[i].ok);
		if (r == 0) {
			CHECK_STR(user, cases[i].user);
			CHECK_STR(authzid, cases[i].authzid);
		}
		free(gs2);
		free(authzid);
		free(user);
		free(nonce);
		free(bare);
	}
	/* an embedded NUL is refused */
	char *a, *b, *c, *d, *e;
	const char *why;
	CHECK_INT(scram_parse_client_first("n,,n=al\0ce,r=abc", 16, &a, &b, &c, &d, &e, &why),
		  -1);
}

TEST(scram_client_final_table)
{
	static const char *const bad[] = {
		"c=biws,r=abc",				/* no proof */
		"r=abc,c=biws,p=AAAA",			/* order */
		"c=biws,r=abc,p=AAAA",			/* proof too short */
		"c=biws,r=abc,p=!!!!",			/* not base64 */
		"c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", /* no nonce */
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *cb = NULL, *n = NULL, *w = NULL;
		unsigned char proof[SCRAM_KEY_LEN];
		CHECK_INT(scram_parse_client_final(bad[i], strlen(bad[i]), &cb, &n, proof, &w), -1);
		free(cb);
		free(n);
		free(w);
	}
}
