/* test-auth: password hashing and verification, failed-login delays. */
#include "unit.h"
#include "lib/alloc.h"
#include "mail/auth.h"
#include "store/store.h"
#include <crypt.h>
#include <stdlib.h>

/* crypt_ra() with a fixed setting, as another server would have made it. */
static char *legacy_hash(const char *password, const char *setting)
{
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(password, setting, &data, &size);
	char *out = h != NULL && h[0] == '$' ? xstrdup(h) : NULL;
	free(data);
	return out;
}

TEST(auth_hash_yescrypt)
{
	char *h = auth_hash_password("correct horse");
	CHECK(h != NULL);
	CHECK(strncmp(h, "$y$", 3) == 0);
	CHECK(auth_verify_password("correct horse", h));
	CHECK(!auth_verify_password("correct horsf", h));
	CHECK(!auth_verify_password("", h));
	/* A fresh salt every time: the same password hashes differently. */
	char *h2 = auth_hash_password("correct horse");
	CHECK(h2 != NULL && strcmp(h, h2) != 0);
	CHECK(auth_verify_password("correct horse", h2));
	free(h);
	free(h2);
}

TEST(auth_verify_legacy)
{
	static const struct {
		const char *setting;
	} cases[] = {
		{"$6$saltsaltsalt$"},
		{"$2b$05$abcdefghijklmnopqrstuu"},
		{"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *h = legacy_hash("migrated pw", cases[i].setting);
		CHECK(h != NULL);
		if (h == NULL)
			continue;
		CHECK(strncmp(h, cases[i].setting, 3) == 0);
		CHECK(auth_verify_password("migrated pw", h));
		CHECK(!auth_verify_password("migrated pW", h));
		CHECK(!auth_verify_password("migrated pw ", h));
		free(h);
	}
}

TEST(auth_verify_rejects_bad_hashes)
{
	CHECK(!auth_verify_password("x", ""));
	CHECK(!auth_verify_password("x", "!"));
	CHECK(!auth_verify_password("x", "*0"));
	CHECK(!auth_verify_password("x", NULL));
	CHECK(!auth_verify_password("x", "$6$"));
	/* An overlong password is refused, not truncated. */
	char *h = auth_hash_password("short");
	char *longpw = xmalloc(AUTH_MAX_PASSWORD + 2);
	memset(longpw, 'a', AUTH_MAX_PASSWORD + 1);
	longpw[AUTH_MAX_PASSWORD + 1] = '\0';
	CHECK(!auth_verify_password(longpw, h));
	CHECK(auth_hash_password(longpw) == NULL);
	free(longpw);
	free(h);
}

TEST(auth_fail_delay_doubles_and_caps)
{
	auth_fail_configure(100, 1000);
	const char *ip = "192.0.2.7";
	auth_fail_clear(ip);
	CHECK_INT(auth_fail_delay_ms(ip), 0);
	static const int64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		auth_fail_record(ip);
		CHECK_INT(auth_fail_delay_ms(ip), want[i]);
	}
	/* Other addresses are not affected; success clears. */
	CHECK_INT(auth_fail_delay_ms("192.0.2.8"), 0);
	auth_fail_clear(ip);
	CHECK_INT(auth_fail_delay_ms(ip), 0);
	auth_fail_record(ip);
	CHECK_INT(auth_fail_delay_ms(ip), 100);
	auth_fail_clear(ip);
}

TEST(auth_fail_table_bounded)
{
	/* Far more addresses than the table holds: memory stays fixed, the
	 * newest failure is always remembered. */
	auth_fail_configure(10, 80);
	char ip[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		auth_fail_record(ip);
		CHECK_INT(auth_fail_delay_ms(ip), 10);
		if (auth_fail_delay_ms(ip) != 10)
			break;
	}
	auth_fail_record(ip);
	CHECK_INT(auth_fail_delay_ms(ip), 20);
	auth_fail_clear(ip);
}

TEST(auth_login_store)
{
	const char *dir = unit_tmpdir();
	char *error = NULL;
	struct store *s = NULL;
	struct store_settings set = {.default_quota_bytes = -1, .default_quota_messages = -1};
	CHECK_INT(store_create(dir, &error), STORE_OK);
	CHECK_INT(store_open(dir, &set, &s, &error), STORE_OK);
	if (s == NULL)
		return;
	CHECK_INT(store_domain_add(s, "example.com", &error), STORE_OK);
	char *h = auth_hash_password("pw1");
	CHECK_INT(store_account_add(s, "bob@example.com", h, &error), STORE_OK);
	int64_t id = 0;
	CHECK_INT(auth_login(s, "bob@example.com", "pw1", &id), AUTH_OK);
	CHECK(id > 0);
	/* The domain is compared without case. */
	int64_t id2 = 0;
	CHECK_INT(auth_login(s, "bob@EXAMPLE.com", "pw1", &id2), AUTH_OK);
	CHECK_INT(id2, id);
	CHECK_INT(auth_login(s, "bob@example.com", "pw2", &id), AUTH_DENIED);
	CHECK_INT(auth_login(s, "nobody@example.com", "pw1", &id), AUTH_DENIED);
	CHECK_INT(auth_login(s, "not an address", "pw1", &id), AUTH_DENIED);
	CHECK_INT(auth_login(s, "", "", &id), AUTH_DENIED);
	/* the account cannot be read: no verdict, not "wrong password" */
	store_debug_fail_reads(0, 1, STORE_FAULT_IOERR);
	CHECK_INT(auth_login(s, "bob@example.com", "pw1", &id), AUTH_TEMPFAIL);
	store_debug_fail_reads(0, 1, STORE_FAULT_BUSY);
	CHECK_INT(auth_login(s, "bob@example.com", "pw2", &id), AUTH_TEMPFAIL);
	store_debug_fail_reads(0, 0, STORE_FAULT_IOERR);
	CHECK_INT(auth_login(s, "bob@example.com", "pw1", &id), AUTH_OK);
	free(h);
	free(error);
	store_close(&s);
}
