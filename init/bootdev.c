/* Finding the boot partition (sl.boot=) and mounting it read-only on /boot. */
#include "bootdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "beneath.h"
#include "cleanup.h"
#include "log.h"

#define POLL_INTERVAL_MS 50

/* Partitions a scan mounts (each once) while it waits, and how many holders it names. */
#define SCAN_MAX_PARTITIONS 256
#define SCAN_MAX_NAMED 4

/* ext4 without journal replay: a read-only mount of a partition whose journal holds
 * transactions would otherwise write them back, and slinit writes /boot only when the
 * policy asks for the event log copy. */
static const struct {
	const char *type;
	const char *data;
} fs_types[] = { { "vfat", NULL }, { "ext4", "norecovery" } };

static int try_mount(const char *dev)
{
	int err = ENODEV;

	for (size_t i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++) {
		if (mount(dev, BOOT_MOUNT, fs_types[i].type,
			  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, fs_types[i].data) == 0) {
			log_debug("mounted %s (%s) read-only on %s", dev, fs_types[i].type, BOOT_MOUNT);
			return 0;
		}
		err = errno;
	}
	return -err;
}

static bool has_policy(const char *policy)
{
	_cleanup_close_ int root = bootdev_open_root(), fd = -1;

	if (root < 0)
		return false;
	fd = beneath_open_regular(root, policy);
	/* A symbolic link there is the policy's place taken: let loading it refuse that clearly. */
	return fd >= 0 || fd == -ELOOP;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

struct scan {
	char seen[SCAN_MAX_PARTITIONS][NAME_MAX + 1]; /* partitions mounted once already */
	size_t seen_count;
	char holders[SCAN_MAX_NAMED][300]; /* the first ones holding the policy */
	size_t holder_count;                /* all of them */
};

static bool scan_seen(struct scan *scan, const char *name)
{
	for (size_t i = 0; i < scan->seen_count; i++)
		if (strcmp(scan->seen[i], name) == 0)
			return true;
	if (scan->seen_count < SCAN_MAX_PARTITIONS)
		snprintf(scan->seen[scan->seen_count++], sizeof(scan->seen[0]), "%s", name);
	return false;
}

/* Without sl.boot: mounts each partition that appeared since the last call, in name order,
 * and counts those holding the policy. Two are refused, however late the second appears. */
static int scan_partitions(const char *policy, struct scan *scan)
{
	struct dirent **names;
	int n = scandir("/sys/class/block", &names, NULL, by_name);

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char path[300], dev[300];

		snprintf(path, sizeof(path), "/sys/class/block/%s/partition", names[i]->d_name);
		snprintf(dev, sizeof(dev), "/dev/%s", names[i]->d_name);
		if (access(path, F_OK) < 0 || scan_seen(scan, names[i]->d_name) || try_mount(dev) < 0)
			continue;
		if (has_policy(policy) && scan->holder_count++ < SCAN_MAX_NAMED)
			snprintf(scan->holders[scan->holder_count - 1], sizeof(scan->holders[0]), "%s",
				 dev);
		umount(BOOT_MOUNT);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

static void refuse_holders(const char *policy, const struct scan *scan, struct failure *ret)
{
	char list[SCAN_MAX_NAMED * 300] = "";

	for (size_t i = 0; i < scan->holder_count && i < SCAN_MAX_NAMED; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 scan->holders[i]);
	failure_set(ret, "boot partition", "%zu partitions hold %s (%s%s): refusing to guess; choose "
		    "one with sl.boot=UUID=... or PARTUUID=...", scan->holder_count, policy, list,
		    scan->holder_count > SCAN_MAX_NAMED ? ", ..." : "");
}

/* Every partition whose LABEL/UUID/PARTUUID matches, through libblkid's probing (no cache
 * file, no udev). Counting them all is the point: two partitions with the boot label (a
 * stray USB stick, a cloned disk) must stop the launch, not be resolved by probe order. */
static int resolve_tag(const char *spec, char *ret_dev, size_t size, struct failure *ret)
{
	_cleanup_free_ char *name = NULL, *value = NULL;
	char others[256] = "";
	blkid_cache cache = NULL;
	blkid_dev_iterate it;
	blkid_dev dev;
	int matches = 0;

	if (blkid_parse_tag_string(spec, &name, &value) < 0 || !name || !value)
		return -EINVAL;
	if (blkid_get_cache(&cache, "/dev/null") < 0 || blkid_probe_all(cache) < 0) {
		blkid_put_cache(cache);
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
	if (matches > 1) {
		failure_set(ret, "sl.boot", "%s matches %d partitions (%s%s): refusing to guess; give each "
			    "boot partition a unique label or use UUID=/PARTUUID=", spec, matches,
			    ret_dev, others);
		return -ENOTUNIQ;
	}
	return matches ? 0 : -ENOENT;
}

/* LABEL=, UUID=, PARTUUID= through libblkid; a /dev/ path as is. */
static int resolve(const char *spec, char *ret_dev, size_t size, struct failure *ret)
{
	if (strncmp(spec, "/dev/", 5) == 0) {
		if (access(spec, F_OK) < 0)
			return -errno;
		snprintf(ret_dev, size, "%s", spec);
		return 0;
	}
	return resolve_tag(spec, ret_dev, size, ret);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The scan's verdict at the end of the wait: the one holder, mounted, or the refusal. */
static int mount_the_holder(const struct sl_options *opts, const struct scan *scan,
			    char *ret_dev, size_t dev_size, struct failure *ret)
{
	int r;

	if (scan->holder_count > 1) {
		refuse_holders(opts->policy, scan, ret);
		return -ENOTUNIQ;
	}
	if (scan->holder_count == 0) {
		failure_set(ret, "boot partition", "no vfat/ext4 partition holding %s appeared within %u s",
			    opts->policy, opts->boot_timeout);
		return -ENODEV;
	}
	r = try_mount(scan->holders[0]);
	if (r < 0) {
		failure_set(ret, scan->holders[0], "cannot mount it again: %s", strerror(-r));
		return r;
	}
	snprintf(ret_dev, dev_size, "%s", scan->holders[0]);
	log_info("boot partition: %s (the one partition holding %s)", ret_dev, opts->policy);
	return 0;
}

/* Without sl.boot: the whole sl.boot_timeout is waited, so that a second partition holding
 * the policy (a stick plugged in by an attacker, a cloned disk) is seen even when it appears
 * after the first: the launch then stops instead of depending on probe order. */
static int mount_scanned(const struct sl_options *opts, long deadline, char *ret_dev,
			 size_t dev_size, struct failure *ret)
{
	struct scan *scan = calloc(1, sizeof(*scan));
	int r;

	if (!scan)
		return -ENOMEM;
	for (;;) {
		r = scan_partitions(opts->policy, scan);
		if (r < 0 || scan->holder_count > 1 || now_ms() >= deadline)
			break;
		usleep(POLL_INTERVAL_MS * 1000);
	}
	if (r < 0)
		failure_set(ret, "boot partition", "listing /sys/class/block: %s", strerror(-r));
	else
		r = mount_the_holder(opts, scan, ret_dev, dev_size, ret);
	free(scan);
	return r;
}

int bootdev_mount(const struct sl_options *opts, char *ret_dev, size_t dev_size,
		  struct failure *ret)
{
	long deadline = now_ms() + (long)opts->boot_timeout * 1000L;
	int r;

	if (opts->boot[0] && strncmp(opts->boot, "/dev/", 5) != 0 &&
	    strncmp(opts->boot, "LABEL=", 6) != 0 && strncmp(opts->boot, "UUID=", 5) != 0 &&
	    strncmp(opts->boot, "PARTUUID=", 9) != 0) {
		failure_set(ret, "sl.boot", "\"%s\" is not /dev/..., LABEL=, UUID= or PARTUUID=", opts->boot);
		return -EINVAL;
	}
	if (mkdir(BOOT_MOUNT, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		failure_set(ret, BOOT_MOUNT, "cannot create the mount point: %s", strerror(-r));
		return r;
	}
	if (!opts->boot[0])
		return mount_scanned(opts, deadline, ret_dev, dev_size, ret);
	/* Devices on real hardware (USB, NVMe) appear late: poll until the deadline. */
	for (;;) {
		r = resolve(opts->boot, ret_dev, dev_size, ret);
		if (r == -ENOTUNIQ)
			return r;
		if (r == 0) {
			r = try_mount(ret_dev);
			if (r < 0)
				failure_set(ret, ret_dev, "cannot mount it read-only as vfat or ext4: %s",
					    strerror(-r));
			return r;
		}
		if (now_ms() >= deadline)
			break;
		usleep(POLL_INTERVAL_MS * 1000);
	}
	failure_set(ret, "sl.boot", "%s did not appear within %u s", opts->boot, opts->boot_timeout);
	return -ENODEV;
}

/* ext4's superblock, 1024 bytes into the partition: s_magic (0xEF53) at 0x38 and
 * s_feature_incompat at 0x60, whose RECOVER bit (0x4) says the journal holds transactions. */
int bootdev_journal_needs_recovery(const char *dev)
{
	uint8_t sb[0x64];
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (pread(fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb))
		return -EIO;
	return sb[0x38] == 0x53 && sb[0x39] == 0xEF && (sb[0x60] & 0x04);
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
