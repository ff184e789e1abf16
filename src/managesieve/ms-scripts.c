/*
 * ms-scripts: the script commands (RFC 5804 2.6-2.11). Scripts are
 * compiled before they are stored (PUTSCRIPT, CHECKSCRIPT) and the first
 * error comes back as "line L: message (column C)". Compiling runs on the
 * event loop: a script is at most sieve.max_script_size (64 KiB by
 * default) and the compiler is linear with a node limit, well under a
 * millisecond; writes go through the store's writer (ms_op_submit).
 */
#include "managesieve/ms-private.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "sieve/sieve.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A script name as the store takes it (no NUL inside either). */
static bool name_ok(struct ms_session *s, const struct ms_string *a)
{
	if (a->len == strlen(a->s) && store_sieve_name_valid(a->s))
		return true;
	ms_error(s, "Invalid script name");
	return false;
}

/* 0 when `text` compiles; else -1 after the NO reply. */
static int compile(struct ms_session *s, const struct ms_string *text)
{
	if (text->len > ms_server.set.max_script_size) {
		ms_no(s, "QUOTA/MAXSIZE", "Script too large");
		return -1;
	}
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_script_size = ms_server.set.max_script_size;
	struct sieve_diag diag = {0};
	struct sieve_script *script = sieve_compile(text->s, text->len, &lim, sieve_include_unchecked, NULL, &diag);
	if (script == NULL) {
		char msg[400];
		/* diag.message already reads "line L: ... (column C)" */
		snprintf(msg, sizeof(msg), "%s", diag.message);
		ms_no(s, NULL, msg);
		return -1;
	}
	sieve_script_free(script);
	return 0;
}

static void put_done(struct ms_session *s)
{
	if (s->op.err == STORE_OK)
		ms_ok(s, NULL, "Script stored");
	else if (s->op.err == STORE_ELIMIT)
		ms_no(s, "QUOTA/MAXSCRIPTS", "Too many scripts");
	else
		ms_store_err(s, s->op.err);
}

void ms_cmd_putscript(struct ms_session *s, struct ms_string *a, int n)
{
	if (!name_ok(s, &a[0]) || compile(s, &a[1]) < 0)
		return;
	s->arg1 = a[0].s;
	a[0].s = NULL;
	s->arg2 = a[1].s;
	a[1].s = NULL;
	s->put = (struct store_sieve_put){
		.account_id = s->account_id,
		.name = s->arg1,
		.content = s->arg2,
		.len = a[1].len,
		.max_scripts = (unsigned)ms_server.set.max_scripts,
	};
	store_sieve_put_init(&s->op, &s->put);
	ms_op_submit(s, put_done);
}

void ms_cmd_checkscript(struct ms_session *s, struct ms_string *a, int n)
{
	if (compile(s, &a[0]) == 0)
		ms_ok(s, NULL, "Script is valid");
}

void ms_cmd_listscripts(struct ms_session *s, struct ms_string *a, int n)
{
	struct store_sieve_script *list;
	size_t count;
	enum store_err err = store_sieve_list(ms_server.store, s->account_id, &list, &count);
	if (err != STORE_OK) {
		ms_store_err(s, err);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		ms_write_string(s, list[i].name, strlen(list[i].name));
		conn_puts(s->conn, list[i].active ? " ACTIVE\r\n" : "\r\n");
	}
	store_sieve_list_free(list, count);
	ms_ok(s, NULL, "Listscripts completed");
}

static void name_done(struct ms_session *s)
{
	switch (s->op.err) {
	case STORE_OK:
		ms_ok(s, NULL, "Done");
		break;
	case STORE_ENOTFOUND:
		ms_no(s, "NONEXISTENT", "No such script");
		break;
	case STORE_EEXISTS:
		ms_no(s, "ALREADYEXISTS", "A script of that name exists");
		break;
	case STORE_EINUSE:
		ms_no(s, "ACTIVE", "Deactivate the script first");
		break;
	default:
		ms_store_err(s, s->op.err);
		break;
	}
}

static void name_op(struct ms_session *s, struct ms_string *a, int n,
		    void (*init)(struct store_op *, struct store_sieve_name *))
{
	s->arg1 = a[0].s;
	a[0].s = NULL;
	if (n > 1) {
		s->arg2 = a[1].s;
		a[1].s = NULL;
	}
	s->name = (struct store_sieve_name){
		.account_id = s->account_id,
		.name = *s->arg1 != '\0' ? s->arg1 : NULL,
		.new_name = s->arg2,
	};
	init(&s->op, &s->name);
	ms_op_submit(s, name_done);
}

void ms_cmd_setactive(struct ms_session *s, struct ms_string *a, int n)
{
	/* RFC 5804 2.8: the empty name deactivates every script */
	if (a[0].len != 0 && !name_ok(s, &a[0]))
		return;
	name_op(s, a, n, store_sieve_activate_init);
}

void ms_cmd_deletescript(struct ms_session *s, struct ms_string *a, int n)
{
	if (name_ok(s, &a[0]))
		name_op(s, a, n, store_sieve_delete_init);
}

void ms_cmd_renamescript(struct ms_session *s, struct ms_string *a, int n)
{
	if (name_ok(s, &a[0]) && name_ok(s, &a[1]))
		name_op(s, a, n, store_sieve_rename_init);
}

void ms_cmd_getscript(struct ms_session *s, struct ms_string *a, int n)
{
	if (!name_ok(s, &a[0]))
		return;
	char *text;
	size_t len;
	enum store_err err = store_sieve_get(ms_server.store, s->account_id, a[0].s, &text, &len,
					     NULL);
	if (err == STORE_ENOTFOUND) {
		ms_no(s, "NONEXISTENT", "No such script");
		return;
	}
	if (err != STORE_OK) {
		ms_store_err(s, err);
		return;
	}
	/* RFC 5804 2.9: the script as a literal, then OK */
	conn_printf(s->conn, "{%zu}\r\n", len);
	conn_write(s->conn, text, len);
	conn_puts(s->conn, "\r\n");
	free(text);
	ms_ok(s, NULL, "Getscript completed");
}
