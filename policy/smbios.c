/* SMBIOS (DMI) tables: the entry point's anchor and a bounds-checked walk of the structure
 * table that keeps the structures of chosen types, in table order. */
#include "smbios.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SMBIOS_HEADER 4     /* type, length, handle (2) */
#define SMBIOS_END_OF_TABLE 127

int smbios_check_entry_point(const uint8_t *buf, size_t len, char *why, size_t why_size)
{
	/* SMBIOS 3.0 entry points are 24 bytes (length in byte 6), 2.1 ones 31 (byte 5; some
	 * firmware says 30, after an erratum of the 2.1 spec); a bare legacy DMI one is 15. */
	if (len >= 24 && memcmp(buf, "_SM3_", 5) == 0 && buf[6] >= 24 && buf[6] <= len)
		return 0;
	if (len >= 30 && memcmp(buf, "_SM_", 4) == 0 && buf[5] >= 30 && buf[5] <= len)
		return 0;
	if (len >= 15 && memcmp(buf, "_DMI_", 5) == 0)
		return 0;
	snprintf(why, why_size, "not an SMBIOS entry point (no \"_SM_\", \"_SM3_\" or \"_DMI_\" "
		 "anchor of a plausible length in %zu bytes)", len);
	return -EBADMSG;
}

int smbios_filter(const uint8_t *table, size_t len, const uint8_t keep[256], uint8_t *out,
		  size_t *ret_len, char *why, size_t why_size)
{
	size_t off = 0, n = 0;

	while (off < len) {
		size_t left = len - off, end;
		uint8_t type, flen;

		if (left < SMBIOS_HEADER) {
			snprintf(why, why_size, "structure at offset %zu: only %zu bytes left for its "
				 "4-byte header", off, left);
			return -EBADMSG;
		}
		type = table[off];
		flen = table[off + 1];
		if (flen < SMBIOS_HEADER || flen > left) {
			snprintf(why, why_size, "structure at offset %zu (type %u): length %u does "
				 "not fit (4 to %zu)", off, type, flen, left);
			return -EBADMSG;
		}
		/* The string set ends with two NULs; with no strings it is just those two. */
		for (end = off + flen; end + 1 < len; end++)
			if (table[end] == 0 && table[end + 1] == 0)
				break;
		if (end + 1 >= len) {
			snprintf(why, why_size, "structure at offset %zu (type %u): its strings do "
				 "not end before the end of the table", off, type);
			return -EBADMSG;
		}
		end += 2;
		if (keep[type]) {
			memcpy(out + n, table + off, end - off);
			n += end - off;
		}
		off = end;
		if (type == SMBIOS_END_OF_TABLE)
			break;
	}
	*ret_len = n;
	return 0;
}
