/*
 * cmd-queue: `roost queue list|show|retry|hold|release|delete|bounce`,
 * the outbound queue (store/store-queue.h). While the daemon runs these
 * go through the control socket; every change wakes the scheduler
 * (store_queue_set_notify), so `retry` and `release` act at once.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "store/store-queue.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *state_name(const struct store_queue_msg *m)
{
	switch (m->state) {
	case STORE_QUEUE_HELD: return "held";
	case STORE_QUEUE_BOUNCE: return "bouncing";
	default: return "active";
	}
}

static const char *status_name(enum store_queue_status st)
{
	switch (st) {
	case STORE_QUEUE_SENT: return "delivered";
	case STORE_QUEUE_FAILED: return "failed";
	default: return "pending";
	}
}

static void fmt_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "-");
}

/* The earliest next attempt and the newest reply among pending rcpts. */
static void summary(const struct store_queue_msg *m, int64_t *next_r, const char **err_r)
{
	*next_r = 0;
	*err_r = NULL;
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct store_queue_entry *e = &m->rcpts[i];
		if (e->status != STORE_QUEUE_PENDING)
			continue;
		if (*next_r == 0 || e->next_attempt < *next_r)
			*next_r = e->next_attempt;
		if (e->last_reply != NULL)
			*err_r = e->last_reply;
	}
}

static int parse_id(struct cli *cli, const char *arg, bool allow_all, int64_t *id_r)
{
	if (allow_all && strcmp(arg, "all") == 0) {
		*id_r = 0;
		return 0;
	}
	char *end;
	long long v = strtoll(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || v <= 0)
		return cli_fail(cli, CLI_EX_USAGE, "%.64s: not a queue id%s", arg,
				allow_all ? " (or all)" : "");
	*id_r = v;
	return 0;
}

/* RFC 3461 NOTIFY bits as written: "never", "success,failure,delay", or
 * "default" (not given). */
static void notify_names(unsigned bits, char *out, size_t n)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{STORE_QUEUE_NOTIFY_NEVER, "never"}, {STORE_QUEUE_NOTIFY_SUCCESS, "success"},
		     {STORE_QUEUE_NOTIFY_FAILURE, "failure"}, {STORE_QUEUE_NOTIFY_DELAY, "delay"}};
	snprintf(out, n, "%s", bits == 0 ? "default" : "");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & names[i].bit) {
			size_t l = strlen(out);
			snprintf(out + l, n - l, "%s%s", l > 0 ? "," : "", names[i].name);
		}
}

/* id <tab> sender <tab> recipients <tab> state <tab> next attempt <tab> last error */
int cmd_queue_list(struct cli *cli, int argc, char **argv)
{
	struct store_queue_msg *list;
	size_t n;
	enum store_err err = store_queue_list(cli->store, &list, &n);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, "queue list");
	for (size_t i = 0; i < n; i++) {
		const struct store_queue_msg *m = &list[i];
		fprintf(cli->out, "%" PRId64 "\t<%s>\t", m->id, m->return_path);
		bool first = true;
		for (size_t j = 0; j < m->nrcpts; j++) {
			if (m->rcpts[j].status != STORE_QUEUE_PENDING)
				continue;
			fprintf(cli->out, "%s%s", first ? "" : ",", m->rcpts[j].address);
			first = false;
		}
		int64_t next;
		const char *last;
		summary(m, &next, &last);
		char when[32];
		fmt_time(next, when, sizeof(when));
		fprintf(cli->out, "\t%s\t%s\t%s\n", state_name(m), when, last != NULL ? last : "-");
	}
	store_queue_msg_list_free(list, n);
	return CLI_EX_OK;
}

int cmd_queue_show(struct cli *cli, int argc, char **argv)
{
	int64_t id;
	if (parse_id(cli, argv[0], false, &id) != 0)
		return CLI_EX_USAGE;
	struct store_queue_msg m;
	enum store_err err = store_queue_get(cli->store, id, &m);
	if (err == STORE_ENOTFOUND)
		return cli_fail(cli, CLI_EX_ERROR, "queue id %" PRId64 ": not queued", id);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, "queue show");
	char when[32];
	fmt_time(m.created, when, sizeof(when));
	fprintf(cli->out, "id: %" PRId64 "\nsender: <%s>\nstate: %s\nqueued: %s\nsize: %" PRId64 "\n",
		m.id, m.return_path, state_name(&m), when, m.size);
	fprintf(cli->out, "message-id: %s\nenvid: %s\nret: %s\nrequiretls: %s\n",
		m.message_id != NULL ? m.message_id : "-", m.envid != NULL ? m.envid : "-",
		m.ret_full ? "full" : "hdrs", m.requiretls ? "yes" : "no");
	for (size_t i = 0; i < m.nrcpts; i++) {
		const struct store_queue_entry *e = &m.rcpts[i];
		fmt_time(e->next_attempt, when, sizeof(when));
		fprintf(cli->out, "rcpt: %s\t%s\tattempts=%d\tnext=%s\t%s\n", e->address,
			status_name(e->status), e->attempts, when,
			e->last_reply != NULL ? e->last_reply : "-");
		if (e->notify != 0 || e->orcpt != NULL) {
			char nt[48];
			notify_names(e->notify, nt, sizeof(nt));
			fprintf(cli->out, "rcpt-dsn: %s\tnotify=%s\torcpt=%s\n", e->address, nt,
				e->orcpt != NULL ? e->orcpt : "-");
		}
	}
	store_queue_msg_clear(&m);
	return CLI_EX_OK;
}

static int admin(struct cli *cli, const char *arg, enum store_queue_action action,
		 const char *verb)
{
	int64_t id;
	if (parse_id(cli, arg, true, &id) != 0)
		return CLI_EX_USAGE;
	size_t n = 0;
	enum store_err err = store_queue_admin(cli->store, id, action, &n);
	if (err == STORE_ENOTFOUND)
		return cli_fail(cli, CLI_EX_ERROR, "queue id %" PRId64 ": not queued", id);
	if (err != STORE_OK)
		return cli_store_result(cli, err, NULL, "queue");
	fprintf(cli->out, "%s %zu message%s\n", verb, n, n == 1 ? "" : "s");
	return CLI_EX_OK;
}

int cmd_queue_retry(struct cli *cli, int argc, char **argv)
{
	return admin(cli, argv[0], STORE_QUEUE_RETRY, "retrying");
}

int cmd_queue_hold(struct cli *cli, int argc, char **argv)
{
	return admin(cli, argv[0], STORE_QUEUE_HOLD, "held");
}

int cmd_queue_release(struct cli *cli, int argc, char **argv)
{
	return admin(cli, argv[0], STORE_QUEUE_RELEASE, "released");
}

int cmd_queue_delete(struct cli *cli, int argc, char **argv)
{
	return admin(cli, argv[0], STORE_QUEUE_DELETE, "deleted");
}

int cmd_queue_bounce(struct cli *cli, int argc, char **argv)
{
	return admin(cli, argv[0], STORE_QUEUE_BOUNCE_NOW, "bouncing");
}
