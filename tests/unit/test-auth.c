/* test-auth: password hashing and verification (mail/password.h), login
 * checks (auth/auth.h) and the failed-login throttle (auth/auth-throttle.h). */
#include "unit.h"
#include "lib/alloc.h"
#include "auth/auth.h"
#include "auth/auth-throttle.h"
#include "mail/password.h"
#include "store/store.h"
#include <crypt.h>
#include <stdio.h>
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
	char *h = password_hash("correct horse");
	CHECK(h != NULL);
	CHECK(strncmp(h, "$y$", 3) == 0);
	CHECK(password_verify("correct horse", h));
	CHECK(!password_verify("correct horsf", h));
	CHECK(!password_verify("", h));
	/* A fresh salt every time: the same password hashes differently. */
	char *h2 = password_hash("correct horse");
	CHECK(h2 != NULL && strcmp(h, h2) != 0);
	CHECK(password_verify("correct horse", h2));
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
		CHECK(password_verify("migrated pw", h));
		CHECK(!password_verify("migrated pW", h));
		CHECK(!password_verify("migrated pw ", h));
		free(h);
	}
}

TEST(auth_verify_rejects_bad_hashes)
{
	CHECK(!password_verify("x", ""));
	CHECK(!password_verify("x", "!"));
	CHECK(!password_verify("x", "*0"));
	CHECK(!password_verify("x", NULL));
	CHECK(!password_verify("x", "$6$"));
	/* An overlong password is refused, not truncated. */
	char *h = password_hash("short");
	char *longpw = xmalloc(AUTH_MAX_PASSWORD + 2);
	memset(longpw, 'a', AUTH_MAX_PASSWORD + 1);
	longpw[AUTH_MAX_PASSWORD + 1] = '\0';
	CHECK(!password_verify(longpw, h));
	CHECK(password_hash(longpw) == NULL);
	free(longpw);
	free(h);
}

static void throttle_set(int64_t delay, int64_t max, int64_t block_failures, int64_t block_ms)
{
	struct auth_throttle_settings set = {.delay_ms = delay, .delay_max_ms = max,
					     .block_failures = block_failures, .block_ms = block_ms};
	auth_throttle_configure(&set);
	auth_throttle_reset();
}

static int64_t delay_of(const char *ip, const char *user)
{
	struct auth_throttle_state st;
	auth_throttle_query(ip, user, &st);
	return st.delay_ms;
}

static void fail(const char *ip, const char *user)
{
	struct auth_throttle_state st;
	auth_throttle_failed(ip, user, &st);
}

TEST(auth_throttle_doubles_per_network_and_caps)
{
	throttle_set(100, 1000, 0, 0);
	const char *ip = "192.0.2.7";
	CHECK_INT(delay_of(ip, "a@example.com"), 0);
	/* the delay before the check after n failures: 100 * 2^n, capped;
	 * failures against any user of the network count */
	static const int64_t want[] = {200, 400, 800, 1000, 1000, 1000};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		fail(ip, i % 2 ? "a@example.com" : "b@example.com");
		CHECK_INT(delay_of(ip, "c@example.com"), want[i]);
	}
	/* Other addresses are not affected. */
	CHECK_INT(delay_of("192.0.2.8", "a@example.com"), 0);
	auth_throttle_reset();
	CHECK_INT(delay_of(ip, "a@example.com"), 0);
}

TEST(auth_throttle_own_success_clears_only_own_failures)
{
	throttle_set(100, 100000, 0, 0);
	const char *ip = "192.0.2.9";
	/* the interleaving attack: guesses against the victim with a
	 * login to the attacker's own account after every second guess */
	for (int i = 0; i < 4; i++) {
		fail(ip, "victim@example.com");
		auth_throttle_succeeded(ip, "mallory@example.com");
	}
	CHECK_INT(delay_of(ip, "victim@example.com"), 1600);
	CHECK_INT(delay_of(ip, "mallory@example.com"), 1600);
	/* a user's own typos are forgiven when they get it right, and the
	 * failures against the victim still count for the network */
	fail(ip, "mallory@example.com");
	fail(ip, "MALLORY@example.com");
	CHECK_INT(delay_of(ip, "mallory@example.com"), 6400);
	auth_throttle_succeeded(ip, "mallory@example.com");
	CHECK_INT(delay_of(ip, "mallory@example.com"), 1600);
	CHECK_INT(delay_of(ip, "victim@example.com"), 1600);
	/* a success for the victim (the right guess, or the owner) clears the
	 * victim's failures and with them the network's */
	auth_throttle_succeeded(ip, "victim@example.com");
	CHECK_INT(delay_of(ip, "victim@example.com"), 0);
}

