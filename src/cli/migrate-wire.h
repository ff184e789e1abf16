/*
 * migrate-wire: the response framing and tokenising of `roost migrate`'s
 * IMAP client (cmd-migrate.c), exposed so tests/fuzz/fuzz-migrate.c can
 * drive it with hostile server bytes.
 */
#ifndef ROOST_MIGRATE_WIRE_H
#define ROOST_MIGRATE_WIRE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct migrate_wire_stats {
	size_t responses;	/* responses framed */
	size_t tokens;		/* strings, atoms and literals seen in them */
	size_t folders;		/* LIST responses taken as mailboxes */
	size_t messages;	/* FETCH responses taken into a listing */
};

/* Read responses from fd until EOF or a broken limit, each framed as a
 * server's response (line, literals of at most max_literal bytes),
 * tokenised, and fed to the LIST and FETCH (listing) handlers; messages
 * about skipped names go to err. 0 at EOF, -1 when a limit ended it
 * (*error_r, malloc'd, says which). */
int migrate_wire_drain(int fd, int64_t max_literal, FILE *err, struct migrate_wire_stats *st,
		       char **error_r);
#endif
