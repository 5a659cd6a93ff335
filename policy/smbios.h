/* SMBIOS (DMI) tables: the entry point's anchor and a bounds-checked walk of the structure
 * table that keeps the structures of chosen types, in table order. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* /sys/firmware/dmi/tables/DMI and smbios_entry_point are capped at this. */
#define SMBIOS_MAX_TABLE (1u << 20)

/* 0 if buf starts with an SMBIOS 2.1 ("_SM_") or 3.0 ("_SM3_") entry point of a plausible
 * length; -EBADMSG otherwise, with why saying what is wrong. */
int smbios_check_entry_point(const uint8_t *buf, size_t len, char *why, size_t why_size);

/* Copies into out (at least len bytes) every structure whose type has keep[type] set: its
 * formatted area and its string set, up to and including the end-of-table structure (127)
 * or the end of the table. *ret_len is the bytes written. -EBADMSG (why names the offset)
 * for a structure that does not fit, is shorter than its header or has no string-set end. */
int smbios_filter(const uint8_t *table, size_t len, const uint8_t keep[256], uint8_t *out,
		  size_t *ret_len, char *why, size_t why_size);
