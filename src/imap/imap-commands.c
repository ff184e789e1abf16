/*
 * imap-commands: the command table (see imap-commands.h). Sorted by name
 * for reading; lookup is a linear scan over ~35 entries.
 */
#include "imap/imap-commands.h"
#include <string.h>

#define ANY IMAP_STATES_ANY
#define NOAUTH IMAP_STATE_NOAUTH
#define AUTHED IMAP_STATES_AUTHED
#define SELECTED IMAP_STATE_SELECTED

static const struct imap_command_def commands[] = {
	{"APPEND", cmd_append, AUTHED, 0},
	{"AUTHENTICATE", cmd_authenticate, NOAUTH, IMAP_CMD_SECRET},
	{"CANCELUPDATE", cmd_cancelupdate, SELECTED, 0}, /* RFC 5267 4.4 */
	{"CAPABILITY", cmd_capability, ANY, 0},
	{"CHECK", cmd_check, SELECTED, 0},
	{"CLOSE", cmd_close, SELECTED, 0},
	{"COMPRESS", cmd_compress, AUTHED, 0},
	{"COPY", cmd_copy, SELECTED, IMAP_CMD_UID},
	{"CREATE", cmd_create, AUTHED, 0},
	{"DELETE", cmd_delete, AUTHED, 0},
	{"ENABLE", cmd_enable, IMAP_STATE_AUTH, 0},
	{"EXAMINE", cmd_examine, AUTHED, 0},
	{"EXPUNGE", cmd_expunge, SELECTED, IMAP_CMD_UID},
	{"FETCH", cmd_fetch, SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE},
	{"GENURLAUTH", cmd_genurlauth, AUTHED, 0},
	{"GETMETADATA", cmd_getmetadata, AUTHED, 0},
	{"GETQUOTA", cmd_getquota, AUTHED, 0},
	{"GETQUOTAROOT", cmd_getquotaroot, AUTHED, 0},
	{"ID", cmd_id, ANY, 0},
	{"IDLE", cmd_idle, AUTHED, 0},
	{"LIST", cmd_list, AUTHED, 0},
	{"LOGIN", cmd_login, NOAUTH, IMAP_CMD_SECRET},
	{"LOGOUT", cmd_logout, ANY, 0},
	{"LSUB", cmd_lsub, AUTHED, 0},
	{"MOVE", cmd_move, SELECTED, IMAP_CMD_UID},
	{"NAMESPACE", cmd_namespace, AUTHED, 0},
	{"NOOP", cmd_noop, ANY, 0},
	{"NOTIFY", cmd_notify, AUTHED, 0},
	{"RENAME", cmd_rename, AUTHED, 0},
	{"RESETKEY", cmd_resetkey, AUTHED, 0},
	{"REPLACE", cmd_replace, SELECTED, IMAP_CMD_UID},
	{"SEARCH", cmd_search, SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE},
	{"SELECT", cmd_select, AUTHED, 0},
	{"SETMETADATA", cmd_setmetadata, AUTHED, 0},
	{"SETQUOTA", cmd_setquota, AUTHED, 0},
	{"SORT", cmd_sort, SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE},
	{"STARTTLS", cmd_starttls, NOAUTH, 0},
	{"STATUS", cmd_status, AUTHED, 0},
	{"STORE", cmd_store, SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE},
	{"SUBSCRIBE", cmd_subscribe, AUTHED, 0},
	{"THREAD", cmd_thread, SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE},
	{"UIDBATCHES", cmd_uidbatches, SELECTED, 0}, /* RFC 10022 3 */
	{"UNSELECT", cmd_unselect, SELECTED, 0},
	{"UNSUBSCRIBE", cmd_unsubscribe, AUTHED, 0},
	{"URLFETCH", cmd_urlfetch, AUTHED, 0},
};

const struct imap_command_def *imap_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}
