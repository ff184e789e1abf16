/*
 * control-wire: framing for the control socket (see control.h), shared by
 * the daemon and the CLI: whole reads and writes, big-endian integers,
 * and socket addresses for paths longer than sun_path.
 */
#include "daemon/control.h"
#include "lib/alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int control_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int control_read_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n > 0) {
		ssize_t r = recv(fd, c, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int control_write_u32(int fd, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
	return control_write_all(fd, b, sizeof(b));
}

int control_write_u64(int fd, uint64_t v)
{
	return control_write_u32(fd, (uint32_t)(v >> 32)) < 0 ? -1 :
								control_write_u32(fd, (uint32_t)v);
}

int control_read_u32(int fd, uint32_t *v_r)
{
	unsigned char b[4];
	if (control_read_all(fd, b, sizeof(b)) < 0)
		return -1;
	*v_r = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

int control_read_u64(int fd, uint64_t *v_r)
{
	uint32_t hi, lo;
	if (control_read_u32(fd, &hi) < 0 || control_read_u32(fd, &lo) < 0)
		return -1;
	*v_r = (uint64_t)hi << 32 | lo;
	return 0;
}

int control_sockaddr(const char *path, void *sun_r, unsigned *len_r, int *dirfd_r)
{
	struct sockaddr_un *sun = sun_r;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	*dirfd_r = -1;
	if (strlen(path) < sizeof(sun->sun_path)) {
		memcpy(sun->sun_path, path, strlen(path) + 1);
		*len_r = sizeof(*sun);
		return 0;
	}
	/* Deep data directories (tests, containers) exceed the 108 bytes
	 * of sun_path: name the socket through an fd of its directory. */
	const char *slash = strrchr(path, '/');
	if (slash == NULL || strlen(slash + 1) > 64) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *dir = xstrndup(path, (size_t)(slash - path));
	int fd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	int n = snprintf(sun->sun_path, sizeof(sun->sun_path), "/proc/self/fd/%d/%s", fd, slash + 1);
	if (n < 0 || (size_t)n >= sizeof(sun->sun_path)) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	*dirfd_r = fd;
	*len_r = sizeof(*sun);
	return 0;
}
