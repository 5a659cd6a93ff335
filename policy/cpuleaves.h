/* The CPUID leaves the cpuid collector measures, their masks, the text format they are
 * captured in and the canonical bytes that are hashed (slpolicy.8, COLLECTORS). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* One CPUID result: the leaf (EAX in), subleaf (ECX in) and the four registers out. */
struct cpuid_leaf {
	uint32_t leaf, subleaf;
	uint32_t reg[4]; /* eax, ebx, ecx, edx */
};

/* The measured set: leaf, subleaf and the mask of each register (1 bits are kept). */
struct cpuleaves_def {
	uint32_t leaf, subleaf;
	uint32_t mask[4];
};

extern const struct cpuleaves_def cpuleaves_set[];
extern const size_t cpuleaves_count;

/* Raw values of the measured set (one per cpuleaves_set item, same order), as read. */
struct cpuleaves {
	struct cpuid_leaf leaves[16];
	uint8_t present[16];
};

/* Parses the text capture: lines "0xLEAF 0xSUB: eax=0x… ebx=0x… ecx=0x… edx=0x…" (the format
 * of `cpuid -1 -r` and sll-collect); other lines and leaves outside the set are ignored. A
 * leaf of the set given twice is refused (-EBADMSG, why names it). */
int cpuleaves_parse(const char *text, size_t len, struct cpuleaves *ret, char *why,
		    size_t why_size);

/* Writes the capture text of raw values (what sll-collect saves as DIR/cpuid). */
int cpuleaves_format(const struct cpuleaves *raw, char *out, size_t size);

/* The canonical bytes: for each leaf of the set at or below the maximum leaf of its range
 * (leaf 0's EAX, 0x80000000's EAX), leaf, subleaf and the four masked registers as
 * little-endian 32-bit words (24 bytes). out holds at least 24 * cpuleaves_count bytes.
 * -ENODATA (why names it) when a leaf the ranges call for is missing. */
int cpuleaves_canonical(const struct cpuleaves *raw, uint8_t *out, size_t *ret_len, char *why,
			size_t why_size);
