/*
 * sieve: the Sieve mail filtering language (RFC 5228 and extensions),
 * compiled once into a checked tree and run per delivery with explicit
 * limits. This header is the whole interface the rest of Roost sees:
 * ManageSieve and `roost sieve check` call sieve_compile() for
 * line-accurate errors; delivery calls sieve_run() and carries out the
 * returned actions itself (the interpreter never touches the store, the
 * queue or the network). Pure computation: safe on any thread, no globals.
 */
#ifndef ROOST_SIEVE_H
#define ROOST_SIEVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every limit is named; zero fields of a caller's struct mean "default". */
struct sieve_limits {
	size_t max_script_size;	  /* bytes of source (default 512 KiB) */
	size_t max_nodes;	  /* nodes in the compiled tree (default 100,000) */
	unsigned max_nesting;	  /* block/test nesting depth (default 64) */
	unsigned max_include_depth; /* RFC 6609 (default 5) */
	uint64_t max_steps;	  /* interpreter steps per run (default 1,000,000) */
	unsigned max_actions;	  /* actions per run (default 64) */
	unsigned max_redirects;	  /* redirect actions per run (default 4) */
	size_t max_variable_size; /* RFC 5229 (default 4 KiB) */
	unsigned max_variables;	  /* (default 256) */
	size_t max_body_scan;	  /* bytes of body a body test reads (default 1 MiB) */
};
void sieve_limits_default(struct sieve_limits *l);

/* A compile or run error: 1-based line and column of the offending token
 * (0 when the error has no position, e.g. a step limit) and a message. */
struct sieve_diag {
	unsigned line, column;
	char message[256];
};

struct sieve_script;	/* compiled, immutable, shareable between threads */

/* Script source from an include (RFC 6609): returns malloc'd text or NULL
 * when there is no such script. `global` is :global vs :personal. */
typedef char *sieve_include_fn(void *ctx, const char *name, bool global, size_t *len_r);

/* Parse and check `text` (the extensions it `require`s must be ones we
 * support; every command's arguments are type-checked). NULL with *diag_r
 * filled on error. `include` may be NULL (include then fails to compile
 * when used... only at run time for :optional). */
struct sieve_script *sieve_compile(const char *text, size_t len,
				   const struct sieve_limits *lim,
				   sieve_include_fn *include, void *include_ctx,
				   struct sieve_diag *diag_r);
void sieve_script_free(struct sieve_script *script);
/* The space-separated list of extensions we support, for ManageSieve's
 * SIEVE capability and the docs. */
const char *sieve_extensions(void);

/* What the interpreter may ask about the delivery it runs for. */
struct sieve_env {
	const char *msg;	/* the raw RFC 5322 message, CRLF or LF */
	size_t msg_len;
	const char *envelope_from; /* "" for the null sender */
	const char *envelope_to;   /* the recipient as the client gave it */
	const char *user_address;  /* the account's own address (vacation) */
	/* spamtest/virustest: header names a scanner set (may be NULL) */
	const char *spam_header, *virus_header;
	/* Optional callbacks (NULL: "no" / not available). */
	bool (*mailbox_exists)(void *ctx, const char *mailbox);
	const char *(*special_use_mailbox)(void *ctx, const char *use); /* "\\Junk" -> name */
	/* RFC 7352: true when `id` was seen within `seconds`; records it. */
	bool (*duplicate_check)(void *ctx, const char *id, uint64_t seconds, bool last);
	/* RFC 9042 mailboxidexists: true when a mailbox has this MAILBOXID. */
	bool (*mailboxid_exists)(void *ctx, const char *mailboxid);
	void *ctx;
	int64_t now;		/* unix time used by date/currentdate, vacation */
};

enum sieve_action_type {
	SIEVE_ACT_KEEP,		/* store in INBOX (or :flags) */
	SIEVE_ACT_FILEINTO,	/* store in `mailbox` */
	SIEVE_ACT_REDIRECT,	/* resend to `address` */
	SIEVE_ACT_REJECT,	/* refuse with `reason` (RFC 5429 reject) */
	SIEVE_ACT_EREJECT,	/* refuse at SMTP level when possible */
	SIEVE_ACT_VACATION,	/* auto-reply, see the vacation fields */
	SIEVE_ACT_DISCARD,	/* explicit discard (cancels implicit keep) */
};

struct sieve_action {
	enum sieve_action_type type;
	char *mailbox;		/* FILEINTO; fcc mailbox for VACATION (or NULL) */
	bool create;		/* FILEINTO :create (RFC 5490) */
	bool copy;		/* :copy (RFC 3894): does not cancel implicit keep */
	char **flags;		/* KEEP/FILEINTO: IMAP flags (RFC 5232), NULL-terminated or NULL */
	char *mailboxid;	/* FILEINTO :mailboxid (RFC 9042) or NULL */
	char *special_use;	/* FILEINTO :specialuse (RFC 8579) or NULL */
	char *address;		/* REDIRECT target */
	char *reason;		/* REJECT/EREJECT text; VACATION body */
	/* VACATION (RFC 5230/6131) */
	char *subject, *from, *handle;
	char **addresses;	/* :addresses, NULL-terminated or NULL */
	uint64_t period_seconds; /* :days * 86400 or :seconds */
	bool mime;		/* reason is a MIME entity */
	char *reply_to;		/* address the reply goes to (envelope from) */
};

/* Header edits (RFC 5293 editheader), applied by the caller in order to
 * the stored copy: add (at top or :last) or delete by name [+ value]. */
struct sieve_header_edit {
	bool add, last;
	char *name, *value;	/* value NULL on delete = delete every `name` */
	unsigned index;		/* delete :index (0 = all) */
};

struct sieve_result {
	struct sieve_action *actions;
	size_t nactions;
	bool implicit_keep;	/* true unless cancelled (RFC 5228 2.10.2) */
	char **keep_flags;	/* flags for the implicit keep (imap4flags), or NULL */
	struct sieve_header_edit *edits;
	size_t nedits;
};

/* Run `script` for one delivery. Returns 0 with *r filled; -1 on a
 * runtime error (limit, bad regex at run time, include failure) with
 * *diag_r filled and *r reset to "implicit keep only": the caller files
 * to INBOX and logs. */
int sieve_run(const struct sieve_script *script, const struct sieve_env *env,
	      const struct sieve_limits *lim, struct sieve_result *r,
	      struct sieve_diag *diag_r);
void sieve_result_free(struct sieve_result *r);
#endif
