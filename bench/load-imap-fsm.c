/*
 * load-imap-fsm: the IMAP state-machine stress of roost-load.
 *
 *   imap-fsm        -c N sessions, several per account (-a K accounts),
 *                   log in once and run commands drawn at random from
 *                   LIST, STATUS, SELECT, FETCH, STORE, EXPUNGE, APPEND
 *                   (FETCH, STORE and EXPUNGE only once a mailbox is
 *                   selected) until -n commands have run in all.
 *   imap-fsm-login  the same, but each session logs out after 3 to 12
 *                   commands and a new connection logs in: LOGIN and
 *                   LOGOUT are then a good share of the load, as with
 *                   phones and webmail that connect per action.
 *
 * Prints one line per command (count, commands/s over the run, mean and
 * max latency) on stderr, then roost-load's summary over all commands.
 * A command whose tagged reply is not OK counts as an error.
 */
#include "load.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define FSM_MAX_SESSIONS 10000
#define FSM_CMDS_MIN 3		/* per session in imap-fsm-login */
#define FSM_CMDS_SPREAD 10

enum fsm_cmd { C_LOGIN, C_LIST, C_STATUS, C_SELECT, C_FETCH, C_STORE, C_EXPUNGE, C_APPEND,
	       C_LOGOUT, C_COUNT };
static const char *const cmd_names[C_COUNT] = {"LOGIN", "LIST", "STATUS", "SELECT", "FETCH",
					       "STORE", "EXPUNGE", "APPEND", "LOGOUT"};
/* out of 100, the commands a session may choose (LOGIN/LOGOUT are not chosen) */
static const int cmd_weight[C_COUNT] = {0, 10, 10, 10, 30, 15, 5, 20, 0};

struct fsm_client {
	int fd, id, account;
	bool greeted, logged_in, selected, closing;
	int left;		/* commands before LOGOUT (login mode) */
	long exists;
	unsigned tagn;
	enum fsm_cmd cmd;
	int64_t t0;
	struct load_imap_reader rd;
};

struct fsm_stats {
	long count;
	int64_t total_us, max_us;
};

static const struct load_opts *opts;
static bool login_mode;
static long started, finished;
static struct fsm_stats stats[C_COUNT];
static int ep;
static int live;
static unsigned rnd_state = 4711;

static unsigned rnd(void)
{
	return load_rand(&rnd_state);
}

#define fsm_send(c, ...) load_sendf((c)->fd, (c)->id, __VA_ARGS__)

static void fsm_issue(struct fsm_client *c, enum fsm_cmd cmd)
{
	c->cmd = cmd;
	c->tagn++;
	c->t0 = load_now_us();
	started++;
	long seq = c->exists > 0 ? (long)(rnd() % (unsigned)c->exists) + 1 : 1;
	switch (cmd) {
	case C_LOGIN:
		fsm_send(c, "t%u LOGIN %s%d@%s %s\r\n", c->tagn, opts->user, c->account, opts->domain,
			 opts->password);
		break;
	case C_LIST: fsm_send(c, "t%u LIST \"\" \"*\"\r\n", c->tagn); break;
	case C_STATUS:
		fsm_send(c, "t%u STATUS INBOX (MESSAGES UIDNEXT UNSEEN)\r\n", c->tagn);
		break;
	case C_SELECT: fsm_send(c, "t%u SELECT INBOX\r\n", c->tagn); break;
	case C_FETCH: {
		long last = seq + 9 < c->exists ? seq + 9 : c->exists;
		fsm_send(c, "t%u FETCH %ld:%ld (UID FLAGS RFC822.SIZE ENVELOPE)\r\n", c->tagn, seq,
			 last < seq ? seq : last);
		break;
	}
	case C_STORE:
		/* one in four deletes, so EXPUNGE has work */
		fsm_send(c, "t%u STORE %ld +FLAGS (%s)\r\n", c->tagn, seq,
			 rnd() % 4 == 0 ? "\\Deleted" : "\\Seen");
		break;
	case C_EXPUNGE: fsm_send(c, "t%u EXPUNGE\r\n", c->tagn); break;
	case C_APPEND: {
		char msg[512];
		int n = snprintf(msg, sizeof(msg),
				 "From: fsm@example.org\r\nSubject: fsm %ld\r\n"
				 "Message-ID: <fsm.%ld.%d@load>\r\n\r\nappended by roost-load\r\n",
				 started, started, c->id);
		fsm_send(c, "t%u APPEND INBOX {%d+}\r\n%s\r\n", c->tagn, n, msg);
		break;
	}
	case C_LOGOUT:
		c->closing = true;
		fsm_send(c, "t%u LOGOUT\r\n", c->tagn);
		break;
	case C_COUNT: break;
	}
}

static enum fsm_cmd fsm_choose(const struct fsm_client *c)
{
	int w = (int)(rnd() % 100);
	enum fsm_cmd cmd = C_LIST;
	for (int i = 0, acc = 0; i < C_COUNT; i++) {
		acc += cmd_weight[i];
		if (w < acc) {
			cmd = (enum fsm_cmd)i;
			break;
		}
	}
	bool needs_mailbox = cmd == C_FETCH || cmd == C_STORE || cmd == C_EXPUNGE;
	if (needs_mailbox && !c->selected)
		return C_SELECT;
	if ((cmd == C_FETCH || cmd == C_STORE) && c->exists == 0)
		return C_APPEND;
	return cmd;
}

