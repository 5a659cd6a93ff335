/* The optional copy of the event log on the boot partition (policy "eventlog": {"path"}):
 * the only write slinit makes there, atomic (temp file, fsync, rename). */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bootdev.h"
#include "load.h"

static int open_beneath(int root_fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC | O_NOFOLLOW,
		.mode = (flags & O_CREAT) ? 0644 : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static int write_atomically(int root_fd, const char *path, const uint8_t *log, size_t len,
			    char *why, size_t why_size)
{
	char tmp[4200], dir[4200];
	const char *slash = strrchr(path, '/');
	int fd, dir_fd, r;

	snprintf(tmp, sizeof(tmp), "%s.sll-tmp", path);
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	unlinkat(root_fd, tmp + 1, 0); /* a stale temp file of an interrupted boot */
	fd = open_beneath(root_fd, tmp, O_WRONLY | O_CREAT | O_EXCL);
	if (fd < 0) {
		snprintf(why, why_size, "creating %s: %s", tmp, strerror(-fd));
		return fd;
	}
	r = kexec_memfd_append(&fd, log, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && renameat(root_fd, tmp + 1, root_fd, path + 1) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(why, why_size, "writing %s: %s", path, strerror(-r));
		unlinkat(root_fd, tmp + 1, 0);
		return r;
	}
	dir_fd = open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY);
	if (dir_fd >= 0) {
		fsync(dir_fd);
		close(dir_fd);
	}
	return 0;
}

int logfile_write(int root_fd, const char *path, const uint8_t *log, size_t len, char *why,
		  size_t why_size)
{
	int r;

	if (mount(NULL, BOOT_MOUNT, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		r = -errno;
		snprintf(why, why_size, "cannot remount %s read-write: %s", BOOT_MOUNT, strerror(errno));
		return r;
	}
	r = write_atomically(root_fd, path, log, len, why, why_size);
	if (mount(NULL, BOOT_MOUNT, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0 && r == 0) {
		r = -errno;
		snprintf(why, why_size, "cannot remount %s read-only: %s", BOOT_MOUNT, strerror(errno));
	}
	return r;
}
