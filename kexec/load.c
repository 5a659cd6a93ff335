/* Loading the verified runtime kernel: sealed memfds that hold exactly the hashed bytes,
 * kexec_file_load(2) from them, and the final jump. */
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

int kexec_memfd_new(const char *name, int *ret_fd)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int kexec_memfd_seal(int fd)
{
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

int kexec_load(int kernel_fd, int initrd_fd, const char *cmdline)
{
	unsigned long flags = initrd_fd < 0 ? KEXEC_FILE_NO_INITRAMFS : 0;
	/* The length counts the terminating NUL (kexec_file_load(2)). */
	long r = syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, strlen(cmdline) + 1, cmdline,
			 flags);

	return r < 0 ? -errno : 0;
}

const char *kexec_strerror(int err)
{
	switch (-err) {
	case EPERM: return "kexec not permitted (needs CAP_SYS_BOOT; kexec disabled by sysctl?)";
	case ENOEXEC: return "not a kernel image the SL kernel can kexec (not a bzImage?)";
	case EKEYREJECTED: return "kernel signature rejected (kexec signature verification)";
	case ENOMEM: return "not enough memory to load the kernel and initrd";
	case EINVAL: return "kernel or initrd image rejected as invalid";
	case EBUSY: return "another kexec image is being loaded";
	case ENOSYS: return "the SL kernel was built without CONFIG_KEXEC_FILE";
	default: return strerror(-err);
	}
}

int kexec_execute(void)
{
	sync();
	if (reboot(LINUX_REBOOT_CMD_KEXEC) < 0)
		return -errno;
	return 0;
}
