/*
 * imap: the IMAP server (IMAP4rev2, RFC 9051, and IMAP4rev1, RFC 3501).
 *
 * Module layout (src/imap/):
 *   imap.c            imap_start(): settings and listeners
 *   imap-session.c    connection callbacks, command framing, dispatch, replies
 *   imap-parser.c     command syntax: atoms, strings, literals, lists
 *   imap-seqset.c     sequence sets
 *   imap-commands.c   the command table: name, handler, states, flags
 *   cmd-<name>.c      one command each (cmd-noop.c, cmd-fetch.c, ...)
 *   imap-auth.c       login completion shared by LOGIN and AUTHENTICATE
 *   imap-view.c       the selected mailbox as this session sees it
 *   imap-sync.c       untagged EXISTS/EXPUNGE/FETCH from the change feed
 *   imap-fetch*.c     FETCH items and BODY[section] extraction
 *   imap-search.c     SEARCH key grammar and evaluation
 *   imap-flags.c      flag lists
 * Shared code elsewhere: mail/mailbox-name.c (modified UTF-7), mail/sasl.c,
 * auth/auth.c, store/store-imap.c (IMAP-only store reads).
 */
#include "imap/imap.h"
#include "imap/imap-session.h"
#include "lib/config.h"
#include "lib/conn.h"
#include <stddef.h>
#include <stdint.h>

static void on_refused(struct conn *c, enum conn_refusal why)
{
	conn_puts(c, why == CONN_REFUSE_PER_IP ? "* BYE Too many connections from your address\r\n"
					       : "* BYE Server busy, try again later\r\n");
}

static const struct conn_listener_spec imap_spec = {
	.proto = "imap", .handler = &imap_conn_handler, .implicit_tls = false,
	.on_refused = on_refused,
};
static const struct conn_listener_spec imaps_spec = {
	.proto = "imaps", .handler = &imap_conn_handler, .implicit_tls = true,
	.on_refused = on_refused,
};

int imap_start(struct config *cfg, struct store *store, char **error_r)
{
	struct imap_server *srv = &imap_server_settings;
	srv->cfg = cfg;
	srv->store = store;
	srv->max_line = (size_t)config_size(cfg, "imap.max_line_length");
	srv->max_errors = config_int(cfg, "imap.max_errors");
	srv->timeout_ms = config_ms(cfg, "imap.timeout");
	srv->max_message = config_size(cfg, "message.max_size");
	int64_t limit = config_int(cfg, "imap.message_limit");
	srv->message_limit = limit > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
	if (srv->max_line < 1024)
		srv->max_line = 1024;
	static struct conn_listener_spec specs[2];
	specs[0] = imap_spec;
	specs[0].listen = config_str(cfg, "imap.listen");
	specs[1] = imaps_spec;
	specs[1].listen = config_str(cfg, "imaps.listen");
	for (size_t i = 0; i < 2; i++)
		if (conn_listen(&specs[i], error_r) < 0)
			return -1;
	return 0;
}
