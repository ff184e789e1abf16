/*
 * fuzz-pop3-sasl: whole POP3 AUTH exchanges (RFC 5034) through the
 * session's pure state machine (pop3/pop3-sasl.h), line by line as
 * lib/conn.c delivers them. A line while no exchange runs is an AUTH
 * command: "<mech>[ <initial response>]" ("=" is an empty one) goes to
 * pop3_sasl_start(); every line during one to pop3_sasl_continue(). Bit 0
 * of the first byte leaves a USER name set beforehand. (POP3 offers PLAIN
 * and LOGIN; SCRAM is submission's and the scram target's.)
 *
 * Invariants: an ERR has a text and ends the exchange, "*" always cancels
 * and forgets the user name; a CHALLENGE keeps it going, "" after PLAIN,
 * "Username:"/"Password:" for LOGIN, with the user name kept before the
 * password; a CHECK ends it with a user and a password that are exactly
 * what the client sent: PLAIN's base64 decodes to authzid NUL user NUL
 * pass with authzid "" or the user, LOGIN's lines decode to the user
 * name and the password, neither empty; no response decodes to more than
 * SASL_MAX_RESPONSE * 3 / 4 bytes. Nothing leaks.
 */
#include "fuzz.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "mail/sasl.h"
#include "pop3/pop3-sasl.h"
#include <strings.h>

#define MAX_DECODED (SASL_MAX_RESPONSE / 4 * 3)

/* The decoded bytes of a base64 response, or NULL. */
static char *decode(const char *b64, size_t len, size_t *n_r)
{
	return base64_decode(b64, len, n_r);
}

static void check_plain(const char *b64, size_t len, const struct pop3_sasl_out *out)
{
	size_t n;
	char *raw = decode(b64, len, &n);
	FUZZ_CHECK(raw != NULL);
	size_t ul = strlen(out->user), pl = strlen(out->pass);
	size_t zl = strnlen(raw, n);
	FUZZ_CHECK(zl < n);
	FUZZ_CHECK(zl == 0 || (zl == ul && memcmp(raw, out->user, ul) == 0));
	FUZZ_CHECK(n == zl + 1 + ul + 1 + pl);
	FUZZ_CHECK(memcmp(raw + zl + 1, out->user, ul) == 0 && raw[zl + 1 + ul] == '\0');
	FUZZ_CHECK(memcmp(raw + zl + 2 + ul, out->pass, pl) == 0);
	free(raw);
}

/* A LOGIN line decodes to exactly `text`. */
static void check_login(const char *b64, size_t len, const char *text)
{
	size_t n;
	char *raw = decode(b64, len, &n);
	FUZZ_CHECK(raw != NULL);
	FUZZ_CHECK(n == strlen(text) && memcmp(raw, text, n) == 0);
	free(raw);
}

static void check_out(const struct pop3_sasl_out *out, enum pop3_sasl_step step,
		      const char *user)
{
	switch (out->action) {
	case POP3_SASL_ACT_NOTHING:
		FUZZ_CHECK(step == POP3_SASL_NONE);
		break;
	case POP3_SASL_ACT_ERR:
		FUZZ_CHECK(step == POP3_SASL_NONE);
		FUZZ_CHECK(out->text != NULL && out->text[0] != '\0');
		FUZZ_CHECK(out->user == NULL && out->pass == NULL);
		break;
	case POP3_SASL_ACT_CHALLENGE:
		FUZZ_CHECK(out->text != NULL && out->user == NULL && out->pass == NULL);
		if (step == POP3_SASL_PLAIN)
			FUZZ_CHECK(strcmp(out->text, "") == 0);
		else if (step == POP3_SASL_LOGIN_USER)
			FUZZ_CHECK(strcmp(out->text, POP3_LOGIN_CHALLENGE_USER) == 0);
		else if (step == POP3_SASL_LOGIN_PASS)
			FUZZ_CHECK(strcmp(out->text, POP3_LOGIN_CHALLENGE_PASS) == 0 && user != NULL);
		else
			FUZZ_CHECK(!"a challenge without an exchange");
		break;
	case POP3_SASL_ACT_CHECK:
		FUZZ_CHECK(step == POP3_SASL_NONE);
		FUZZ_CHECK(out->user != NULL && out->pass != NULL && out->text == NULL);
		FUZZ_CHECK(out->user[0] != '\0' && out->pass[0] != '\0');
		FUZZ_CHECK(strlen(out->user) <= MAX_DECODED && strlen(out->pass) <= MAX_DECODED);
		break;
	}
}

