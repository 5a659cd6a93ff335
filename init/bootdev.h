/* Finding the boot partition (sl.boot=) and mounting it read-only on /boot. */
#pragma once

#include <stddef.h>

#include "options.h"

#define BOOT_MOUNT "/boot"

/* Waits (at most sl.boot_timeout) for the partition sl.boot names (/dev/..., LABEL=, UUID=,
 * PARTUUID=), or without sl.boot for the first partition that holds the policy file, and
 * mounts it read-only. Writes the device into ret_dev. 0 or -errno, message logged. */
int bootdev_mount(const struct sl_options *opts, char *ret_dev, size_t dev_size);
/* Opens the mounted partition's root for the core's path lookups beneath it. */
int bootdev_open_root(void);
void bootdev_unmount(void);
