/*
 * ms-commands: the command table (RFC 5804 2) and the small commands:
 * CAPABILITY, STARTTLS, NOOP, LOGOUT, HAVESPACE.
 */
#include "managesieve/ms-private.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "sieve/sieve.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const struct ms_command commands[] = {
	/* name, min, max args, after login, before login */
	{"CAPABILITY", 0, 0, true, true, ms_cmd_capability},
	{"STARTTLS", 0, 0, false, true, ms_cmd_starttls},
	{"AUTHENTICATE", 1, 2, false, true, ms_cmd_authenticate},
	{"NOOP", 0, 1, true, true, ms_cmd_noop},
	{"LOGOUT", 0, 0, true, true, ms_cmd_logout},
	{"UNAUTHENTICATE", 0, 0, true, false, ms_cmd_unauthenticate},
	{"HAVESPACE", 2, 2, true, false, ms_cmd_havespace},
	{"PUTSCRIPT", 2, 2, true, false, ms_cmd_putscript},
	{"CHECKSCRIPT", 1, 1, true, false, ms_cmd_checkscript},
	{"LISTSCRIPTS", 0, 0, true, false, ms_cmd_listscripts},
	{"SETACTIVE", 1, 1, true, false, ms_cmd_setactive},
	{"GETSCRIPT", 1, 1, true, false, ms_cmd_getscript},
	{"DELETESCRIPT", 1, 1, true, false, ms_cmd_deletescript},
	{"RENAMESCRIPT", 2, 2, true, false, ms_cmd_renamescript},
};

const struct ms_command *ms_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void cap(struct ms_session *s, const char *name, const char *value)
{
	ms_write_string(s, name, strlen(name));
	if (value != NULL) {
		conn_puts(s->conn, " ");
		ms_write_string(s, value, strlen(value));
	}
	conn_puts(s->conn, "\r\n");
}

void ms_send_capabilities(struct ms_session *s)
{
	char n[32];
	cap(s, "IMPLEMENTATION", "Roost");
	cap(s, "SASL", s->authed ? "" : "PLAIN SCRAM-SHA-256");
	cap(s, "SIEVE", sieve_extensions());
	if (!s->authed && !conn_tls_active(s->conn) && conn_tls_available(s->conn))
		cap(s, "STARTTLS", NULL);
	snprintf(n, sizeof(n), "%u", ms_server.set.max_redirects);
	cap(s, "MAXREDIRECTS", n);
	if (s->authed && s->user != NULL)
		cap(s, "OWNER", s->user);
	cap(s, "VERSION", "1.0");
}

void ms_cmd_capability(struct ms_session *s, struct ms_string *a, int n)
{
	ms_send_capabilities(s);
	ms_ok(s, NULL, "Capability completed");
}

void ms_cmd_starttls(struct ms_session *s, struct ms_string *a, int n)
{
	if (conn_tls_active(s->conn) || !conn_tls_available(s->conn)) {
		ms_error(s, "TLS is not available");
		return;
	}
	ms_ok(s, NULL, "Begin TLS negotiation now");
	if (conn_starttls(s->conn) < 0) {
		conn_log(s->conn, LOG_WARN, "STARTTLS failed to start");
		conn_close(s->conn);
	}
}

void ms_cmd_noop(struct ms_session *s, struct ms_string *a, int n)
{
	if (n == 0) {
		ms_ok(s, NULL, "Done");
		return;
	}
	/* RFC 5804 2.12: the tag comes back in a TAG response code */
	conn_puts(s->conn, "OK (TAG ");
	ms_write_string(s, a[0].s, a[0].len);
	conn_puts(s->conn, ") \"Done\"\r\n");
}

void ms_cmd_logout(struct ms_session *s, struct ms_string *a, int n)
{
	ms_ok(s, NULL, "Logout completed");
	conn_close(s->conn);
}

/* A non-negative decimal number (RFC 5804 4: number = 1*DIGIT, < 2^32). */
static int parse_number(const struct ms_string *a, uint64_t *n_r)
{
	uint64_t n = 0;
	if (a->len == 0 || a->len > 10)
		return -1;
	for (size_t i = 0; i < a->len; i++) {
		if (a->s[i] < '0' || a->s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(a->s[i] - '0');
	}
	if (n > UINT32_MAX)
		return -1;
	*n_r = n;
	return 0;
}

void ms_cmd_havespace(struct ms_session *s, struct ms_string *a, int n)
{
	uint64_t size;
	if (!store_sieve_name_valid(a[0].s) || a[0].len != strlen(a[0].s)) {
		ms_error(s, "Invalid script name");
		return;
	}
	if (parse_number(&a[1], &size) < 0) {
		ms_error(s, "Invalid size");
		return;
	}
	if (size > ms_server.set.max_script_size) {
		ms_no(s, "QUOTA/MAXSIZE", "Script too large");
		return;
	}
	ms_ok(s, NULL, "Putscript would succeed");
}
