/* imap-metadata: see imap-metadata.h. */
#include "imap/imap-metadata.h"
#include "imap/imap-session.h"
#include "lib/alloc.h"
#include "mail/imap-quote.h"
#include "store/store-metadata.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int imap_metadata_entry_parse(const char *s, size_t len, bool root_ok, char **name_r,
			      const char **error_r)
{
	*name_r = NULL;
	if (len == 0 || len > STORE_METADATA_MAX_NAME) {
		*error_r = "Entry name empty or too long";
		return -1;
	}
	size_t root;
	if (len >= 8 && strncasecmp(s, "/private", 8) == 0)
		root = 8;
	else if (len >= 7 && strncasecmp(s, "/shared", 7) == 0)
		root = 7;
	else {
		*error_r = "Entry names begin with /private or /shared";
		return -1;
	}
	if (len == root && !root_ok) {
		*error_r = "Entry name needs a component after its /private or /shared";
		return -1;
	}
	if (len > root && s[root] != '/') {
		*error_r = "Entry names begin with /private or /shared";
		return -1;
	}
	for (size_t i = root; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '*' || c == '%') {
			*error_r = "Entry names are printable ASCII without * and %";
			return -1;
		}
		if (c == '/' && (i + 1 == len || s[i + 1] == '/')) {
			*error_r = "Entry name has an empty component";
			return -1;
		}
	}
	char *name = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	name[len] = '\0';
	*name_r = name;
	return 0;
}

int imap_metadata_mailbox(struct imap_session *s, const struct imap_arg *arg,
			  int64_t *mailbox_id_r, char **name_r, bool *subscribed_r,
			  enum store_err *err_r, const char **error_r)
{
	*mailbox_id_r = 0;
	*subscribed_r = false;
	*name_r = NULL;
	*err_r = STORE_OK;
	if (!imap_arg_is_astring(arg)) {
		*error_r = "Expected a mailbox name";
		return -1;
	}
	if (arg->type != IMAP_ARG_ATOM && arg->len == 0)
		return 0; /* "": server entries (RFC 5464 3.1) */
	char *name;
	if (imap_mailbox_from_wire(s, arg, &name, error_r) < 0)
		return -1;
	struct store_mailbox mb;
	*err_r = store_mailbox_get(s->srv->store, s->account_id, name, &mb);
	if (*err_r != STORE_OK) {
		free(name);
		return 0;
	}
	*mailbox_id_r = mb.id;
	*subscribed_r = mb.subscribed;
	store_mailbox_clear(&mb);
	*name_r = name;
	return 0;
}

void imap_metadata_response_start(struct imap_session *s, struct buf *b, const char *name)
{
	buf_puts(b, "* METADATA ");
	if (name == NULL) {
		buf_puts(b, "\"\"");
	} else {
		char *wire = imap_mailbox_to_wire(s, name);
		imap_session_buf_string(s, b, wire, strlen(wire));
		free(wire);
	}
	buf_puts(b, " (");
}

void imap_metadata_entry_name(struct buf *b, const char *name)
{
	/* as the RFC's examples show them: an atom (ASTRING-CHAR) when it can be */
	for (const char *p = name; *p != '\0'; p++)
		if (strchr("(){\"\\", *p) != NULL) {
			imap_quote_string(b, name, strlen(name));
			return;
		}
	buf_puts(b, name);
}

void imap_metadata_value(struct buf *b, const char *value, size_t len)
{
	if (value == NULL) {
		buf_puts(b, "NIL");
		return;
	}
	if (memchr(value, '\0', len) != NULL) {
		buf_printf(b, "~{%zu}\r\n", len);
		buf_append(b, value, len);
		return;
	}
	imap_quote_string(b, value, len);
}
