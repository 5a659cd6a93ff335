/* Loading the verified runtime kernel: sealed memfds that hold exactly the hashed bytes,
 * kexec_file_load(2) from them, and the final jump. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A memfd being filled; once sealed nobody (not even us) can change its bytes. */
int kexec_memfd_new(const char *name, int *ret_fd);
/* Filled with fd_write_all or fd_write_sink (policy/fileio.h). */
int kexec_memfd_seal(int fd);

/* kexec_file_load(2); initrd_fd may be -1. -errno; kexec_strerror() explains it. */
int kexec_load(int kernel_fd, int initrd_fd, const char *cmdline);
const char *kexec_strerror(int err);

/* reboot(LINUX_REBOOT_CMD_KEXEC): does not return on success. */
int kexec_execute(void);
