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

/* Every limit is named; zero fields of a caller's struct mean "default".
 * Compile limits fail sieve_compile(); run limits (steps, actions,
 * redirects, variables) make sieve_run() return -1 with "implicit keep
 * only". docs/SECURITY.md lists them with the internal constants. */
struct sieve_limits {
	size_t max_script_size;	  /* bytes of source (default 512 KiB) */
	size_t max_nodes;	  /* nodes in the compiled tree (default 100,000) */
	unsigned max_nesting;	  /* block/test nesting depth (default 64) */
	unsigned max_include_depth; /* RFC 6609 (default 5) */
	uint64_t max_steps;	  /* interpreter steps per run (default 1,000,000) */
	unsigned max_actions;	  /* actions per run (default 64) */
	unsigned max_redirects;	  /* redirect actions per run (default 4) */
	size_t max_variable_size; /* RFC 5229 (default 4 KiB): longer values
				   * (set, match variables) are cut on a UTF-8
				   * boundary, as RFC 5229 3 allows; no error */
	unsigned max_variables;	  /* (default 256): one more is a runtime error */
	size_t max_body_scan;	  /* bytes of body a body test reads (default 1 MiB) */
	unsigned max_run_ms;	  /* wall-clock time of one run (default 5,000):
				   * steps bound the work the interpreter
				   * counts, this bounds what it cannot
				   * (a glibc regexec over a long value) */
};
void sieve_limits_default(struct sieve_limits *l);

