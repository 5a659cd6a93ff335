/* The CPUID leaves the cpuid collector measures, their masks, the text format they are
 * captured in and the canonical bytes that are hashed (slpolicy.8, COLLECTORS). */
#include "cpuleaves.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ALL 0xffffffffu
#define EAX 0
#define EBX 1
#define ECX 2
#define EDX 3
#define EXT_BASE 0x80000000u

/* What stays the same from boot to boot on one machine: vendor, signature, feature flags,
 * brand string, address sizes. Masked out: leaf 1 EBX bits 16-31 (logical processor count,
 * initial APIC id), leaf 1 ECX bit 27 (OSXSAVE: follows CR4), leaf 7 ECX bit 4 (OSPKE:
 * follows CR4), leaf 0x80000008 ECX and EDX (core counts, APIC id size). Frequencies,
 * topology and XSAVE state sizes (leaves 4, 6, 0xB, 0xD, 0x16, 0x1F) are not measured. */
const struct cpuleaves_def cpuleaves_set[] = {
	{ 0x0, 0, { ALL, ALL, ALL, ALL } },
	{ 0x1, 0, { ALL, 0x0000ffffu, ~(1u << 27), ALL } },
	{ 0x7, 0, { ALL, ALL, ~(1u << 4), ALL } },
	{ 0x80000000u, 0, { ALL, ALL, ALL, ALL } },
	{ 0x80000001u, 0, { ALL, ALL, ALL, ALL } },
	{ 0x80000002u, 0, { ALL, ALL, ALL, ALL } },
	{ 0x80000003u, 0, { ALL, ALL, ALL, ALL } },
	{ 0x80000004u, 0, { ALL, ALL, ALL, ALL } },
	{ 0x80000008u, 0, { ALL, ALL, 0, 0 } },
};
const size_t cpuleaves_count = sizeof(cpuleaves_set) / sizeof(cpuleaves_set[0]);

_Static_assert(sizeof(cpuleaves_set) / sizeof(cpuleaves_set[0]) <=
		       sizeof(((struct cpuleaves *)0)->present),
	       "struct cpuleaves holds the whole set");

static int find_def(uint32_t leaf, uint32_t subleaf)
{
	for (size_t i = 0; i < cpuleaves_count; i++)
		if (cpuleaves_set[i].leaf == leaf && cpuleaves_set[i].subleaf == subleaf)
			return (int)i;
	return -1;
}

int cpuleaves_parse(const char *text, size_t len, struct cpuleaves *ret, char *why,
		    size_t why_size)
{
	struct cpuleaves v = { 0 };
	size_t lineno = 0;

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		char line[160];
		struct cpuid_leaf l;
		int i;

		lineno++;
		if (n < sizeof(line)) {
			memcpy(line, text + off, n);
			line[n] = '\0';
			/* The fixed layout of `cpuid -1 -r` (host side only: slinit executes CPUID);
			 * a line that does not match is not a leaf line. */
			// NOLINTNEXTLINE(cert-err34-c)
			if (sscanf(line, " 0x%8x 0x%x: eax=0x%8x ebx=0x%8x ecx=0x%8x edx=0x%8x",
				   &l.leaf, &l.subleaf, &l.reg[0], &l.reg[1], &l.reg[2],
				   &l.reg[3]) == 6 &&
			    (i = find_def(l.leaf, l.subleaf)) >= 0) {
				if (v.present[i]) {
					snprintf(why, why_size, "line %zu: leaf 0x%08x subleaf 0x%x "
						 "given twice", lineno, l.leaf, l.subleaf);
					return -EBADMSG;
				}
				v.leaves[i] = l;
				v.present[i] = 1;
			}
		}
		off += n + 1;
	}
	*ret = v;
	return 0;
}

int cpuleaves_format(const struct cpuleaves *raw, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < cpuleaves_count; i++) {
		const struct cpuid_leaf *l = &raw->leaves[i];
		int r;

		if (!raw->present[i])
			continue;
		r = snprintf(out + n, size - n,
			     "   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n",
			     l->leaf, l->subleaf, l->reg[0], l->reg[1], l->reg[2], l->reg[3]);
		if (r < 0 || (size_t)r >= size - n)
			return -ENOSPC;
		n += (size_t)r;
	}
	return (int)n;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int cpuleaves_canonical(const struct cpuleaves *raw, uint8_t *out, size_t *ret_len, char *why,
			size_t why_size)
{
	int basic = find_def(0, 0), ext = find_def(EXT_BASE, 0);
	uint32_t max_basic, max_ext;
	size_t n = 0;

	if (!raw->present[basic] || !raw->present[ext]) {
		snprintf(why, why_size, "leaf 0x%08x is missing", raw->present[basic] ? EXT_BASE : 0);
		return -ENODATA;
	}
	max_basic = raw->leaves[basic].reg[EAX];
	max_ext = raw->leaves[ext].reg[EAX];
	for (size_t i = 0; i < cpuleaves_count; i++) {
		const struct cpuleaves_def *d = &cpuleaves_set[i];
		uint32_t max = d->leaf >= EXT_BASE ? max_ext : max_basic;

		/* Beyond the maximum a CPU answers with some other leaf's values: not measured. */
		if (d->leaf > max)
			continue;
		if (!raw->present[i]) {
			snprintf(why, why_size, "leaf 0x%08x subleaf 0x%x is missing", d->leaf,
				 d->subleaf);
			return -ENODATA;
		}
		put_le32(out + n, d->leaf);
		put_le32(out + n + 4, d->subleaf);
		for (int r = 0; r < 4; r++)
			put_le32(out + n + 8 + 4 * (size_t)r, raw->leaves[i].reg[r] & d->mask[r]);
		n += 24;
	}
	*ret_len = n;
	return 0;
}
