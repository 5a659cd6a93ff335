/* Opening a policy's path on the boot partition (or a captured tree) safely: beneath the
 * root only, no symbolic links, no "." or "..". */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* openat(2) of path (absolute on the partition) beneath root_fd only: no symbolic links, no
 * escape (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, or the same
 * rules component by component where openat2 is missing). An fd, or -errno (-ELOOP: a
 * symbolic link, -EXDEV: an escape). */
int beneath_openat(int root_fd, const char *path, int flags, mode_t mode);
/* beneath_openat for reading a regular file, or with block_device a disk too (-EINVAL for
 * anything else, without blocking on a FIFO). */
int beneath_open_input(int root_fd, const char *path, bool block_device);
/* beneath_open_input of a regular file only. */
int beneath_open_regular(int root_fd, const char *path);

