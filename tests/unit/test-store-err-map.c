/*
 * test-store-err-map: the one mapper per protocol from a store error to
 * the answer (smtp-store-err.c, imap-op.c, pop3-store-err.c), as a table
 * over every enum store_err: a temporary store failure is never a
 * permanent answer, and only STORE_ENOTFOUND says "no such ...".
 */
#include "unit.h"
#include "imap/imap-op.h"
#include "pop3/pop3-private.h"
#include "smtp/smtp-session.h"
#include <string.h>

static const struct {
	enum store_err err;
	const char *smtp_rcpt, *smtp_data; /* code at RCPT and at end of data */
	const char *imap, *pop3;
} map[] = {
	{STORE_OK, "250 2.1.5", "250 2.0.0", "", ""},
	{STORE_ETEMP, "451 4.3.0", "451 4.3.0", "[UNAVAILABLE] ", "[SYS/TEMP] "},
	{STORE_ENOTFOUND, "550 5.1.1", "550 5.1.1", "[NONEXISTENT] ", "[SYS/PERM] "},
	{STORE_EEXISTS, "451 4.3.0", "451 4.3.0", "[ALREADYEXISTS] ", "[SYS/PERM] "},
	{STORE_EPERM, "554 5.7.1", "554 5.7.1", "[CANNOT] ", "[SYS/PERM] "},
	{STORE_ENOQUOTA, "552 5.2.2", "552 5.2.2", "[OVERQUOTA] ", "[SYS/PERM] "},
	{STORE_EEXPUNGED, "451 4.3.0", "451 4.3.0", "[EXPUNGEISSUED] ", "[SYS/PERM] "},
	{STORE_EINUSE, "451 4.3.0", "451 4.3.0", "[INUSE] ", "[IN-USE] "},
	{STORE_ELIMIT, "552 5.3.4", "552 5.3.4", "[LIMIT] ", "[SYS/PERM] "},
	{STORE_ENOSPACE, "452 4.3.1", "452 4.3.1", "[UNAVAILABLE] ", "[SYS/TEMP] "},
	{STORE_EINVAL, "501 5.1.3", "501 5.1.3", "[CANNOT] ", "[SYS/PERM] "},
	{STORE_ECORRUPT, "451 4.3.0", "451 4.3.0", "[SERVERBUG] ", "[SYS/PERM] "},
};

TEST(store_err_map_every_error_once)
{
	struct smtp_server srv = {.overquota_temp = false};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct smtp_store_reply r;
		smtp_store_reply(&srv, map[i].err, SMTP_AT_RCPT, &r);
		CHECK_STR(r.code, map[i].smtp_rcpt);
		CHECK(r.text != NULL && *r.text != '\0');
		smtp_store_reply(&srv, map[i].err, SMTP_AT_DATA, &r);
		CHECK_STR(r.code, map[i].smtp_data);
		CHECK_STR(imap_store_err_code(map[i].err), map[i].imap);
		CHECK_STR(pop3_store_err_code(map[i].err), map[i].pop3);
	}
}

TEST(store_err_map_temporary_is_never_permanent)
{
	static const enum store_err temporary[] = {STORE_ETEMP, STORE_EINUSE, STORE_ENOSPACE};
	struct smtp_server srv = {.overquota_temp = false};
	for (size_t i = 0; i < 3; i++) {
		struct smtp_store_reply r;
		smtp_store_reply(&srv, temporary[i], SMTP_AT_RCPT, &r);
		CHECK(r.code[0] == '4');
		smtp_store_reply(&srv, temporary[i], SMTP_AT_DATA, &r);
		CHECK(r.code[0] == '4');
		CHECK(strstr(imap_store_err_code(temporary[i]), "NONEXISTENT") == NULL);
		CHECK(strstr(pop3_store_err_code(temporary[i]), "PERM") == NULL);
	}
	/* quota.overquota = temporary turns the quota answer into 452 */
	srv.overquota_temp = true;
	struct smtp_store_reply r;
	smtp_store_reply(&srv, STORE_ENOQUOTA, SMTP_AT_RCPT, &r);
	CHECK_STR(r.code, "452 4.2.2");
}