/* A compile or run error: 1-based line and column of the offending token
 * (0 when the error has no position, e.g. a step limit) and a message.
 * Columns count characters (UTF-8 sequences count one; a tab counts one). */
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
 * filled on error: diag->message reads "line L: text (column C)" (or just
 * the text when there is no position), e.g.
 *   line 3: unknown command "filein" (column 9)
 *   line 1: missing ';' after "keep" (column 5)
 *   line 1: require "foo": extension not supported (column 9)
 *   line 1: "fileinto" used without require "fileinto" (column 1)
 * The line comes first, as Pigeonhole words it, because ManageSieve
 * clients (Roundcube's raw editor) find the line with /line (\d+):/.
 * Includes (RFC 6609) are fetched and compiled here, recursively, through
 * `include`: a missing script is an error unless :optional, a loop or a
 * chain deeper than max_include_depth is an error, and an error inside an
 * included script is reported at the include, followed by its own
 * position. `include` NULL: an include without :optional fails to
 * compile; one with :optional is skipped at run time. */
struct sieve_script *sieve_compile(const char *text, size_t len,
				   const struct sieve_limits *lim,
				   sieve_include_fn *include, void *include_ctx,
				   struct sieve_diag *diag_r);
void sieve_script_free(struct sieve_script *script);
/* An include callback for checks at upload time (ManageSieve PUTSCRIPT
 * and CHECKSCRIPT, `roost sieve check`): every included script counts as
 * an empty one, because it may be uploaded after the script that names
 * it; at delivery a missing one is an error (unless :optional). */
char *sieve_include_unchecked(void *ctx, const char *name, bool global, size_t *len_r);
/* The space-separated list of extensions we support, for ManageSieve's
 * SIEVE capability and the docs:
 *   fileinto reject ereject envelope encoded-character imap4flags copy
 *   variables vacation vacation-seconds relational subaddress body mailbox
 *   mailboxid special-use date index regex editheader spamtest
 *   spamtestplus virustest duplicate include fcc comparator-i;ascii-numeric
 * Comparators: i;ascii-casemap (default), i;octet, and i;ascii-numeric
 * with its require. */
const char *sieve_extensions(void);

/* What the interpreter may ask about the delivery it runs for. */
struct sieve_env {
	const char *msg;	/* the raw RFC 5322 message, CRLF or LF */
	size_t msg_len;
	const char *envelope_from; /* "" for the null sender */
	const char *envelope_to;   /* the recipient as the client gave it */
	const char *user_address;  /* the account's own address (vacation) */
	/* spamtest/virustest (RFC 5235): names of header fields a scanner set
	 * (may be NULL: "not tested", value 0). The field's value must start
	 * with the score as a decimal integer on the test's scale: spamtest
	 * 1..10 (or 0..100 for :percent), virustest 1..5; larger or smaller
	 * numbers are clamped, a value not starting with a digit reads 0. */
	const char *spam_header, *virus_header;
	/* Optional callbacks (NULL: "no" / not available). */
	bool (*mailbox_exists)(void *ctx, const char *mailbox);
	const char *(*special_use_mailbox)(void *ctx, const char *use); /* "\\Junk" -> name */
	/* RFC 7352: true when `id` was seen within `seconds`; records it.
	 * `id` is the :handle (or "") + "\n" + the :uniqueid, the :header
	 * field's value or the Message-ID (no Message-ID: not a duplicate,
	 * no call). Default seconds: 7 days. */
	bool (*duplicate_check)(void *ctx, const char *id, uint64_t seconds, bool last);
	/* RFC 9042 mailboxidexists: true when a mailbox has this MAILBOXID. */
	bool (*mailboxid_exists)(void *ctx, const char *mailboxid);
	void *ctx;
	int64_t now;		/* unix time used by currentdate (date parts in UTC
				 * unless :zone / :originalzone) */
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
	/* VACATION (RFC 5230/6131). sieve_run() adds this action only when
	 * the message may be answered (RFC 3834 2, RFC 5230 4.5-4.6); it
	 * checks: the envelope sender is not null; its local part is not
	 * MAILER-DAEMON, owner-*, *-request, LISTSERV or majordomo; it is not
	 * one of the user's own addresses; there is no Auto-Submitted field
	 * other than "no"; no Precedence bulk, list or junk; no List-Id,
	 * List-Help, List-Subscribe, List-Unsubscribe, List-Post, List-Owner
	 * or List-Archive field; and one of the user's addresses (user_address,
	 * envelope_to, :addresses; compared ignoring case) is in To, Cc, Bcc,
	 * Resent-To or Resent-Cc. The caller still keeps the once per
	 * `handle` + sender per period record and sends the reply.
	 * subject: :subject, else "Auto: " + the original Subject (decoded),
	 * else "Automatic reply". from: :from or NULL (use the user's address).
	 * handle: :handle, else a hash of reason, :subject, :from and :mime.
	 * addresses: the :addresses list only. mailbox/flags/create/
	 * special_use/mailboxid: the RFC 8580 :fcc copy. */
	char *subject, *from, *handle;
	char **addresses;	/* :addresses, NULL-terminated or NULL */
	uint64_t period_seconds; /* :days * 86400 (1..36500 days, default 7) or :seconds */
	bool mime;		/* reason is a MIME entity */
	char *reply_to;		/* address the reply goes to (envelope from) */
};

/* Header edits (RFC 5293 editheader), applied by the caller in order to
 * the stored copy: add (at the top, or at the end with `last`; value is
 * one line, RFC 2047 encoded when it was not ASCII) or delete.
 * A delete with index 0 removes every field named `name` (value NULL);
 * a delete with index N > 0 removes the Nth field named `name` counted
 * from the top of the header as it is after the edits before it (value:
 * that field's unfolded raw value, for logging). Later tests in the
 * script already saw the edited header. Received and Auto-Submitted are
 * never deleted. */
struct sieve_header_edit {
	bool add, last;
	char *name, *value;
	unsigned index;
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
 * to INBOX and logs. Runtime errors also include: reject/ereject together
 * with keep, fileinto, vacation or another reject (RFC 5429 2.1), a second
 * vacation, an invalid redirect address or an empty fileinto mailbox from
 * a variable. Duplicate keep/fileinto (same mailbox) and redirect (same
 * address) merge into one action (RFC 5228 2.10.3). */
int sieve_run(const struct sieve_script *script, const struct sieve_env *env,
	      const struct sieve_limits *lim, struct sieve_result *r,
	      struct sieve_diag *diag_r);
void sieve_result_free(struct sieve_result *r);

/* The message msg[0..len) with `edits` applied in order, as the
 * interpreter applied them to what later tests saw: the fields are split
 * as sieve_run() splits them (the same HEADER_FIELD_SCAN_MAX bytes of
 * header); an added field is "name: value" ending like the message's
 * first line (CRLF or LF); the body is copied unchanged. malloc'd, with
 * *len_r. The caller decides which edits it accepts (RFC 5293 6: trace
 * fields) and passes only those. */
char *sieve_apply_edits(const char *msg, size_t len, const struct sieve_header_edit *edits,
			size_t nedits, size_t *len_r);
#endif