TEST(auth_throttle_ipv6_by_64)
{
	throttle_set(100, 100000, 0, 0);
	char net[AUTH_THROTTLE_NET_MAX + 1];
	auth_throttle_net("2001:db8:1:2:aaaa::1", net);
	CHECK_STR(net, "2001:db8:1:2::/64");
	auth_throttle_net("::ffff:192.0.2.1", net);
	CHECK_STR(net, "192.0.2.1");
	fail("2001:db8:1:2::1", "a@example.com");
	fail("2001:db8:1:2:ffff:ffff:ffff:ffff", "a@example.com");
	/* one /64, one record: rotating the interface id gains nothing */
	CHECK_INT(delay_of("2001:db8:1:2::77", "a@example.com"), 400);
	CHECK_INT(delay_of("2001:db8:1:3::1", "a@example.com"), 0);
}

TEST(auth_throttle_blocks_network)
{
	throttle_set(10, 500, 3, 60000);
	const char *ip = "198.51.100.1";
	struct auth_throttle_state st;
	auth_throttle_failed(ip, "a@example.com", &st);
	CHECK(!st.block_started);
	auth_throttle_failed(ip, "b@example.com", &st);
	CHECK(!st.block_started);
	auth_throttle_failed(ip, "c@example.com", &st);
	CHECK(st.block_started);
	CHECK_INT(st.net_failures, 3);
	auth_throttle_query(ip, "d@example.com", &st);
	CHECK(st.blocked_ms > 59000 && st.blocked_ms <= 60000);
	CHECK_INT(st.delay_ms, 500);
	/* a success (impossible while blocked, but) does not lift the block */
	auth_throttle_succeeded(ip, "a@example.com");
	auth_throttle_query(ip, "a@example.com", &st);
	CHECK(st.blocked_ms > 0);
	auth_throttle_query("198.51.100.2", "a@example.com", &st);
	CHECK_INT(st.blocked_ms, 0);
}

TEST(auth_throttle_table_bounded)
{
	/* Far more addresses than the table holds: memory stays fixed, the
	 * newest failure is always remembered. */
	throttle_set(10, 80, 0, 0);
	char ip[64];
	for (int i = 0; i < 40000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		fail(ip, "u@example.com");
		if (delay_of(ip, "u@example.com") != 20) {
			CHECK_INT(delay_of(ip, "u@example.com"), 20);
			break;
		}
	}
	fail(ip, "u@example.com");
	CHECK_INT(delay_of(ip, "u@example.com"), 40);
	auth_throttle_reset();
}

TEST(auth_login_store)
{
	const char *dir = unit_tmpdir();
	char *error = NULL;
	struct store *s = NULL;
	struct store_settings set = {.default_quota_bytes = -1, .default_quota_messages = -1};
	CHECK_INT(store_create(dir, NULL, &error), STORE_OK);
	CHECK_INT(store_open(dir, &set, &s, &error), STORE_OK);
	if (s == NULL)
		return;
	CHECK_INT(store_domain_add(s, "example.com", &error), STORE_OK);
	char *h = password_hash("pw1");
	CHECK_INT(store_account_add(s, "bob@example.com", h, &error), STORE_OK);
	int64_t id = 0;
	CHECK_INT(auth_login(s, "bob@example.com", "pw1", &id), AUTH_OK);
	CHECK(id > 0);
	/* The domain is compared without case. */
	int64_t id2 = 0;
	CHECK_INT(auth_login(s, "bob@EXAMPLE.com", "pw1", &id2), AUTH_OK);
	CHECK_INT(id2, id);
	CHECK_INT(auth_login(s, "bob@example.com", "pw2", &id), AUTH_FAILED);
	CHECK_INT(auth_login(s, "nobody@example.com", "pw1", &id), AUTH_FAILED);
	CHECK_INT(auth_login(s, "not an address", "pw1", &id), AUTH_FAILED);
	CHECK_INT(auth_login(s, "", "", &id), AUTH_FAILED);
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
