/* Finding the boot partition (sl.boot=) and mounting it read-only on /boot. */
#pragma once

#include <stddef.h>

#include "log.h"
#include "options.h"

#define BOOT_MOUNT "/boot"

/* Waits (at most sl.boot_timeout) for the partition sl.boot names (/dev/..., LABEL=, UUID=,
 * PARTUUID=), or without sl.boot the whole sl.boot_timeout for the one partition that holds
 * the policy file (two are refused), and mounts it read-only (ext4 without journal replay).
 * Writes the device into ret_dev. 0, or -errno with the one-line refusal in ret. */
int bootdev_mount(const struct sl_options *opts, char *ret_dev, size_t dev_size,
		  struct failure *ret);
/* Opens the mounted partition's root for the core's path lookups beneath it. */
int bootdev_open_root(void);
void bootdev_unmount(void);
/* 1 if dev holds an ext4 file system whose journal needs replaying (slinit never replays it,
 * so it must not write there either), 0 if not, -errno if it cannot be read. */
int bootdev_journal_needs_recovery(const char *dev);
