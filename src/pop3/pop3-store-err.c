/*
 * pop3-store-err: the one place a store error becomes a POP3 response
 * code (RFC 3206 section 4 and 5; RFC 2449 8: IN-USE): a temporary
 * failure of the store is [SYS/TEMP] (the client tries again later, and
 * keeps its messages), a lock held elsewhere is [IN-USE], anything that
 * will not go away by itself is [SYS/PERM].
 */
#include "pop3/pop3-private.h"

const char *pop3_store_err_code(enum store_err err)
{
	switch (err) {
	case STORE_OK:
		return "";
	case STORE_EINUSE:
		return "[IN-USE] ";
	case STORE_ETEMP:
	case STORE_ENOSPACE:
		return "[SYS/TEMP] ";
	default:
		/* ENOTFOUND, ECORRUPT, EPERM, ...: retrying will not help */
		return "[SYS/PERM] ";
	}
}

void pop3_store_err(struct pop3_session *s, enum store_err err, const char *text)
{
	pop3_err_nocount(s, "%s%s", pop3_store_err_code(err), text);
}
