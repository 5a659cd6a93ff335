/* The storage collector's bytes: a disk's partition table (the GPT header and its entries
 * array, or the MBR) and optionally the first bytes of one partition, bounds-checked. */
#include "storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GPT_HEADER_MIN 92
#define GPT_ENTRY_MIN 128
#define MBR_SIZE 512

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

struct disk {
	int fd;
	storage_record_fn record;
	void *ctx;
};

/* Exactly len bytes at off, or -ENODATA (the disk ends before) / -errno. */
static int read_at(const struct disk *d, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	if (off > (uint64_t)INT64_MAX - len)
		return -EOVERFLOW;
	while (done < len) {
		ssize_t n = pread(d->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		done += (size_t)n;
	}
	return d->record ? d->record(d->ctx, off, buf, len) : 0;
}

static int read_error(int r, const char *what, uint64_t off, size_t len, char *why,
		      size_t why_size)
{
	if (r == -ENODATA)
		snprintf(why, why_size, "%s: the disk ends before bytes %llu-%llu", what,
			 (unsigned long long)off, (unsigned long long)(off + len - 1));
	else
		snprintf(why, why_size, "%s: reading %zu bytes at %llu: %s", what, len,
			 (unsigned long long)off, strerror(-r));
	return r;
}

/* Appends len bytes at off to res->bytes (already sized by the caller). */
static int append(const struct disk *d, struct storage_result *res, uint64_t off, size_t len,
		  const char *what, char *why, size_t why_size)
{
	int r = read_at(d, off, res->bytes + res->len, len);

	if (r < 0)
		return read_error(r, what, off, len, why, why_size);
	res->len += len;
	return 0;
}

/* The GPT header at LBA 1, for a sector size of 512 or 4096; 1 if found, 0 if not. */
static int find_gpt(const struct disk *d, uint8_t hdr[4096], unsigned *ret_sector, char *why,
		    size_t why_size)
{
	static const unsigned sectors[] = { 512, 4096 };

	for (size_t i = 0; i < 2; i++) {
		int r = read_at(d, sectors[i], hdr, sectors[i]);

		if (r == -ENODATA)
			continue;
		if (r < 0)
			return read_error(r, "GPT header", sectors[i], sectors[i], why, why_size);
		if (memcmp(hdr, "EFI PART", 8) == 0) {
			*ret_sector = sectors[i];
			return 1;
		}
	}
	return 0;
}

/* Start and length in bytes of partition n (1-based) of the table just read. */
static int locate_partition(const struct storage_result *res, size_t table_len, unsigned n,
			    const uint8_t *gpt_hdr, uint64_t *ret_off, uint64_t *ret_size,
			    char *why, size_t why_size)
{
	static const uint8_t zero_guid[16];
	const uint8_t *e;

	if (strcmp(res->table, "mbr") == 0) {
		if (n > 4) {
			snprintf(why, why_size, "partition %u: only the 4 primary MBR partitions "
				 "are supported", n);
			return -ENXIO;
		}
		e = res->bytes + 446 + 16 * (size_t)(n - 1);
		if (e[4] == 0) {
			snprintf(why, why_size, "partition %u: the MBR entry is unused", n);
			return -ENXIO;
		}
		*ret_off = (uint64_t)le32(e + 8) * MBR_SIZE;
		*ret_size = (uint64_t)le32(e + 12) * MBR_SIZE;
		return 0;
	}
	uint32_t hsize = le32(gpt_hdr + 12), count = le32(gpt_hdr + 80), esize = le32(gpt_hdr + 84);
	uint64_t first, last;

	if (n > count) {
		snprintf(why, why_size, "partition %u: the GPT has only %u entries", n, count);
		return -ENXIO;
	}
	e = res->bytes + hsize + (size_t)esize * (n - 1);
	if ((size_t)(e + esize - res->bytes) > table_len || memcmp(e, zero_guid, 16) == 0) {
		snprintf(why, why_size, "partition %u: the GPT entry is unused", n);
		return -ENXIO;
	}
	first = le64(e + 32);
	last = le64(e + 40);
	if (last < first || first > UINT64_MAX / res->sector ||
	    last - first >= UINT64_MAX / res->sector) {
		snprintf(why, why_size, "partition %u: bad GPT extent %llu-%llu", n,
			 (unsigned long long)first, (unsigned long long)last);
		return -EBADMSG;
	}
	*ret_off = first * res->sector;
	*ret_size = (last - first + 1) * res->sector;
	return 0;
}

/* GPT: the header (its HeaderSize bytes) and the whole entries array it points to. */
static int read_gpt(const struct disk *d, const uint8_t *hdr, unsigned sector, size_t extra,
		    struct storage_result *res, char *why, size_t why_size)
{
	uint32_t hsize = le32(hdr + 12), count = le32(hdr + 80), esize = le32(hdr + 84);
	uint64_t lba = le64(hdr + 72), array;

	if (hsize < GPT_HEADER_MIN || hsize > sector) {
		snprintf(why, why_size, "GPT header size %u is not %d to %u", hsize, GPT_HEADER_MIN,
			 sector);
		return -EBADMSG;
	}
	if (esize < GPT_ENTRY_MIN || esize % 8) {
		snprintf(why, why_size, "GPT entry size %u is not a multiple of 8 of at least %d",
			 esize, GPT_ENTRY_MIN);
		return -EBADMSG;
	}
	array = (uint64_t)count * esize;
	if (count == 0 || array > STORAGE_MAX_ENTRIES_ARRAY) {
		snprintf(why, why_size, "GPT entries array of %u x %u bytes is empty or over the "
			 "%u-byte limit", count, esize, STORAGE_MAX_ENTRIES_ARRAY);
		return -EBADMSG;
	}
	if (lba < 2 || lba > UINT64_MAX / sector) {
		snprintf(why, why_size, "GPT entries start at LBA %llu", (unsigned long long)lba);
		return -EBADMSG;
	}
	res->bytes = malloc(hsize + (size_t)array + extra);
	if (!res->bytes)
		return -ENOMEM;
	memcpy(res->bytes, hdr, hsize);
	res->len = hsize;
	res->table = "gpt";
	res->sector = sector;
	return append(d, res, lba * sector, (size_t)array, "GPT entries", why, why_size);
}

static int read_mbr(const struct disk *d, size_t extra, struct storage_result *res, char *why,
		    size_t why_size)
{
	int r;

	res->bytes = malloc(MBR_SIZE + extra);
	if (!res->bytes)
		return -ENOMEM;
	res->table = "mbr";
	res->sector = MBR_SIZE;
	r = append(d, res, 0, MBR_SIZE, "MBR", why, why_size);
	if (r < 0)
		return r;
	if (res->bytes[510] != 0x55 || res->bytes[511] != 0xaa) {
		snprintf(why, why_size, "no partition table (no GPT header, no MBR signature)");
		return -EBADMSG;
	}
	return 0;
}

int storage_read(int disk_fd, unsigned partition, size_t part_bytes, storage_record_fn record,
		 void *ctx, struct storage_result *ret, char *why, size_t why_size)
{
	const struct disk d = { .fd = disk_fd, .record = record, .ctx = ctx };
	struct storage_result res = { 0 };
	uint8_t hdr[4096]; /* the GPT header's sector (up to 4 KiB), kept for the partition */
	unsigned sector = 0;
	size_t extra = partition ? part_bytes : 0;
	uint64_t off, size;
	int r = find_gpt(&d, hdr, &sector, why, why_size);

	if (r > 0)
		r = read_gpt(&d, hdr, sector, extra, &res, why, why_size);
	else if (r == 0)
		r = read_mbr(&d, extra, &res, why, why_size);
	if (r >= 0 && partition) {
		size_t table_len = res.len;

		r = locate_partition(&res, table_len, partition, hdr, &off, &size, why, why_size);
		if (r >= 0 && size < part_bytes) {
			snprintf(why, why_size, "partition %u has %llu bytes, fewer than %zu",
				 partition, (unsigned long long)size, part_bytes);
			r = -ENODATA;
		}
		if (r >= 0)
			r = append(&d, &res, off, part_bytes, "partition", why, why_size);
	}
	if (r < 0) {
		storage_result_free(&res);
		return r;
	}
	*ret = res;
	return 0;
}

void storage_result_free(struct storage_result *r)
{
	free(r->bytes);
	*r = (struct storage_result){ 0 };
}
