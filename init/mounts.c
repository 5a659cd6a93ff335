/* The pseudo filesystems PID 1 needs before anything else. */
#include "mounts.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "log.h"

static const struct pseudo_fs {
	const char *type;
	const char *target;
	unsigned long flags;
} pseudo_filesystems[] = {
	{ "devtmpfs", "/dev", MS_NOSUID | MS_NOEXEC },
	{ "proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC },
	/* Holds the TrenchBoot slaunch interface and the TPM's binary measurement log. */
	{ "securityfs", "/sys/kernel/security", MS_NOSUID | MS_NODEV | MS_NOEXEC },
};

int mounts_pseudo_filesystems(void)
{
	for (size_t i = 0; i < sizeof(pseudo_filesystems) / sizeof(pseudo_filesystems[0]); i++) {
		const struct pseudo_fs *fs = &pseudo_filesystems[i];

		if (mkdir(fs->target, 0755) < 0 && errno != EEXIST) {
			int r = -errno;
			log_failure(fs->target, "cannot create mount point: %s", strerror(errno));
			return r;
		}
		/* EBUSY: the kernel mounted it already (CONFIG_DEVTMPFS_MOUNT). */
		if (mount(fs->type, fs->target, fs->type, fs->flags, NULL) < 0 && errno != EBUSY) {
			int r = -errno;
			log_failure(fs->target, "cannot mount %s: %s", fs->type, strerror(errno));
			return r;
		}
	}
	return 0;
}
