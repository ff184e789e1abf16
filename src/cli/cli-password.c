/*
 * cli-password: reading a new password for `user add` and `user passwd`.
 * From a pipe: exactly one line. From a terminal: two prompts with echo
 * off (termios), which must match. The plaintext is wiped after use.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "mail/password.h"
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Read one line of at most PASSWORD_MAX bytes (CR LF or LF ended)
 * into buf, which holds PASSWORD_MAX + 2. 0, or -1 on EOF before any
 * byte or a line too long. */
static int read_line(FILE *in, char *buf, size_t size, bool *too_long_r)
{
	size_t n = 0;
	int c;
	bool any = false;
	*too_long_r = false;
	while ((c = getc(in)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (n + 1 >= size) { /* room for MAX bytes, a CR and the NUL */
			*too_long_r = true;
			continue; /* drain the rest of the line */
		}
		buf[n++] = (char)c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n > PASSWORD_MAX)
		*too_long_r = true;
	buf[n] = '\0';
	return any && !*too_long_r ? 0 : -1;
}

static int prompt(struct cli *cli, int fd, const char *text, char *buf, size_t size,
		  bool *too_long_r)
{
	struct termios old, quiet;
	/* Echo off before the prompt shows: what is typed after it is never
	 * echoed, and TCSAFLUSH cannot drop it. */
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	fputs(text, cli->err);
	fflush(cli->err);
	int r = read_line(cli->in, buf, size, too_long_r);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	return r;
}

int cli_read_password(struct cli *cli, char **password_r)
{
	char first[PASSWORD_MAX + 2], second[PASSWORD_MAX + 2];
	bool too_long = false;
	int fd = fileno(cli->in);
	int ret = -1;
	if (fd >= 0 && isatty(fd)) {
		if (prompt(cli, fd, "New password: ", first, sizeof(first), &too_long) < 0 ||
		    prompt(cli, fd, "Repeat password: ", second, sizeof(second), &too_long) < 0)
			goto fail;
		if (strcmp(first, second) != 0) {
			cli_fail(cli, CLI_EX_ERROR, "passwords do not match");
			goto out;
		}
	} else if (read_line(cli->in, first, sizeof(first), &too_long) < 0) {
		goto fail;
	}
	if (first[0] == '\0') {
		cli_fail(cli, CLI_EX_ERROR, "empty password refused");
		goto out;
	}
	*password_r = xstrdup(first);
	ret = 0;
	goto out;
fail:
	if (too_long)
		cli_fail(cli, CLI_EX_ERROR, "password longer than %d bytes", PASSWORD_MAX);
	else
		cli_fail(cli, CLI_EX_ERROR, "no password given on stdin");
out:
	wipe(first, sizeof(first));
	wipe(second, sizeof(second));
	return ret;
}
