/*
 * control-client: the CLI side of the control socket (see control.h):
 * send one command with its stdin bytes, copy the daemon's outputs to our
 * stdout/stderr, return its exit code.
 */
#include "daemon/control.h"
#include "lib/alloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

/* How long the CLI waits for the daemon's reply (a delivery waits for
 * its commit; an admin command for its transaction). */
#define CONTROL_CLIENT_TIMEOUT_S 300

/* Copy a length-prefixed output from fd to f in bounded chunks. */
static int copy_output(int fd, FILE *f)
{
	uint64_t len;
	if (control_read_u64(fd, &len) < 0 || len > CONTROL_MAX_DATA)
		return -1;
	char chunk[65536];
	while (len > 0) {
		size_t n = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);
		if (control_read_all(fd, chunk, n) < 0)
			return -1;
		fwrite(chunk, 1, n, f);
		len -= n;
	}
	return 0;
}

int control_client_connect(const char *socket_path, int *fd_r, FILE *err)
{
	if (socket_path[0] == '\0')
		return -1;
	struct sockaddr_un sun;
	unsigned len;
	int dirfd = -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || control_sockaddr(socket_path, &sun, &len, &dirfd) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int r = connect(fd, (struct sockaddr *)&sun, len);
	int saved = errno;
	if (dirfd >= 0)
		close(dirfd);
	if (r < 0) {
		close(fd);
		/* No daemon: a missing or stale socket. */
		if (saved == ENOENT || saved == ECONNREFUSED)
			return -1;
		fprintf(err, "roost: cannot reach the daemon at %s: %s\n", socket_path,
			strerror(saved));
		return EX_TEMPFAIL;
	}
	*fd_r = fd;
	return 0;
}

int control_client_run(int fd, int argc, char **argv, const char *input, size_t input_len,
		       FILE *out, FILE *err)
{
	struct timeval tv = {.tv_sec = CONTROL_CLIENT_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	bool ok = control_write_u32(fd, CONTROL_MAGIC) == 0 &&
		  control_write_u32(fd, CONTROL_VERSION) == 0 &&
		  control_write_u32(fd, (uint32_t)argc) == 0;
	for (int i = 0; ok && i < argc; i++) {
		size_t n = strlen(argv[i]);
		ok = control_write_u32(fd, (uint32_t)n) == 0 && control_write_all(fd, argv[i], n) == 0;
	}
	ok = ok && control_write_u64(fd, input_len) == 0 &&
	     control_write_all(fd, input, input_len) == 0;
	uint32_t code = EX_TEMPFAIL;
	ok = ok && control_read_u32(fd, &code) == 0 && copy_output(fd, out) == 0 &&
	     copy_output(fd, err) == 0;
	close(fd);
	if (!ok) {
		fprintf(err, "roost: the daemon did not answer the command\n");
		return EX_TEMPFAIL;
	}
	return (int)code;
}
