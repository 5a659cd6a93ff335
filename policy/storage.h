/* The storage collector's bytes: a disk's partition table (the GPT header and its entries
 * array, or the MBR) and optionally the first bytes of one partition, bounds-checked. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A GPT entries array larger than this is refused. */
#define STORAGE_MAX_ENTRIES_ARRAY (1u << 20)

/* Called with every range read from the disk, so a capture can keep exactly those bytes. */
typedef int (*storage_record_fn)(void *ctx, uint64_t offset, const void *data, size_t len);

struct storage_result {
	uint8_t *bytes;    /* malloc'ed: table bytes, then the partition's first bytes */
	size_t len;
	const char *table; /* "gpt" or "mbr" */
	unsigned sector;   /* logical sector size the GPT was found with (512 or 4096) */
};

/* Reads disk_fd (a block device or an image file) with pread. partition (1-based, 0 for
 * none) and part_bytes choose the partition bytes. 0, or -errno with why saying what is
 * wrong (-EBADMSG: no or a broken table; -ENXIO: no such partition; -ENODATA: short). */
int storage_read(int disk_fd, unsigned partition, size_t part_bytes, storage_record_fn record,
		 void *ctx, struct storage_result *ret, char *why, size_t why_size);
void storage_result_free(struct storage_result *r);