/* The next command, or LOGOUT when the session (or the run) is done. */
static void fsm_next(struct fsm_client *c)
{
	if (started >= opts->messages || (login_mode && c->left-- <= 0)) {
		fsm_issue(c, C_LOGOUT);
		return;
	}
	fsm_issue(c, fsm_choose(c));
}

static int fsm_connect(struct fsm_client *c)
{
	c->fd = load_connect(opts);
	if (c->fd < 0 || load_connected_blocking(c->fd) < 0) {
		load_error("session %d: connect failed", c->id);
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->greeted = c->logged_in = c->selected = c->closing = false;
	c->exists = 0;
	c->rd.inlen = c->rd.literal = 0;
	c->left = FSM_CMDS_MIN + (int)(rnd() % FSM_CMDS_SPREAD);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	live++;
	return 0;
}

static void fsm_close(struct fsm_client *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	live--;
}

static void fsm_tagged(struct fsm_client *c, const char *line, size_t len)
{
	int64_t dt = load_now_us() - c->t0;
	const char *sp = strchr(line, ' ');
	finished++;
	if (sp == NULL || strncmp(sp + 1, "OK", 2) != 0) {
		load_error("session %d: %s: %.*s", c->id, cmd_names[c->cmd], (int)len, line);
	} else {
		load_record(dt);
		struct fsm_stats *st = &stats[c->cmd];
		st->count++;
		st->total_us += dt;
		if (dt > st->max_us)
			st->max_us = dt;
	}
	switch (c->cmd) {
	case C_LOGIN: c->logged_in = sp != NULL && strncmp(sp + 1, "OK", 2) == 0; break;
	case C_SELECT: c->selected = true; break;
	case C_LOGOUT: return; /* the server closes; fsm_run reconnects */
	default: break;
	}
	if (!c->logged_in) {
		fsm_issue(c, C_LOGOUT);
		return;
	}
	fsm_next(c);
}

static void fsm_line(void *ctx, char *line, size_t len)
{
	struct fsm_client *c = ctx;
	if (line[0] == '*') {
		if (!c->greeted) {
			c->greeted = true;
			fsm_issue(c, C_LOGIN);
			return;
		}
		long n;
		char word[16];
		if (sscanf(line, "* %ld %15s", &n, word) == 2) {
			if (strcmp(word, "EXISTS") == 0)
				c->exists = n;
			else if (strcmp(word, "EXPUNGE") == 0 && c->exists > 0)
				c->exists--;
		}
		return;
	}
	if (line[0] == 't')
		fsm_tagged(c, line, len);
}

static int fsm_run(const struct load_opts *o, bool per_session_login)
{
	opts = o;
	login_mode = per_session_login;
	if (o->sessions > FSM_MAX_SESSIONS)
		return -1;
	ep = epoll_create1(0);
	struct fsm_client *cs = calloc((size_t)o->sessions, sizeof(*cs));
	if (ep < 0 || cs == NULL)
		return -1;
	for (int i = 0; i < o->sessions; i++) {
		cs[i].id = i;
		cs[i].account = i % o->accounts;
		fsm_connect(&cs[i]);
	}
	int64_t t0 = load_now_us();
	struct epoll_event evs[256];
	while (live > 0) {
		int n = epoll_wait(ep, evs, 256, 30000);
		if (n == 0) {
			load_error("timeout: %d sessions stuck", live);
			break;
		}
		for (int i = 0; i < n; i++) {
			struct fsm_client *c = evs[i].data.ptr;
			if (load_imap_read(&c->rd, c->fd, fsm_line, c) == 0)
				continue;
			bool expected = c->closing;
			if (!expected)
				load_error("session %d: connection closed", c->id);
			fsm_close(c);
			if (expected && started < o->messages)
				fsm_connect(c);
		}
	}
	double secs = (double)(load_now_us() - t0) / 1e6;
	fprintf(stderr, "  %-8s %8s %10s %9s %9s\n", "command", "count", "per s", "mean ms", "max ms");
	for (int i = 0; i < C_COUNT; i++)
		if (stats[i].count > 0)
			fprintf(stderr, "  %-8s %8ld %10.1f %9.2f %9.2f\n", cmd_names[i], stats[i].count,
				secs > 0 ? (double)stats[i].count / secs : 0.0,
				(double)stats[i].total_us / (double)stats[i].count / 1000.0,
				(double)stats[i].max_us / 1000.0);
	for (int i = 0; i < o->sessions; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	close(ep);
	free(cs);
	return 0;
}

static int run_fsm(const struct load_opts *o)
{
	return fsm_run(o, false);
}

static int run_fsm_login(const struct load_opts *o)
{
	return fsm_run(o, true);
}

LOAD_MODE(mode_fsm) = {
	.name = "imap-fsm",
	.help = "IMAP state-machine stress, logged in throughout (per-command rates)",
	.default_port = 143,
	.run = run_fsm,
};

LOAD_MODE(mode_fsm_login) = {
	.name = "imap-fsm-login",
	.help = "IMAP state-machine stress, a LOGIN per 3-12 commands",
	.default_port = 143,
	.run = run_fsm_login,
};
