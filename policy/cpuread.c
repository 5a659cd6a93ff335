/* The CPUID instruction: the cpuid collector's live values (slinit, sll-collect). x86 only. */
#include "cpuread.h"

#include <cpuid.h>
#include <string.h>

void cpuread_leaves(struct cpuleaves *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < cpuleaves_count; i++) {
		struct cpuid_leaf *l = &ret->leaves[i];

		l->leaf = cpuleaves_set[i].leaf;
		l->subleaf = cpuleaves_set[i].subleaf;
		/* Leaves beyond the CPU's maximum are read too; the core leaves them out. */
		__cpuid_count(l->leaf, l->subleaf, l->reg[0], l->reg[1], l->reg[2], l->reg[3]);
		ret->present[i] = 1;
	}
}
