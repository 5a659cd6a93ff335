/* The optional copy of the event log on the boot partition (policy "eventlog": {"path"}):
 * the only write slinit makes there, atomic (temp file, fsync, rename). */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "beneath.h"
#include "bootdev.h"
#include "cleanup.h"
#include "log.h"
#include "fileio.h"
#include "log.h"

static int open_beneath(int root_fd, const char *path, int flags)
{
	return beneath_openat(root_fd, path, flags, 0644);
}

/* Everything happens relative to the log's directory, opened beneath the root first, so
 * neither the temp file's cleanup nor the rename can follow a link out of the partition. */
static int write_atomically(int root_fd, const char *path, const uint8_t *log, size_t len,
			    char *why, size_t why_size)
{
	char dir[4200], tmp[300];
	const char *slash = strrchr(path, '/'), *name = slash + 1;
	_cleanup_close_ int dir_fd = -1, fd = -1;
	int r;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (snprintf(tmp, sizeof(tmp), "%s.sll-tmp", name) >= (int)sizeof(tmp)) {
		snprintf(why, why_size, "%s: file name too long", path);
		return -ENAMETOOLONG;
	}
	dir_fd = open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY);
	if (dir_fd < 0) {
		snprintf(why, why_size, "opening the directory of %s: %s", path, strerror(-dir_fd));
		return dir_fd;
	}
	unlinkat(dir_fd, tmp, 0); /* a stale temp file of an interrupted boot */
	fd = open_beneath(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL);
	if (fd < 0) {
		snprintf(why, why_size, "creating %s.sll-tmp: %s", path, strerror(-fd));
		return fd;
	}
	r = fd_write_all(fd, log, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(TAKE_FD(fd)); /* closed before the rename that makes it the log */
	if (r == 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(why, why_size, "writing %s: %s", path, strerror(-r));
		unlinkat(dir_fd, tmp, 0);
	} else {
		fsync(dir_fd);
	}
	return r;
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
	/* The copy stands even if the remount fails; unmounting before kexec still happens. */
	if (mount(NULL, BOOT_MOUNT, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0 && r == 0)
		log_info("warning: cannot remount %s read-only again: %s", BOOT_MOUNT, strerror(errno));
	return r;
}

bool logfile_copy(int root_fd, const char *path, bool journal_dirty, const uint8_t *log,
		  size_t len)
{
	char why[512] = "";

	if (!path)
		return false;
	if (journal_dirty) {
		log_info("warning: event log not copied to the boot partition: its ext4 journal "
			 "needs replaying, which slinit never does (mount it once in the runtime OS)");
		return false;
	}
	if (logfile_write(root_fd, path, log, len, why, sizeof(why)) < 0)
		log_info("warning: event log not copied to the boot partition: %s", why);
	else
		log_info("event log copied to %s", path);
	return true;
}
