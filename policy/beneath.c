/* Opening a policy's path on the boot partition (or a captured tree) safely: beneath the
 * root only, no symbolic links, no "." or "..". */
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* Opens the next component of *path beneath dir (a directory, or with flags and mode the
 * last one) and moves *path past it. An fd, or -errno. */
static int walk_step(int dir, const char **path, int flags, mode_t mode)
{
	char comp[NAME_MAX + 1];
	size_t len = strcspn(*path, "/");
	struct stat st;
	int fd, r;

	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(comp, *path, len);
	comp[len] = '\0';
	*path += len;
	while (**path == '/')
		(*path)++;
	if (len == 0 || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
		return len == 0 ? -ENOENT : -EXDEV;
	fd = **path ? openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
		      openat(dir, comp, flags, mode);
	if (fd >= 0)
		return fd;
	r = -errno;
	/* O_DIRECTORY | O_NOFOLLOW on a link says ENOTDIR; openat2 says ELOOP. */
	if (r == -ENOTDIR && fstatat(dir, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		r = -ELOOP;
	return r;
}

/* Without openat2 (kernels before 5.6, seccomp filters answering ENOSYS, valgrind): the same
 * rules one component at a time, every step O_NOFOLLOW beneath the directory before it, and
 * no "." or ".." at all (policy paths never hold them). */
static int open_beneath_walk(int root_fd, const char *path, int flags, mode_t mode)
{
	_cleanup_close_ int dir = -1;

	if (!*path) {
		int fd = openat(root_fd, ".", flags, mode);

		return fd < 0 ? -errno : fd;
	}
	dir = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
	if (dir < 0)
		return -errno;
	for (;;) {
		int fd = walk_step(dir, &path, flags, mode);

		if (fd < 0 || !*path)
			return fd;
		close(dir);
		dir = fd;
	}
}

int beneath_openat(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC | O_NOFOLLOW,
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	/* Policy paths are absolute on the boot partition; openat2 wants them relative. */
	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return open_beneath_walk(root_fd, path, (int)how.flags, (mode_t)how.mode);
	return fd < 0 ? -errno : fd;
}

int beneath_open_input(int root_fd, const char *path, bool block_device)
{
	struct stat st;
	_cleanup_close_ int fd = beneath_openat(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);

	if (fd < 0)
		return fd;
	/* O_NONBLOCK only kept a FIFO from blocking the open; files and disks ignore it. */
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || (block_device && S_ISBLK(st.st_mode))))
		return -EINVAL;
	return TAKE_FD(fd);
}

int beneath_open_regular(int root_fd, const char *path)
{
	return beneath_open_input(root_fd, path, false);
}
