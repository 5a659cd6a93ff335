/* Finding the boot partition (sl.boot=) and mounting it read-only on /boot. */
#include "bootdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "log.h"
#include "measure.h"

#define POLL_INTERVAL_MS 50

static const char *const fs_types[] = { "vfat", "ext4" };

static int try_mount(const char *dev)
{
	int err = ENODEV;

	for (size_t i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++) {
		if (mount(dev, BOOT_MOUNT, fs_types[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) == 0) {
			log_debug("mounted %s (%s) read-only on %s", dev, fs_types[i], BOOT_MOUNT);
			return 0;
		}
		err = errno;
	}
	return -err;
}

static bool has_policy(const char *policy)
{
	int root = bootdev_open_root(), fd;

	if (root < 0)
		return false;
	fd = measure_open_beneath(root, policy);
	close(root);
	/* A symbolic link there is the policy's place taken: let loading it refuse that clearly. */
	if (fd == -ELOOP)
		return true;
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Without sl.boot: partitions in name order (vda1 before vdb1), the first holding the policy. */
static int scan_partitions(const char *policy, char *ret_dev, size_t size)
{
	struct dirent **names;
	int n = scandir("/sys/class/block", &names, NULL, by_name), found = -ENOENT;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char path[300], dev[300];

		snprintf(path, sizeof(path), "/sys/class/block/%s/partition", names[i]->d_name);
		snprintf(dev, sizeof(dev), "/dev/%s", names[i]->d_name);
		if (found == 0 || access(path, F_OK) < 0 || try_mount(dev) < 0)
			continue;
		if (has_policy(policy)) {
			snprintf(ret_dev, size, "%s", dev);
			found = 0;
		} else {
			umount(BOOT_MOUNT);
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return found;
}

/* Every partition whose LABEL/UUID/PARTUUID matches, through libblkid's probing (no cache
 * file, no udev). Counting them all is the point: two partitions with the boot label (a
 * stray USB stick, a cloned disk) must stop the launch, not be resolved by probe order. */
static int resolve_tag(const char *spec, char *ret_dev, size_t size)
{
	char *name = NULL, *value = NULL, others[256] = "";
	blkid_cache cache = NULL;
	blkid_dev_iterate it;
	blkid_dev dev;
	int matches = 0;

	if (blkid_parse_tag_string(spec, &name, &value) < 0 || !name || !value) {
		free(name);
		free(value);
		return -EINVAL;
	}
	if (blkid_get_cache(&cache, "/dev/null") < 0 || blkid_probe_all(cache) < 0) {
		blkid_put_cache(cache);
		free(name);
		free(value);
		return -EIO;
	}
	it = blkid_dev_iterate_begin(cache);
	blkid_dev_set_search(it, name, value);
	while (blkid_dev_next(it, &dev) == 0) {
		dev = blkid_verify(cache, dev);
		if (!dev)
			continue;
		if (matches++ == 0)
			snprintf(ret_dev, size, "%s", blkid_dev_devname(dev));
		else
			snprintf(others + strlen(others), sizeof(others) - strlen(others), ", %s",
				 blkid_dev_devname(dev));
	}
	blkid_dev_iterate_end(it);
	blkid_put_cache(cache);
	free(name);
	free(value);
	if (matches > 1) {
		log_failure("sl.boot", "%s matches %d partitions (%s%s): refusing to guess; give each "
			    "boot partition a unique label or use UUID=/PARTUUID=", spec, matches,
			    ret_dev, others);
		return -ENOTUNIQ;
	}
	return matches ? 0 : -ENOENT;
}

/* LABEL=, UUID=, PARTUUID= through libblkid; a /dev/ path as is. */
static int resolve(const char *spec, char *ret_dev, size_t size)
{
	if (strncmp(spec, "/dev/", 5) == 0) {
		if (access(spec, F_OK) < 0)
			return -errno;
		snprintf(ret_dev, size, "%s", spec);
		return 0;
	}
	return resolve_tag(spec, ret_dev, size);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int bootdev_mount(const struct sl_options *opts, char *ret_dev, size_t dev_size)
{
	long deadline = now_ms() + (long)opts->boot_timeout * 1000L;
	int r;

	if (opts->boot[0] && strncmp(opts->boot, "/dev/", 5) != 0 &&
	    strncmp(opts->boot, "LABEL=", 6) != 0 && strncmp(opts->boot, "UUID=", 5) != 0 &&
	    strncmp(opts->boot, "PARTUUID=", 9) != 0) {
		log_failure("sl.boot", "\"%s\" is not /dev/..., LABEL=, UUID= or PARTUUID=", opts->boot);
		return -EINVAL;
	}
	if (mkdir(BOOT_MOUNT, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* Devices on real hardware (USB, NVMe) appear late: poll until the deadline. */
	for (;;) {
		if (opts->boot[0]) {
			r = resolve(opts->boot, ret_dev, dev_size);
			if (r == -ENOTUNIQ)
				return r;
			if (r == 0) {
				r = try_mount(ret_dev);
				if (r < 0) {
					log_failure(ret_dev, "cannot mount it read-only as vfat or ext4: %s",
						    strerror(-r));
					return r;
				}
				return 0;
			}
		} else if (scan_partitions(opts->policy, ret_dev, dev_size) == 0) {
			log_info("boot partition: %s (first partition holding %s)", ret_dev,
				 opts->policy);
			return 0;
		}
		if (now_ms() >= deadline)
			break;
		usleep(POLL_INTERVAL_MS * 1000);
	}
	if (opts->boot[0])
		log_failure("sl.boot", "%s did not appear within %u s", opts->boot, opts->boot_timeout);
	else
		log_failure("boot partition", "no vfat/ext4 partition holding %s appeared within %u s",
			    opts->policy, opts->boot_timeout);
	return -ENODEV;
}

int bootdev_open_root(void)
{
	int fd = open(BOOT_MOUNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void bootdev_unmount(void)
{
	if (umount(BOOT_MOUNT) < 0)
		log_debug("unmounting %s: %s", BOOT_MOUNT, strerror(errno));
}
