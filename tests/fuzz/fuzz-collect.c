/* libFuzzer target: the collectors' parsers of hostile machine data must never crash or read
 * out of bounds: the SMBIOS walker and entry point check (the first input byte picks the
 * types to keep), the cpuid capture parser, and the partition table reader on the input as a
 * disk image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuleaves.h"
#include "smbios.h"
#include "storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t keep[256] = { 0 }, *out, canon[24 * 16];
	char why[256];
	size_t n;
	struct cpuleaves leaves;
	struct storage_result res;
	int fd;

	if (size < 1)
		return 0;
	/* Selector byte: 0 keeps every type, otherwise keep that type and type 127. */
	if (data[0] == 0)
		memset(keep, 1, sizeof(keep));
	keep[data[0]] = keep[127] = 1;
	out = malloc(size);
	if (smbios_filter(data + 1, size - 1, keep, out, &n, why, sizeof(why)) == 0 &&
	    n > size - 1)
		abort();
	free(out);
	smbios_check_entry_point(data, size, why, sizeof(why));

	if (cpuleaves_parse((const char *)data, size, &leaves, why, sizeof(why)) == 0)
		cpuleaves_canonical(&leaves, canon, &n, why, sizeof(why));

	fd = memfd_create("disk", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	/* The last byte picks a partition (0: none) and reads a few of its bytes. */
	if (storage_read(fd, data[size - 1] % 6, 64, NULL, NULL, &res, why, sizeof(why)) == 0) {
		if (res.len == 0 || !res.table)
			abort();
		storage_result_free(&res);
	}
	close(fd);
	return 0;
}
