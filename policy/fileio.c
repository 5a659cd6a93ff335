/* Whole reads and writes of files and file descriptors. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"

int fd_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_write_sink(void *ctx, const void *data, size_t len)
{
	return fd_write_all(*(const int *)ctx, data, len);
}

int fd_read_all(int fd, size_t cap, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = malloc(cap + 2);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	while (len <= cap) {
		ssize_t n = read(fd, buf + len, cap + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > cap)
		return -E2BIG;
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int file_read_all(const char *path, size_t cap, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fd_read_all(fd, cap, ret_buf, ret_len);
}
