/* Handing the event log to the runtime OS: /sll/eventlog.bin in a small cpio appended, in
 * memory, after the runtime initrd (the measured initrd digest covers the original bytes). */
#include "handover.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"

static int pad4(int fd, uint64_t *offset)
{
	static const uint8_t zeros[4];
	size_t n = (size_t)((4 - (*offset & 3)) & 3);

	*offset += n;
	return n ? fd_write_all(fd, zeros, n) : 0;
}

/* One "070701" (newc) entry: header, name, data, each padded to 4 bytes. */
static int cpio_entry(int fd, uint64_t *offset, const char *name, unsigned mode, unsigned ino,
		      const uint8_t *data, size_t len)
{
	char header[111];
	size_t namesize = strlen(name) + 1;
	int r;

	if (len > UINT32_MAX)
		return -E2BIG;
	snprintf(header, sizeof(header),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u,
		 S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)len, 0u, 0u, 0u, 0u, (unsigned)namesize, 0u);
	if ((r = fd_write_all(fd, header, 110)) < 0 || (r = fd_write_all(fd, name, namesize)) < 0)
		return r;
	*offset += 110 + namesize;
	if ((r = pad4(fd, offset)) < 0)
		return r;
	if (len && (r = fd_write_all(fd, data, len)) < 0)
		return r;
	*offset += len;
	return pad4(fd, offset);
}

int handover_append_eventlog(int fd, uint64_t size, const uint8_t *log, size_t len)
{
	uint64_t offset = size;
	int r;

	if ((r = pad4(fd, &offset)) < 0 ||
	    (r = cpio_entry(fd, &offset, "sll", S_IFDIR | 0755, 1, NULL, 0)) < 0 ||
	    (r = cpio_entry(fd, &offset, HANDOVER_LOG_PATH, S_IFREG | 0444, 2, log, len)) < 0)
		return r;
	return cpio_entry(fd, &offset, "TRAILER!!!", 0, 0, NULL, 0);
}