static void release(struct pop3_sasl_out *out)
{
	if (out->pass != NULL)
		wipe(out->pass, strlen(out->pass));
	free(out->user);
	free(out->pass);
	out->user = out->pass = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	enum pop3_sasl_step step = POP3_SASL_NONE;
	char *user = (data[0] & 1) ? xstrdup("from-user-command") : NULL;
	char *mech = NULL;
	size_t pos = 1;
	struct fuzz_line line;
	while (fuzz_next_line(data, size, &pos, &line)) {
		struct pop3_sasl_out out;
		enum pop3_sasl_step was = step;
		if (step == POP3_SASL_NONE) {
			/* AUTH <mech> [<ir>] */
			char *sp = strchr(line.text, ' ');
			const char *ir = NULL;
			if (sp != NULL) {
				*sp = '\0';
				ir = strcmp(sp + 1, "=") == 0 ? "" : sp + 1;
			}
			free(mech);
			mech = xstrdup(line.text);
			pop3_sasl_start(line.text, ir, &step, &user, &out);
			check_out(&out, step, user);
			FUZZ_CHECK(out.action != POP3_SASL_ACT_NOTHING);
			bool plain = strcasecmp(mech, "PLAIN") == 0, login = strcasecmp(mech, "LOGIN") == 0;
			if (!plain && !login)
				FUZZ_CHECK(out.action == POP3_SASL_ACT_ERR && step == POP3_SASL_NONE);
			bool have_ir = ir != NULL && ir[0] != '\0';
			if (out.action == POP3_SASL_ACT_CHECK) {
				FUZZ_CHECK(plain && have_ir);
				check_plain(ir, strlen(ir), &out);
			}
			if (login && out.action == POP3_SASL_ACT_CHALLENGE) {
				FUZZ_CHECK(step == (have_ir ? POP3_SASL_LOGIN_PASS : POP3_SASL_LOGIN_USER));
				if (have_ir)
					check_login(ir, strlen(ir), user);
				else
					FUZZ_CHECK(user == NULL);
			}
			if (plain && !have_ir)
				FUZZ_CHECK(step == POP3_SASL_PLAIN);
		} else {
			pop3_sasl_continue(line.text, line.len, &step, &user, &out);
			check_out(&out, step, user);
			FUZZ_CHECK(out.action != POP3_SASL_ACT_NOTHING);
			if (line.len == 1 && line.text[0] == '*')
				FUZZ_CHECK(out.action == POP3_SASL_ACT_ERR && user == NULL);
			else if (out.action == POP3_SASL_ACT_CHECK && was == POP3_SASL_PLAIN)
				check_plain(line.text, line.len, &out);
			else if (out.action == POP3_SASL_ACT_CHECK)
				check_login(line.text, line.len, out.pass);
			else if (out.action == POP3_SASL_ACT_CHALLENGE)
				FUZZ_CHECK(was == POP3_SASL_LOGIN_USER);
			if (was == POP3_SASL_LOGIN_USER && out.action == POP3_SASL_ACT_CHALLENGE)
				check_login(line.text, line.len, user);
			if (was == POP3_SASL_LOGIN_PASS)
				FUZZ_CHECK(user == NULL);
		}
		release(&out);
		free(line.text);
	}
	/* no exchange: a continuation does nothing */
	if (step == POP3_SASL_NONE) {
		struct pop3_sasl_out out;
		pop3_sasl_continue("x", 1, &step, &user, &out);
		FUZZ_CHECK(out.action == POP3_SASL_ACT_NOTHING && step == POP3_SASL_NONE);
	}
	free(mech);
	if (user != NULL)
		wipe(user, strlen(user));
	free(user);
	return 0;
}
